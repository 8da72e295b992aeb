"""Static files: the addresses the pages give name each file's content, and a file asked
for by such an address may be kept for a year."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

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
