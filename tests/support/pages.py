"""Reading pages as a person would: title, main heading, error summary, forms.

Every page read is checked as alphagov's notifications-admin checks its pages: a full HTML
page has a title, one h1, ids used once, and an error summary whose links lead to fields
on the page. And every page request says what status it expects: 200 unless the test reads
the page's status (to assert another), so a page that quietly fails cannot pass.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from bs4 import BeautifulSoup
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

# The pages read during the current test (tests/conftest.py empties it and checks it).
PAGES_READ: list[Page] = []


class StatusReadResponse(TestResponse):
    """A test response that knows whether the test looked at its status code."""

    status_read = False

    @property
    def status_code(self) -> int:
        self.status_read = True
        return self._status_code

    @status_code.setter
    def status_code(self, code: int) -> None:
        TestResponse.status_code.fset(self, code)


class StatusCheckedClient(FlaskClient):
    """The test client (app.test_client_class) whose responses say whether their status was
    read: following redirects reads each one's, so that is forgotten on the way out."""

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.response_wrapper = type("StatusRead" + self.response_wrapper.__name__,
                                     (StatusReadResponse, self.response_wrapper), {})

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        response.status_read = False
        return response


@dataclass
class Page:
    _status: int
    soup: BeautifulSoup
    status_read: bool = field(default=False, compare=False)
    response: object = field(default=None, compare=False, repr=False)

    @property
    def status(self) -> int:
        self.status_read = True
        return self._status

    @property
    def title(self) -> str:
        return self.soup.title.get_text(strip=True)

    @property
    def h1(self) -> str:
        headings = self.soup.find_all("h1")
        assert len(headings) == 1, f"expected one h1, found {len(headings)}"
        return " ".join(headings[0].get_text(" ", strip=True).split())

    @property
    def errors(self) -> list[str]:
        summary = self.soup.select_one(".govuk-error-summary")
        if summary is None:
            return []
        return [" ".join(a.get_text(" ", strip=True).split())
                for a in summary.select(".govuk-error-summary__list a")]

    def error_links(self) -> dict[str, str]:
        """Error message → the element id it links to, which must exist on the page."""
        links = {}
        for a in self.soup.select(".govuk-error-summary__list a"):
            target = a["href"].lstrip("#")
            assert self.soup.find(id=target) is not None, f"error link to missing #{target}"
            links[a.get_text(strip=True)] = target
        return links

    @property
    def text(self) -> str:
        return " ".join(self.soup.get_text(" ", strip=True).split())

    @property
    def notifications(self) -> list[str]:
        return [" ".join(n.get_text(" ", strip=True).split())
                for n in self.soup.select(".govuk-notification-banner__content")]

    def csrf_token(self) -> str:
        field = self.soup.find("input", attrs={"name": "csrf_token"})
        assert field is not None, "no CSRF token on the page"
        return field["value"]


def read_page(response) -> Page:
    # The code as stored: reading `status_code` would count as the test checking it.
    code = getattr(response, "_status_code", None) or response.status_code
    page = Page(code, BeautifulSoup(response.data, "html.parser"), response=response)
    if response.mimetype == "text/html" and page.soup.find("html") is not None:
        check_page(page)
    PAGES_READ.append(page)
    return page


def check_page(page: Page) -> None:
    """What every full page must be, whatever the test goes on to look for."""
    title = page.soup.title
    assert title is not None and title.get_text(strip=True), "the page has no title"
    assert len(page.soup.find_all("h1")) == 1, "a page has exactly one h1"
    repeated = [name for name, count in Counter(
        element["id"] for element in page.soup.find_all(id=True)).items() if count > 1]
    assert not repeated, f"ids used more than once: {repeated}"
    page.error_links()


def unexpected_statuses() -> list[str]:
    """Pages that answered other than 200 without the test looking at the status (the
    page's, or its response's)."""
    return [f"{page._status}: {page.h1 if page.soup.find('h1') else page.text[:80]}"
            for page in PAGES_READ if page._status != 200 and not page.status_read
            and not getattr(page.response, "status_read", False)]
