"""A trainer writes a course in Chromium from nothing: a module, a quiz and a scenario, a
mistake seen at its line and fixed, then publishes it. A learner takes it from My training
and completes it; the trainer publishes a change everyone must complete again, and the
learner's course falls due. axe checks the editor's pages at desktop and phone widths."""

from __future__ import annotations

import re
import uuid

from playwright.sync_api import Page, expect

from tests.browser.conftest import (
    look_at,
    save_screenshots,
    sign_in,
)


def replace_text(page: Page, text: str) -> None:
    """Type over the page's text in the editor (CodeMirror, which keeps the form's textarea,
    the text posted, in step)."""
    page.locator(".cm-content").fill(text)


def test_a_trainer_writes_and_publishes_a_course_a_learner_completes(
        new_context, live_server, trainer, make_account):
    code = f"FLOOD-{uuid.uuid4().hex[:4].upper()}"
    url = live_server.url
    problems: list[str] = []
    author = new_context(bypass_csp=True).new_page()  # axe is injected script
    sign_in(author, url, trainer.email)

    author.goto(f"{url}/author/new")
    look_at(author, "editor-create", problems)
    author.get_by_label("Title").fill("Flood response")
    author.get_by_label("Course code").fill(code)
    author.get_by_role("button", name="Create course").click()
    expect(author.get_by_role("heading", level=1)).to_have_text("Flood response")

    # In date for a year. Not required of anyone: the live server's people are shared with
    # the compliance tests, so learners take it from My training's other courses.
    author.get_by_role("link", name="Edit the course page").click()
    replace_text(author, f"---\ntitle: Flood response\ncode: {code}\nvalidity_months: 12\n"
                         "---\n\nWorking together when water rises.\n")
    author.get_by_role("button", name="Save draft").click()
    expect(author.locator(".govuk-notification-banner")).to_contain_text("saved")
    for kind, title in (("Quiz", "Check what you know"), ("Scenario", "Rising water")):
        author.get_by_role("link", name="Back to the draft").click()
        author.get_by_label(kind, exact=True).check()
        author.get_by_label("Title", exact=True).fill(title)
        author.get_by_role("button", name="Add item").click()
        expect(author.get_by_role("heading", level=1)).to_contain_text("Edit 0")
    expect(author.locator("svg.app-scenario-map__svg")).to_be_visible()
    look_at(author, "editor-edit-scenario", problems)
    author.get_by_role("link", name="Back to the draft").click()
    look_at(author, "editor-draft", problems)

    # A mistake in the quiz: shown at its line, with the text kept; then fixed.
    author.get_by_role("link", name="Check what you know", exact=True).click()
    broken = ("---\ntitle: Check what you know\npass_mark: 180\n---\n\n"
              "## Who do commanders meet first?\n\n- [x] The other commanders\n"
              "- [ ] The media\n\n> Co-locating first makes the rest easier.\n")
    replace_text(author, broken)
    author.get_by_role("button", name="Save and preview").click()
    expect(author.locator("#problems ~ ul")).to_contain_text("Line 3")
    expect(author.locator("textarea#text")).to_have_value(broken)
    expect(author.locator(".app-editor-preview")).to_contain_text("Right answer")
    look_at(author, "editor-edit-quiz-problem", problems)
    replace_text(author, broken.replace("180", "80"))
    # With JavaScript the preview follows the text before it is saved.
    expect(author.locator("#problems + p")).to_contain_text("None", timeout=5000)
    author.get_by_role("button", name="Save draft").click()
    expect(author.locator("#problems + p")).to_contain_text("None")
    # The right answer is more than twice as long as the wrong one: a warning beside its
    # line, which takes the cursor there, and which does not stop publishing.
    warning = author.locator(".app-warnings li")
    expect(warning).to_have_count(1)
    expect(warning).to_contain_text("Line 8: the right answer is much longer")
    editor = author.get_by_role("textbox", name="Markdown, with the front matter")
    expect(editor).to_be_visible()
    author.get_by_role("link", name="Line 8").click()
    # The code editor (the textarea beneath it is hidden) takes the cursor.
    expect(editor).to_be_focused()
    look_at(author, "editor-edit-quiz-warning", problems)
    author.get_by_role("link", name="Back to the draft").click()
    expect(author.locator("#warnings")).to_have_text("Warnings")
    look_at(author, "editor-draft-warnings", problems)

    author.goto(f"{url}/author/courses/{code}/draft/publish")
    look_at(author, "editor-publish", problems)
    # A first publish does not ask whether everyone must complete the course again.
    expect(author.get_by_role("radio", name="No")).to_have_count(0)
    author.get_by_role("button", name="Publish").click()
    expect(author.locator(".govuk-notification-banner")).to_contain_text(
        f"{code} was published as version 1")

    author.goto(f"{url}/author/format")
    look_at(author, "editor-format", problems)

    # The learner completes it.
    person = make_account(f"Fran Flood {uuid.uuid4().hex[:4]}")
    learner = new_context().new_page()
    sign_in(learner, url, person.email)
    learner.goto(f"{url}/learn")
    learner.get_by_role("link", name="Flood response", exact=True).click()
    expect(learner.get_by_role("heading", level=1)).to_have_text("Flood response")
    learner.goto(f"{url}/learn/{code}/modules/introduction")
    learner.get_by_role("button", name=re.compile("Mark as complete")).click()
    learner.goto(f"{url}/learn/{code}/quizzes/check-what-you-know")
    learner.get_by_role("button", name="Start quiz").click()
    learner.get_by_role("radio", name="The other commanders").check()
    learner.get_by_role("button", name="Submit answers").click()
    expect(learner.locator("main")).to_contain_text("You passed")
    learner.goto(f"{url}/learn/{code}/scenarios/rising-water")
    learner.get_by_role("button", name="Start").click()
    learner.get_by_role("button", name="A sound decision").click()
    learner.goto(f"{url}/learn")
    row = learner.locator("tr, .govuk-summary-card, li", has_text="Flood response").first
    expect(row).to_contain_text("In date")

    # The item analysis shows the learner's answer.
    author.goto(f"{url}/author/courses/{code}/quizzes/check-what-you-know/analysis")
    expect(author.locator("main")).to_contain_text("1 by 1 learner")
    expect(author.locator("main")).to_contain_text("Who do commanders meet first?")
    expect(author.locator("main")).to_contain_text("The other commanders")
    expect(author.locator(".app-warnings")).to_contain_text("Line 8")
    look_at(author, "editor-quiz-analysis", problems)

    # A change everyone must complete again.
    author.goto(f"{url}/author/courses/{code}/draft/pages/01-introduction.md")
    text = author.locator("textarea#text").input_value()
    replace_text(author, text + "\nA new rule about water rescue.\n")
    author.get_by_role("button", name="Save draft").click()
    author.goto(f"{url}/author/courses/{code}/draft/publish")
    author.get_by_role("radio", name="Yes").check()
    author.get_by_label("Note about this version (optional)").fill("New rescue rule")
    author.get_by_role("button", name="Publish").click()
    expect(author.locator(".govuk-notification-banner")).to_contain_text("version 2")

    learner.goto(f"{url}/learn")
    row = learner.locator("tr, .govuk-summary-card, li", has_text="Flood response").first
    expect(row).to_contain_text("A new version must be completed")
    save_screenshots(learner, "editor-learner-falls-due")

    # Under the site's Content-Security-Policy the preview still follows the text.
    strict = new_context().new_page()
    sign_in(strict, url, trainer.email)
    strict.goto(f"{url}/author/courses/{code}/draft/pages/01-introduction.md")
    replace_text(strict, "---\ntitle: Before the water rises\n---\n\nPlan ahead.\n")
    expect(strict.locator(".app-editor-preview")).to_contain_text("Before the water rises")
    assert problems == []
