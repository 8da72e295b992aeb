"""The course editor in Chromium: CodeMirror over the page's textarea, under the site's
Content-Security-Policy (its styles carry the page's nonce), kept in step with the textarea
the form posts; line numbers, problems marked in the margin, a problem's link going to its
line, no keyboard trap (Escape then Tab leaves the box); and the plain textarea without
JavaScript. axe and the phone width check the page."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import expect

from tests.browser.conftest import SCREENSHOTS, screenshots_wanted, sign_in
from tests.browser.test_authoring import look_at

BROKEN = ("---\ntitle: Rising water\nstart: call\n---\n\n## The call {#call}\n\n"
          "A caller says the river is rising.\n\n- [Send a crew](#win)\n- [Wait](#lat)\n\n"
          "## Crew sent {#win .end result=pass}\n\nWell done.\n\n"
          "## Too late {#late .end result=fail}\n\nThe water rose.\n")


def new_course(page, url: str) -> str:
    code = f"EDIT-{uuid.uuid4().hex[:4].upper()}"
    page.goto(f"{url}/author/new")
    page.get_by_label("Title").fill("Editor check")
    page.get_by_label("Course code").fill(code)
    page.get_by_role("button", name="Create course").click()
    page.get_by_label("Scenario", exact=True).check()
    page.get_by_label("Title", exact=True).fill("Rising water")
    page.get_by_role("button", name="Add item").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Edit 02-rising-water.scenario.md")
    return code


def test_the_editor_under_the_sites_policy(new_context, live_server, trainer):
    url = live_server.url
    page = new_context().new_page()  # the site's CSP enforced
    refused = []
    page.on("console", lambda message: refused.append(message.text)
            if "Content Security Policy" in message.text else None)
    sign_in(page, url, trainer.email)
    code = new_course(page, url)
    policy = page.request.get(page.url).headers["content-security-policy"]
    assert re.search(r"style-src 'self' 'nonce-[\w-]{20,}'$", policy)

    editor = page.locator(".cm-editor")
    expect(editor).to_be_visible()
    expect(page.locator("textarea#text")).to_be_hidden()
    expect(page.locator(".cm-lineNumbers")).to_be_visible()
    # CodeMirror's own styles applied (not refused): the gutter sits beside the text.
    assert page.locator(".cm-gutters").evaluate("e => getComputedStyle(e).display") == "flex"
    content = page.locator(".cm-content")
    expect(content).to_have_attribute("aria-labelledby", "text-label")
    expect(page.get_by_role("textbox", name="Markdown, with the front matter")).to_be_visible()

    content.click()
    page.keyboard.press("Control+a")
    page.keyboard.press("Delete")
    page.keyboard.insert_text(BROKEN)
    expect(page.locator("textarea#text")).to_have_value(BROKEN)  # kept in step
    expect(page.locator("#problems ~ ul")).to_contain_text("Line 11", timeout=5000)
    expect(page.locator(".cm-lint-marker-error")).to_have_count(2)  # lines 11 and 17
    page.get_by_role("link", name="Line 17").click()
    expect(page.locator(".cm-lineNumbers .cm-activeLineGutter")).to_have_text(re.compile(r"^17"))
    expect(content).to_be_focused()

    page.keyboard.press("Escape")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name="Save draft")).to_be_focused()

    page.get_by_role("button", name="Save draft").click()
    banner = page.locator(".govuk-notification-banner")
    expect(banner).to_contain_text("Important")
    expect(banner).to_contain_text("This page has 2 problems to fix before you publish")
    expect(page.locator(".cm-content")).to_contain_text("Too late")
    assert refused == []

    # From the draft's list of problems to the line, in the editor.
    page.goto(f"{url}/author/courses/{code}/draft")
    page.get_by_role("link", name="Line 17 of 02-rising-water.scenario.md").click()
    expect(page.locator("#line-problem h2")).to_have_text("Line 17")
    expect(page.locator(".cm-lineNumbers .cm-activeLineGutter")).to_have_text(re.compile(r"^17"))
    assert refused == []

    # Typing over a selection of highlighted text: Chrome's own editing tries to keep the
    # old text's look with an inline style, which the policy refuses (and the console says
    # so); CodeMirror draws the text again from what it holds, so the text is right.
    page.locator(".cm-content").click()
    page.keyboard.press("Control+a")
    page.keyboard.type("Replaced")
    expect(page.locator("textarea#text")).to_have_value("Replaced")
    expect(page.locator(".cm-content")).to_have_text("Replaced")


def test_the_editor_page_is_accessible_at_both_widths(new_context, live_server, trainer):
    url, problems = live_server.url, []
    page = new_context(bypass_csp=True).new_page()  # axe is injected script
    sign_in(page, url, trainer.email)
    new_course(page, url)
    page.locator(".cm-content").fill(BROKEN)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".cm-lint-marker-error")).to_have_count(2)
    look_at(page, "editor-codemirror", problems)
    assert problems == []
    # On a phone the lines wrap, and the margin's numbers and marks stay beside their lines.
    # (CodeMirror measures the lines it shows: scrolled to, it fits them to the new width.)
    page.set_viewport_size({"width": 375, "height": 740})
    page.locator(".cm-line", has_text="## Too late").scroll_into_view_if_needed()
    page.wait_for_timeout(300)
    mark = page.locator(".cm-lint-marker-error").nth(1).bounding_box()
    line = page.locator(".cm-line", has_text="## Too late").bounding_box()
    assert abs(mark["y"] - line["y"]) < 12, (mark, line)
    if screenshots_wanted():
        page.locator(".cm-editor").screenshot(
            path=str(SCREENSHOTS / "editor-codemirror-box-375.png"))


def test_without_javascript_the_plain_box_saves(new_context, live_server, trainer):
    url = live_server.url
    page = new_context(java_script_enabled=False).new_page()
    sign_in(page, url, trainer.email)
    code = new_course(page, url)
    box = page.get_by_label("Markdown, with the front matter")
    expect(box).to_be_visible()
    box.fill(BROKEN)
    page.get_by_role("button", name="Save draft").click()
    expect(page.locator(".govuk-notification-banner")).to_contain_text("2 problems")
    page.goto(f"{url}/author/courses/{code}/draft/pages/02-rising-water.scenario.md?line=17")
    expect(page.locator("#line-problem")).to_contain_text("The line reads: ## Too late")
