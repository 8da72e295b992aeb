"""Static files: the addresses the pages give name each file's content, and a file asked
for by such an address may be kept for a year."""

from __future__ import annotations

import hashlib
import importlib.util
import re
from pathlib import Path
from urllib.parse import parse_qs, urljoin, urlsplit

import pytest

from jesip_learn.web.edge import STATIC_CACHE_CONTROL

STATIC = Path(__file__).resolve().parents[2] / "static"


def _stylesheets(client) -> list[str]:
    page = client.get("/sign-in").get_data(as_text=True)
    return re.findall(r'<link rel="stylesheet" href="([^"]+)"', page)


def test_pages_link_static_files_by_their_content(client):
    addresses = _stylesheets(client)
    assert addresses
    for address in addresses:
        parts = urlsplit(address)
        fingerprint, = parse_qs(parts.query)["v"]
        content = (STATIC / parts.path.removeprefix("/static/")).read_bytes()
        assert fingerprint == hashlib.sha256(content).hexdigest()[:16]


def test_a_fingerprinted_address_is_kept_for_a_year(client):
    address = _stylesheets(client)[0]
    response = client.get(address)
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == STATIC_CACHE_CONTROL
    assert "immutable" in STATIC_CACHE_CONTROL and "max-age=31536000" in STATIC_CACHE_CONTROL


def test_an_address_without_the_current_fingerprint_is_checked_again(client):
    address = _stylesheets(client)[0].split("?", 1)[0]
    for asked in (address, address + "?v=0123456789abcdef"):
        response = client.get(asked)
        assert response.status_code == 200
        assert "immutable" not in response.headers.get("Cache-Control", "")


def test_no_fingerprint_for_a_file_outside_static(app):
    from jesip_learn.web.edge import static_fingerprint

    with app.test_request_context():
        assert static_fingerprint("../app.py") is None
        assert static_fingerprint("no-such-file.css") is None
        assert static_fingerprint("css/app.css") is not None


# --- files that pages load through other files ---------------------------------------------

def _fingerprint_script():
    path = STATIC.parent / "scripts" / "fingerprint_static.py"
    spec = importlib.util.spec_from_file_location("fingerprint_static", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _named_inside(address: str, body: str) -> list[str]:
    """The addresses a stylesheet's url()s or a module's imports name, resolved against it."""
    script = _fingerprint_script()
    pattern, group = ((script.CSS_URL, 2) if urlsplit(address).path.endswith(".css")
                      else (script.JS_IMPORT, 3))
    return [urljoin(address, match.group(group)) for match in pattern.finditer(body)
            if not match.group(group).startswith("data:")]


def test_every_file_a_page_loads_is_kept_for_a_year_however_it_is_reached(client):
    page = client.get("/sign-in")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    to_fetch = [urljoin("http://localhost/sign-in", address) for address in re.findall(
        r'<(?:link|script)[^>]+(?:href|src)="(/static/[^"]+)"', html)]
    assert len(to_fetch) >= 4  # the icon, two stylesheets, the script
    fetched: set[str] = set()
    while to_fetch:
        address = to_fetch.pop()
        if address in fetched:
            continue
        fetched.add(address)
        parts = urlsplit(address)
        response = client.get(f"{parts.path}?{parts.query}")
        assert response.status_code == 200, address
        assert response.headers["Cache-Control"] == STATIC_CACHE_CONTROL, address
        if parts.path.endswith((".css", ".js")):
            to_fetch += _named_inside(address, response.get_data(as_text=True))
    # Reached only through app.js, which imports it.
    assert any("govuk-frontend.min.js?v=" in address for address in fetched)


def test_references_inside_static_files_carry_the_current_fingerprints():
    assert _fingerprint_script().stale_files() == {}


def test_changing_a_file_changes_the_address_of_every_file_that_leads_to_it(tmp_path):
    script = _fingerprint_script()
    (tmp_path / "images").mkdir()
    (tmp_path / "css").mkdir()
    (tmp_path / "js").mkdir()
    (tmp_path / "images" / "tick.svg").write_text("<svg>1</svg>")
    (tmp_path / "css" / "site.css").write_text(
        '.a{background:url("/static/images/tick.svg")}.b{mask-image:url(../images/govuk-crest'
        '.svg)}.c{background:url(data:image/png;base64,AAAA)}')
    (tmp_path / "js" / "lib.js").write_text("export const x = 1;")
    (tmp_path / "js" / "main.js").write_text('import { x } from "/static/js/lib.js";')

    first = script.fingerprint_all(tmp_path)
    css = first[tmp_path / "css" / "site.css"].decode()
    tick = script.fingerprint(b"<svg>1</svg>")
    assert f'url("../images/tick.svg?v={tick}")' in css
    assert "mask-image:none" in css  # the crest is never vendored
    assert "url(data:image/png;base64,AAAA)" in css
    assert first[tmp_path / "js" / "main.js"].decode() == (
        f'import {{ x }} from "./lib.js?v={script.fingerprint(b"export const x = 1;")}";')

    for path, data in first.items():
        path.write_bytes(data)
    assert script.stale_files(tmp_path) == {}
    (tmp_path / "images" / "tick.svg").write_text("<svg>2</svg>")
    second = script.fingerprint_all(tmp_path)
    assert second[tmp_path / "css" / "site.css"] != first[tmp_path / "css" / "site.css"]
    assert (script.fingerprint(second[tmp_path / "css" / "site.css"])
            != script.fingerprint(first[tmp_path / "css" / "site.css"]))
    assert set(script.stale_files(tmp_path)) == {tmp_path / "css" / "site.css"}


def test_a_reference_to_a_file_that_is_not_there_is_refused(tmp_path):
    script = _fingerprint_script()
    (tmp_path / "site.css").write_text('.a{background:url("missing.png")}')
    with pytest.raises(script.Missing, match="missing.png"):
        script.fingerprint_all(tmp_path)
