"""The administrator's crawl of every reachable page (see test_accessibility.py), in a file
of its own: it is the longest crawl, and the test processes take whole files."""

from __future__ import annotations

from tests.browser.test_accessibility import (
    check_every_reachable_page,
    crawl_site,  # noqa: F401  (the module's fixture, a crawl site of this file's own)
)


def test_every_page_an_administrator_reaches_passes_axe_and_fits_a_phone(
        crawl_site, new_context):  # noqa: F811  (the fixture imported above)
    check_every_reachable_page("admin", crawl_site, new_context)
