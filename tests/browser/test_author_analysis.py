"""An administrator (who may edit every course) reads a shipped scenario's map and a quiz's
item analysis in Chromium; axe checks both at desktop and phone widths. A shipped map's
words are big enough to read, on the analysis page and in the editor's preview, the map
scrolling inside its own box."""

from __future__ import annotations

from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    SCREENSHOT_WIDTHS,
    check_accessibility,
    save_screenshots,
    sideways_scrolling,
    sign_in,
)

SHIPPED_SCENARIO = "10-marauding-attack-in-millbrook.scenario.md"

# The smallest a choice's label is drawn on screen: its type's size in CSS pixels times the
# SVG's scale on screen, and the height of its box.
SMALLEST_LABEL = """svg => {
  const scale = svg.getScreenCTM().a;
  const sizes = [...svg.querySelectorAll('g.map-edge-label tspan')].map(tspan => ({
    font: parseFloat(getComputedStyle(tspan).fontSize) * scale,
    box: tspan.getBoundingClientRect().height}));
  return {count: sizes.length, font: Math.min(...sizes.map(size => size.font)),
          box: Math.min(...sizes.map(size => size.box))};
}"""


def test_the_map_and_the_item_analysis_of_a_shipped_course(new_context, live_server, admin):
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, live_server.url, admin.email)
    page.get_by_role("link", name="Courses").click()
    page.get_by_role("link", name="JESIP-CMD").click()
    page.get_by_role("link", name="Map and choices taken").first.click()
    expect(page.locator("svg.app-scenario-map__svg")).to_be_visible()
    expect(page.locator("main")).to_contain_text("Every step can be reached from the start")
    problems = []
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems += check_accessibility(page, f"scenario map at {width}px")
    save_screenshots(page, "author-scenario-map")
    page.go_back()
    page.get_by_role("link", name="Item analysis").first.click()
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems += check_accessibility(page, f"item analysis at {width}px")
    save_screenshots(page, "author-quiz-analysis")
    assert problems == []


def test_history_and_the_difference_between_two_versions(new_context, live_server, admin,
                                                          example_course):
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, live_server.url, admin.email)
    page.goto(f"{live_server.url}/author/courses/{example_course}/history")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    problems = check_accessibility(page, "history")
    save_screenshots(page, "author-history")
    page.goto(f"{live_server.url}/author/courses/{example_course}/diff?old=1&new=2")
    expect(page.locator("main")).to_contain_text("course.md")
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800})
        problems += check_accessibility(page, f"diff at {width}px")
    save_screenshots(page, "author-diff", full_page=False)
    assert problems == []


def check_the_map(page: Page, name: str) -> list[str]:
    """The map's labels at least 12 px on a desktop, the page never wider than a phone, its
    box reached by the keyboard with a focus ring, axe at both widths, and screenshots."""
    problems = []
    svg = page.locator("svg.app-scenario-map__svg")
    box = page.get_by_role("region", name="Map of ")
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800 if width > 600 else 740})
        problems += check_accessibility(page, f"{name} at {width}px")
        problems += sideways_scrolling(page, f"{name} at {width}px")
        smallest = svg.evaluate(SMALLEST_LABEL)
        assert smallest["count"] > 10, smallest
        if smallest["font"] < 11.99 or smallest["box"] < 12:
            problems.append(f"{name} at {width}px: a label is {smallest['font']:.1f} px type"
                            f" in a box {smallest['box']:.1f} px high")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    save_screenshots(page, name)
    # The map is wider than its box, which scrolls; the keyboard reaches it and scrolls it.
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")
    box.focus()
    assert box.evaluate("e => getComputedStyle(e).outlineColor") == "rgb(255, 221, 0)"
    page.keyboard.press("ArrowRight")
    expect(box).not_to_have_js_property("scrollLeft", 0)
    # Fitted to the page (no script needed), the whole map shows at once, however small.
    page.get_by_text("Fit the map to the page").click()
    assert box.evaluate("e => e.scrollWidth <= e.clientWidth")
    save_screenshots(page, f"{name}-fitted", widths=(1280,))
    page.get_by_text("Fit the map to the page").click()
    assert box.evaluate("e => e.scrollWidth > e.clientWidth")
    page.set_viewport_size({"width": 1280, "height": 800})
    return problems


def test_a_shipped_maps_words_can_be_read_on_a_desktop_and_a_phone(new_context, live_server,
                                                                    admin):
    url = live_server.url
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, admin.email)
    page.set_viewport_size({"width": 1280, "height": 800})
    response = page.goto(f"{url}/author/courses/JESIP-CMD")
    assert response.status == 200
    page.get_by_role("link", name="Map and choices taken").first.click()
    expect(page.get_by_role("heading", level=2, name="Map")).to_be_visible()
    problems = check_the_map(page, "scenario-map-readable-analysis")

    response = page.goto(f"{url}/author/courses/JESIP-CMD/draft/pages/{SHIPPED_SCENARIO}")
    assert response.status == 200
    expect(page.locator(".app-editor-preview svg.app-scenario-map__svg")).to_be_visible()
    problems += check_the_map(page, "scenario-map-readable-editor")
    assert problems == [], "\n".join(problems)
