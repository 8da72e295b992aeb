"""A real OpenID provider for the tests: `oidc-provider` from npm (tests/oidc/provider.mjs),
run by Node on a free loopback port, with Entra ID's multi-tenant shape (see the script).

`make test` installs it from the committed lock file (`npm ci` in tests/oidc, once); the
tests never download anything. Without it, or without Node, the tests that need it fail
and say how to install it: they are never skipped.

`ProviderBrowser` is a person's browser at the provider: it follows the provider's pages,
fills in its development login form, and stops at the redirect back to the site, whose
address it returns for the test client to follow.
"""

from __future__ import annotations

import base64
import json
import os
import re
import shutil
import subprocess
import threading
import urllib.error
import urllib.parse
import urllib.request
import uuid
from dataclasses import dataclass, field
from html import unescape
from http.cookiejar import CookieJar
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PROVIDER_FOLDER = ROOT / "tests" / "oidc"
SCRIPT = PROVIDER_FOLDER / "provider.mjs"
INSTALLED = PROVIDER_FOLDER / "node_modules" / "oidc-provider" / "package.json"
START_SECONDS = 30

CLIENT_ID = "jesip-learn"
CLIENT_SECRET = "jesip-learn test client secret"  # noqa: S105 (the test provider's)
OTHER_CLIENT_ID = "another-application"
OTHER_CLIENT_SECRET = "another application's secret"  # noqa: S105


class ProviderUnavailable(RuntimeError):
    """The provider could not be started; the message says what to do."""


def new_tenant_id() -> str:
    return str(uuid.uuid4())


@dataclass
class Account:
    """A person at the provider. `tenant` is a tenant id, or "generic"."""

    login: str
    tenant: str
    name: str
    email: str | None = None
    email_verified: bool | None = None
    amr: list[str] = field(default_factory=lambda: ["pwd"])
    oid: str = field(default_factory=lambda: str(uuid.uuid4()))

    def as_json(self) -> dict:
        found = {"login": self.login, "tenant": self.tenant, "name": self.name,
                 "email": self.email if self.email is not None else self.login,
                 "amr": self.amr, "oid": self.oid}
        if self.email_verified is not None:
            found["email_verified"] = self.email_verified
        return found


class OpenIdProvider:
    """The provider process: tenants (each with email domains for home realm discovery),
    the generic provider at /generic, and the clients it knows."""

    def __init__(self, folder: Path, *, tenants: dict[str, list[str]],
                 redirect_uris: list[str], post_logout_redirect_uris: list[str]):
        node = shutil.which("node")
        if node is None:
            raise ProviderUnavailable("Node is not installed: the single sign-on tests run a "
                                      "real OpenID provider on it (apt-get install nodejs).")
        if not INSTALLED.exists():
            raise ProviderUnavailable(
                "The test OpenID provider is not installed: run `make test` (or `npm ci "
                "--prefix tests/oidc`), which installs it from tests/oidc/package-lock.json.")
        self.node = node
        self.folder = folder
        self.tenants = tenants
        clients = [{"client_id": client_id, "client_secret": secret,
                    "redirect_uris": redirect_uris,
                    "post_logout_redirect_uris": post_logout_redirect_uris}
                   for client_id, secret in ((CLIENT_ID, CLIENT_SECRET),
                                             (OTHER_CLIENT_ID, OTHER_CLIENT_SECRET))]
        self.config = {"tenants": [{"id": tenant, "domains": domains}
                                   for tenant, domains in tenants.items()],
                       "clients": clients, "accounts": []}
        self.process: subprocess.Popen | None = None
        self.port = 0

    def start(self) -> OpenIdProvider:
        self.folder.mkdir(parents=True, exist_ok=True)
        config = self.folder / "provider.json"
        config.write_text(json.dumps(self.config))
        log = (self.folder / "provider.log").open("ab")
        self.process = subprocess.Popen(  # noqa: S603
            [self.node, str(SCRIPT), str(config)], cwd=PROVIDER_FOLDER,
            stdout=subprocess.PIPE, stderr=log, env={**os.environ, "NODE_ENV": "test"})
        first_line: list[bytes] = []
        reader = threading.Thread(target=lambda: first_line.append(self.process.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(START_SECONDS)
        if not first_line or not first_line[0]:
            self.stop()
            raise ProviderUnavailable("The test OpenID provider did not start:\n"
                                      + self.log()[-3000:])
        self.port = json.loads(first_line[0])["port"]
        return self

    def stop(self) -> None:
        if self.process is None:
            return
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process.stdout.close()
        self.process = None

    def log(self) -> str:
        path = self.folder / "provider.log"
        return path.read_text(errors="replace") if path.exists() else ""

    # --- addresses -------------------------------------------------------------------------

    @property
    def authority(self) -> str:
        """What SSO_ENTRA_AUTHORITY is set to: Entra ID's https://login.microsoftonline.com."""
        return f"http://127.0.0.1:{self.port}"

    def issuer(self, tenant: str) -> str:
        return f"{self.authority}/{tenant}/v2.0"

    @property
    def generic_issuer(self) -> str:
        return f"{self.authority}/generic"

    # --- controls ------------------------------------------------------------------------------

    def _control(self, path: str, body: dict) -> dict:
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{self.authority}/_control/{path}", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.load(answer)

    def add(self, *accounts: Account) -> None:
        self._control("accounts", {"accounts": [a.as_json() for a in accounts]})

    def rotate_keys(self) -> str:
        """New signing keys for every tenant; the new key id."""
        return self._control("rotate-keys", {})["kid"]

    def set_clock(self, offset_seconds: int) -> None:
        self._control("clock", {"offset_seconds": offset_seconds})


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


class ProviderBrowser:
    """A person's browser at the provider: its own cookies; redirects followed by hand."""

    def __init__(self):
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies),
                                                  _NoRedirects())

    def _open(self, url: str, data: dict | None = None) -> tuple[int, str, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(url, data=body, timeout=30) as answer:
                return answer.status, answer.headers.get("Location", ""), answer.read().decode()
        except urllib.error.HTTPError as error:
            return error.code, error.headers.get("Location", ""), error.read().decode()

    def sign_in(self, authorization_url: str, login: str, *, back_to: str,
                password: str = "any password works here") -> str:  # noqa: S107
        """Follow the provider from the authorisation URL, signing in as `login` on its
        login page; the address it sends the person back to (starting `back_to`)."""
        url = authorization_url
        for _ in range(20):
            if url.startswith(back_to):
                return url
            status, location, page = self._open(url)
            if status in (301, 302, 303, 307):
                url = urllib.parse.urljoin(url, location)
                continue
            form = re.search(r'<form[^>]*action="([^"]+)"[^>]*method="post"', page)
            if status != 200 or form is None or 'name="login"' not in page:
                raise AssertionError(f"the provider answered {status} at {url}:\n{page[:2000]}")
            status, location, page = self._open(
                urllib.parse.urljoin(url, unescape(form.group(1))),
                {"prompt": "login", "login": login, "password": password})
            if status not in (302, 303):
                raise AssertionError(f"the provider's login answered {status}:\n{page[:2000]}")
            url = urllib.parse.urljoin(url, location)
        raise AssertionError("the provider never sent the person back")

    def exchange(self, provider: OpenIdProvider, tenant: str, callback_url: str, *,
                 client_id: str, client_secret: str, redirect_uri: str,
                 code_verifier: str) -> dict:
        """A code exchanged at the tenant's token endpoint, as another application would."""
        code = urllib.parse.parse_qs(urllib.parse.urlsplit(callback_url).query)["code"][0]
        data = urllib.parse.urlencode({"grant_type": "authorization_code", "code": code,
                                       "redirect_uri": redirect_uri,
                                       "code_verifier": code_verifier}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback
            f"{provider.issuer(tenant)}/token", data=data,
            headers={"Content-Type": "application/x-www-form-urlencoded"})
        pair = f"{urllib.parse.quote(client_id)}:{urllib.parse.quote(client_secret)}"
        request.add_header("Authorization", "Basic " + base64.b64encode(pair.encode()).decode())
        with urllib.request.urlopen(request, timeout=30) as answer:  # noqa: S310
            return json.load(answer)
