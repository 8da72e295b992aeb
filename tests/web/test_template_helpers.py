"""The scrolling table's macro and the `plural` filter write what the templates used to
write by hand."""

from __future__ import annotations

import pytest
from markupsafe import Markup


@pytest.fixture
def render(app):
    def render(source: str, **context) -> str:
        with app.test_request_context():
            return app.jinja_env.from_string(source).render(**context)
    return render


SCROLL_TABLE = """{% from "macros/tables.html" import scroll_table %}
{%- call scroll_table('Changes to ' ~ path) %}<table class="govuk-table"></table>{% endcall %}"""


def test_the_table_scrolls_in_a_labelled_region_that_takes_focus(render):
    html = render(SCROLL_TABLE, path="a&b <c>.md")
    assert html.split() == [
        '<div', 'class="app-table-scroll"', 'tabindex="0"', 'role="region"',
        'aria-label="Changes', 'to', 'a&amp;b', '&lt;c&gt;.md">',
        '<table', 'class="govuk-table"></table>', '</div>']


def test_a_label_already_marked_safe_is_not_escaped_twice(render):
    html = render(SCROLL_TABLE, path=Markup("a &amp; b"))
    assert 'aria-label="Changes to a &amp; b"' in html


@pytest.mark.parametrize(("count", "expected"), [
    (0, "0 attempts"), (1, "1 attempt"), (2, "2 attempts"), (1.5, "1.5 attempts")])
def test_plural_takes_an_s_for_any_count_but_one(render, count, expected):
    assert render("{{ n | plural('attempt') }}", n=count) == expected


@pytest.mark.parametrize(("count", "one", "many", "expected"), [
    (1, "person", "people", "1 person"), (3, "person", "people", "3 people"),
    (1, "account waits", "accounts wait", "1 account waits"),
    (2, "account waits", "accounts wait", "2 accounts wait")])
def test_plural_takes_the_plural_it_is_given(render, count, one, many, expected):
    assert render("{{ n | plural(one, many) }}", n=count, one=one, many=many) == expected


def test_plural_words_are_escaped_like_any_text(render):
    assert render("{{ n | plural(word) }}", n=2, word="<b>") == "2 &lt;b&gt;s"
