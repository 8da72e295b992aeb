"""The numbered-pages macro writes what GOV.UK Frontend's pagination component writes for the
same pages, and lists only the pages around the current one."""

from __future__ import annotations

import re

import pytest

OURS = """{% from "macros/pagination.html" import numbered_pages %}
{% call(number) numbered_pages(page, pages, 'Pages of things') %}
  {{- '/things?q=a&b&page=' ~ number -}}
{% endcall %}"""

# The component itself, given the items the pages' templates used to build for it.
COMPONENT = """
{%- from "govuk_frontend_jinja/components/pagination/macro.html" import govukPagination %}
{% if pages > 1 %}
{% set items = [] %}
{% for number in range(1, pages + 1) %}
  {% if number in (1, pages) or (number - page) | abs <= 2 %}
    {% set _ = items.append({'number': number, 'href': '/things?q=a&b&page=' ~ number,
                             'current': number == page}) %}
  {% elif (number - page) | abs == 3 %}
    {% set _ = items.append({'ellipsis': true}) %}
  {% endif %}
{% endfor %}
{{ govukPagination({
  'items': items,
  'previous': {'href': '/things?q=a&b&page=' ~ (page - 1)} if page > 1 else None,
  'next': {'href': '/things?q=a&b&page=' ~ (page + 1)} if page < pages else None,
  'landmarkLabel': 'Pages of things'
}) }}
{% endif %}"""


def normalised(html: str) -> str:
    """The markup with layout whitespace gone: between tags, and at the edges of text."""
    html = re.sub(r"\s+", " ", html)
    return re.sub(r"\s*(<|>)\s*", r"\1", html).strip()


@pytest.fixture
def render(app):
    def render(source: str, page: int, pages: int) -> str:
        with app.test_request_context():
            return app.jinja_env.from_string(source).render(page=page, pages=pages)
    return render


CASES = [(1, 1), (1, 2), (2, 2), (1, 3), (2, 3), (3, 3), (1, 7), (4, 7), (5, 9), (7, 7),
         (1, 200), (2, 200), (6, 200), (100, 200), (195, 200), (199, 200), (200, 200)]


@pytest.mark.parametrize(("page", "pages"), CASES)
def test_the_markup_is_the_components(render, page, pages):
    ours = normalised(render(OURS, page, pages))
    assert ours == normalised(render(COMPONENT, page, pages))
    assert bool(ours) == (pages > 1)


def test_a_long_list_shows_the_ends_and_the_pages_around_this_one(render):
    html = render(OURS, 100, 200)
    shown = [int(number) for number in re.findall(r'aria-label="Page (\d+)"', html)]
    assert shown == [1, 98, 99, 100, 101, 102, 200]
    assert html.count("govuk-pagination__item--ellipsis") == 2
    assert 'href="/things?q=a&amp;b&amp;page=99" rel="prev"' in html
    assert 'href="/things?q=a&amp;b&amp;page=101" rel="next"' in html
    assert re.search(r'aria-current="page">100<', html)
    assert 'aria-label="Pages of things"' in html
