"""Reading pages as a person would: title, main heading, error summary, forms."""

from __future__ import annotations

from dataclasses import dataclass

from bs4 import BeautifulSoup


@dataclass
class Page:
    status: int
    soup: BeautifulSoup

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
    return Page(status=response.status_code, soup=BeautifulSoup(response.data, "html.parser"))
