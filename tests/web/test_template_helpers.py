"""The scrolling table's macro writes what the templates used to write by hand."""

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
