"""The OpenID Connect client: authorisation code flow with PKCE, `state` and `nonce`.

Built on Authlib (the authorisation and token requests, client authentication, the ID
token's claim checks) and joserfc (the signature, against the provider's JSON Web Key Set).
HTTP goes through urllib with a time limit; nothing here reads a web request.

- Discovery documents are kept for an hour, key sets for a day; a token signed with a key
  id that is not in the kept set fetches the set again once, so a provider that rotates
  its keys is followed at once.
- An ID token is accepted only when its signature is good with one of the provider's keys
  (asymmetric algorithms only, never `none` or a shared secret), its issuer is the one
  expected (for Entra ID, the tenant's own issuer), its audience holds this client (with
  `azp` when there are others), it has not expired and was not issued in the future (each
  within `leeway` seconds), and its nonce is the one sent.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

from authlib.common.security import generate_token
from authlib.common.urls import add_params_to_uri
from authlib.oauth2.auth import ClientAuth
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri, prepare_token_request
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyIdError,
    JoseError,
    MissingClaimError,
)
from joserfc.jwk import KeySet

DISCOVERY_PATH = "/.well-known/openid-configuration"
SCOPE = "openid email profile"
# Asymmetric signatures only: "none" and HMAC (keyed with the client secret) are refused.
SIGNING_ALGORITHMS = ("RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384",
                      "ES512", "EdDSA")
METADATA_SECONDS = 3600
KEY_SET_SECONDS = 24 * 3600
MAX_ANSWER_BYTES = 1_000_000
MAX_CLOCK_SKEW_SECONDS = 300  # a larger setting is capped: tokens last minutes, not hours


class ProviderUnavailable(RuntimeError):
    """The provider could not be reached, or answered with something that is not OpenID."""


class AnswerRefused(ValueError):
    """The provider's answer cannot be trusted; `reason` is a short code for the log."""

    def __init__(self, reason: str, detail: str = ""):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.detail = detail


@dataclass(frozen=True)
class Metadata:
    """What a discovery document says, as far as this client uses it."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str
    signing_algorithms: tuple[str, ...]
    token_auth_methods: tuple[str, ...]


def new_secret(length: int = 48) -> str:
    """A random value for state, nonce or PKCE verifier (letters and digits)."""
    return generate_token(length)


def is_acceptable_url(url: str) -> bool:
    """https, or http on this machine's loopback (a provider run for tests or development)."""
    parts = urlsplit(url or "")
    if parts.scheme == "https":
        return bool(parts.hostname)
    return parts.scheme == "http" and parts.hostname in {"127.0.0.1", "localhost", "::1"}


# --- HTTP ----------------------------------------------------------------------------------


def _request_json(url: str, *, timeout: float, data: bytes | None = None,
                  headers: dict | None = None) -> tuple[int, dict]:
    if not is_acceptable_url(url):
        raise ProviderUnavailable(f"{url} is not an https address")
    request = urllib.request.Request(url, data=data, headers={  # noqa: S310 (checked above)
        "Accept": "application/json", "User-Agent": "JESIP Learn", **(headers or {})})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:  # noqa: S310
            status, body = answer.status, answer.read(MAX_ANSWER_BYTES + 1)
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read(MAX_ANSWER_BYTES + 1)
    except (urllib.error.URLError, OSError) as error:
        raise ProviderUnavailable(f"{url} could not be reached: {error}") from error
    if len(body) > MAX_ANSWER_BYTES:
        raise ProviderUnavailable(f"{url} answered with more than {MAX_ANSWER_BYTES} bytes")
    try:
        document = json.loads(body)
    except ValueError as error:
        raise ProviderUnavailable(f"{url} answered {status} without JSON") from error
    if not isinstance(document, dict):
        raise ProviderUnavailable(f"{url} answered {status} with JSON that is not an object")
    return status, document


class _Kept:
    """Documents by URL, each until it is older than its lifetime (per process)."""

    def __init__(self, lifetime: float):
        self.lifetime = lifetime
        self._values: dict[str, tuple[float, object]] = {}
        self._lock = threading.Lock()

    def get(self, url: str):
        with self._lock:
            kept = self._values.get(url)
        if kept is None or time.monotonic() - kept[0] > self.lifetime:
            return None
        return kept[1]

    def put(self, url: str, value) -> None:
        with self._lock:
            self._values[url] = (time.monotonic(), value)

    def values(self) -> list:
        with self._lock:
            return [value for _at, value in self._values.values()]

    def clear(self) -> None:
        with self._lock:
            self._values.clear()


_metadata = _Kept(METADATA_SECONDS)
_key_sets = _Kept(KEY_SET_SECONDS)


def forget_kept_documents() -> None:
    """Fetch every discovery document and key set afresh (after a provider is changed)."""
    _metadata.clear()
    _key_sets.clear()


def origin(url: str) -> str:
    """scheme://host[:port] of an acceptable address, for a Content-Security-Policy."""
    if not is_acceptable_url(url):
        return ""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def kept_authorization_origins() -> set[str]:
    return {origin(m.authorization_endpoint) for m in _metadata.values()}


# --- discovery -----------------------------------------------------------------------------


def discovery_url(issuer_or_authority: str) -> str:
    return issuer_or_authority.rstrip("/") + DISCOVERY_PATH


def provider_metadata(url: str, *, timeout: float, expected_issuer: str | None) -> Metadata:
    """The provider's discovery document at `url`. Its issuer must be `expected_issuer`
    (OpenID Connect Discovery 4.3); None for Entra ID's multi-tenant document, whose
    issuer is a template checked against each token's tenant instead."""
    kept = _metadata.get(url)
    if kept is not None:
        return kept
    status, document = _request_json(url, timeout=timeout)
    if status != 200:
        raise ProviderUnavailable(f"{url} answered {status}")
    required = ("issuer", "authorization_endpoint", "token_endpoint", "jwks_uri")
    missing = [name for name in required if not isinstance(document.get(name), str)]
    if missing:
        raise ProviderUnavailable(f"{url} lacks {', '.join(missing)}")
    if expected_issuer is not None and document["issuer"] != expected_issuer:
        raise ProviderUnavailable(f"{url} names the issuer {document['issuer']!r}, not "
                                  f"{expected_issuer!r}")
    for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
        if not is_acceptable_url(document[name]):
            raise ProviderUnavailable(f"{url} gives a {name} that is not https")
    offered = document.get("id_token_signing_alg_values_supported") or ["RS256"]
    metadata = Metadata(
        issuer=document["issuer"],
        authorization_endpoint=document["authorization_endpoint"],
        token_endpoint=document["token_endpoint"],
        jwks_uri=document["jwks_uri"],
        end_session_endpoint=document.get("end_session_endpoint") or "",
        signing_algorithms=tuple(a for a in SIGNING_ALGORITHMS if a in offered),
        token_auth_methods=tuple(document.get("token_endpoint_auth_methods_supported")
                                 or ["client_secret_basic"]),
    )
    if not metadata.signing_algorithms:
        raise ProviderUnavailable(f"{url} signs ID tokens only with algorithms refused here "
                                  f"({', '.join(map(str, offered))})")
    _metadata.put(url, metadata)
    return metadata


# --- the authorisation request and the code exchange --------------------------------------


def authorization_url(metadata: Metadata, *, client_id: str, redirect_uri: str, state: str,
                      nonce: str, code_verifier: str, login_hint: str = "") -> str:
    return prepare_grant_uri(
        metadata.authorization_endpoint, client_id, "code", redirect_uri=redirect_uri,
        scope=SCOPE, state=state, nonce=nonce,
        code_challenge=create_s256_code_challenge(code_verifier),
        code_challenge_method="S256", login_hint=login_hint or None)


def _client_auth_method(metadata: Metadata, client_secret: str | None) -> str:
    if not client_secret:
        return "none"
    if "client_secret_basic" in metadata.token_auth_methods:
        return "client_secret_basic"
    return "client_secret_post"


def exchange_code(metadata: Metadata, *, client_id: str, client_secret: str | None,
                  code: str, redirect_uri: str, code_verifier: str, timeout: float) -> dict:
    """The token endpoint's answer to the authorisation code: a dict with `id_token`."""
    body = prepare_token_request("authorization_code", code=code, redirect_uri=redirect_uri,
                                 code_verifier=code_verifier)
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    auth = ClientAuth(client_id, client_secret or "", _client_auth_method(metadata,
                                                                          client_secret))
    url, headers, body = auth.prepare("POST", metadata.token_endpoint, headers, body)
    status, answer = _request_json(url, timeout=timeout, data=body.encode(), headers=headers)
    if status != 200:
        if status >= 500:
            raise ProviderUnavailable(f"the token endpoint answered {status}")
        error = str(answer.get("error", ""))[:100]
        description = str(answer.get("error_description", ""))[:300]
        raise AnswerRefused("token-exchange", f"{status} {error} {description}".strip())
    if not isinstance(answer.get("id_token"), str):
        raise AnswerRefused("token-exchange", "the answer holds no ID token")
    return answer


# --- the ID token ------------------------------------------------------------------------


def _key_set(url: str, *, timeout: float, fresh: bool) -> KeySet:
    kept = None if fresh else _key_sets.get(url)
    if kept is not None:
        return kept
    status, document = _request_json(url, timeout=timeout)
    if status != 200 or not isinstance(document.get("keys"), list):
        raise ProviderUnavailable(f"{url} gave no key set ({status})")
    try:
        key_set = KeySet.import_key_set(document)
    except (JoseError, ValueError, TypeError, KeyError) as error:
        raise ProviderUnavailable(f"{url} gave keys that cannot be read: {error}") from error
    _key_sets.put(url, key_set)
    return key_set


def _signed_claims(id_token: str, metadata: Metadata, timeout: float):
    """The token's header and claims once its signature checks out; the key set is fetched
    again once when the token names a key id it does not hold."""
    for fresh in (False, True):
        key_set = _key_set(metadata.jwks_uri, timeout=timeout, fresh=fresh)
        try:
            return jwt.decode(id_token, key_set, algorithms=list(metadata.signing_algorithms))
        except InvalidKeyIdError as error:
            if fresh:
                raise AnswerRefused("signature", f"no key for it: {error}") from error
        except BadSignatureError as error:
            raise AnswerRefused("signature", "the signature is not good") from error
        except JoseError as error:
            raise AnswerRefused("signature", str(error)) from error
        except ValueError as error:  # not a JWT at all
            raise AnswerRefused("signature", f"not a signed token: {error}") from error
    raise AssertionError("unreachable")


def verify_id_token(id_token: str, *, metadata: Metadata, client_id: str,
                    expected_issuer: Callable[[dict], str | None], nonce: str,
                    access_token: str | None = None, leeway: int = 60,
                    now: int | None = None, timeout: float = 10) -> dict:
    """The ID token's claims, once everything in the module's description checks out;
    AnswerRefused saying which check failed otherwise."""
    token = _signed_claims(id_token, metadata, timeout)
    issuer = expected_issuer(token.claims)
    if not issuer:
        raise AnswerRefused("issuer", f"no issuer is expected for {token.claims.get('iss')!r}")
    claims = CodeIDToken(
        token.claims, token.header,
        options={"iss": {"essential": True, "value": issuer},
                 "aud": {"essential": True, "value": client_id},
                 "sub": {"essential": True}},
        params={"nonce": nonce, "client_id": client_id, "access_token": access_token})
    try:
        claims.validate(now=now, leeway=min(max(leeway, 0), MAX_CLOCK_SKEW_SECONDS))
    except ExpiredTokenError as error:
        raise AnswerRefused("expired", f"it expired at {token.claims.get('exp')}") from error
    except (InvalidClaimError, MissingClaimError) as error:
        claim = getattr(error, "claim", "") or str(error)
        reason = {"iss": "issuer", "aud": "audience", "azp": "audience", "nonce": "nonce",
                  "iat": "issued-in-future", "nbf": "issued-in-future"}.get(claim, "claims")
        raise AnswerRefused(reason, str(error)) from error
    except JoseError as error:
        raise AnswerRefused("claims", str(error)) from error
    if not isinstance(claims.get("nonce"), str):
        raise AnswerRefused("nonce", "the token carries no nonce")
    return dict(claims)


# --- signing out -----------------------------------------------------------------------------


def end_session_url(metadata: Metadata, *, client_id: str, post_logout_redirect_uri: str) -> str:
    """Where to send the person to sign out at the provider too ("" when it offers none)."""
    if not metadata.end_session_endpoint:
        return ""
    return add_params_to_uri(metadata.end_session_endpoint, [
        ("client_id", client_id), ("post_logout_redirect_uri", post_logout_redirect_uri)])
