"""A wide table in a course's own text (Markdown a trainer wrote) fits a phone's screen
with the site's styles: its words wrap, the page does not scroll sideways."""

from __future__ import annotations

from tests.browser.conftest import sideways_scrolling

WIDE_TABLE = (
    "<table><thead><tr>" + "".join(f"<th>Heading{n}</th>" for n in range(6)) + "</tr></thead>"
    "<tbody><tr>" + "".join(f"<td>MultiAgencyInteroperability{n}</td>" for n in range(6))
    + "</tr></tbody></table>")


def test_a_wide_table_in_course_text_fits_a_phone(new_context, live_server):
    page = new_context(viewport={"width": 375, "height": 740}).new_page()
    page.goto(f"{live_server.url}/about")  # any page of the site, for its styles
    page.evaluate("""html => {
        const text = document.createElement('div');
        text.className = 'app-course-content';
        text.innerHTML = html;
        document.querySelector('main').append(text);
    }""", WIDE_TABLE)
    assert page.locator(".app-course-content table").is_visible()
    assert sideways_scrolling(page, "a course's wide table at 375px") == []
