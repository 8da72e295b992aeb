"""The checks every page read in the tests goes through (tests/support/pages.py): they must
catch what they are there for, or every page test passes for the wrong reason."""

from __future__ import annotations

import pytest
from flask import Flask

from tests.support import pages
from tests.support.pages import StatusCheckedClient, read_page

WHOLE = ("<!doctype html><html><head><title>{title}</title></head>"
         "<body>{body}</body></html>")


@pytest.fixture
def client():
    app = Flask(__name__)
    app.test_client_class = StatusCheckedClient

    @app.get("/page")
    def page():
        return WHOLE.format(title="A page", body="<h1>A page</h1>")

    @app.get("/missing")
    def missing():
        return WHOLE.format(title="Page not found", body="<h1>Page not found</h1>"), 404

    @app.get("/two-headings")
    def two_headings():
        return WHOLE.format(title="Two", body="<h1>One</h1><h1>Two</h1>")

    @app.get("/same-id")
    def same_id():
        return WHOLE.format(title="Ids", body='<h1 id="x">Ids</h1><p id="x">again</p>')

    @app.get("/untitled")
    def untitled():
        return WHOLE.format(title="", body="<h1>Untitled</h1>")

    @app.get("/broken-error-link")
    def broken_error_link():
        return WHOLE.format(title="Error", body=(
            '<h1>Error</h1><div class="govuk-error-summary"><ul class="govuk-error-summary__list">'
            '<li><a href="#nowhere">Enter a name</a></li></ul></div>')), 400

    return app.test_client()


@pytest.mark.parametrize(("address", "complaint"), [
    ("/two-headings", "exactly one h1"),
    ("/same-id", "ids used more than once"),
    ("/untitled", "no title"),
])
def test_a_malformed_page_fails_the_test_that_reads_it(client, address, complaint):
    with pytest.raises(AssertionError, match=complaint):
        read_page(client.get(address))


def test_an_error_link_to_no_field_fails(client):
    with pytest.raises(AssertionError, match="error link to missing #nowhere"):
        read_page(client.get("/broken-error-link"))


def test_a_page_that_is_not_200_counts_only_once_its_status_is_read(client):
    pages.PAGES_READ.clear()
    assert read_page(client.get("/page")).h1 == "A page"
    unread = read_page(client.get("/missing"))
    assert pages.unexpected_statuses() == ["404: Page not found"]
    assert unread.status == 404
    assert pages.unexpected_statuses() == []

    response = client.get("/missing")
    read_page(response)
    assert len(pages.unexpected_statuses()) == 1
    assert response.status_code == 404  # the response's own status, read, counts too
    assert pages.unexpected_statuses() == []
    pages.PAGES_READ.clear()
