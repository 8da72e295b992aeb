"""A course zip with many mistakes, uploaded in Chromium: every problem is listed at once,
by file; a zip imported with problems links each to its line in the editor, which opens at
that line. axe and the phone width check each page."""

from __future__ import annotations

import io
import uuid
import zipfile
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import (
    SCREENSHOT_WIDTHS,
    check_accessibility,
    save_screenshots,
    sign_in,
)
from tests.browser.test_authoring import look_at

FIXTURES = Path(__file__).resolve().parents[1] / "content" / "fixtures"


def zipped(folder: Path, replace: dict[str, bytes] | None = None) -> bytes:
    buffer = io.BytesIO()
    files = {str(path.relative_to(folder)): path.read_bytes()
             for path in sorted(folder.rglob("*")) if path.is_file()}
    files.update(replace or {})
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in files.items():
            archive.writestr(f"{folder.name}/{name}", data)
    return buffer.getvalue()


def look_at_problems(page, name: str, problems: list[str]) -> None:
    """axe on the page, and the problems list within the width, at each width."""
    for width in SCREENSHOT_WIDTHS:
        page.set_viewport_size({"width": width, "height": 800 if width > 600 else 740})
        problems += check_accessibility(page, f"{name} at {width}px")
        right = page.evaluate("Math.max(...[...document.querySelectorAll("
                              "'.app-problem-groups *')].map(e => e.getBoundingClientRect()"
                              ".right))")
        if right > width:
            problems.append(f"{name} at {width}px: the problems reach {right}px")
    save_screenshots(page, name)
    page.set_viewport_size({"width": 1280, "height": 800})


def upload(page, url: str, data: bytes) -> None:
    page.goto(f"{url}/author/courses/import")
    page.set_input_files("input[type=file]", files=[
        {"name": "course.zip", "mimeType": "application/zip", "buffer": data}])
    page.get_by_role("button", name="Import as a new course").click()


def test_every_problem_of_a_zip_at_once_and_each_line_in_the_editor(
        new_context, live_server, trainer):
    url, problems = live_server.url, []
    page = new_context(bypass_csp=True).new_page()  # axe is injected script
    sign_in(page, url, trainer.email)

    upload(page, url, zipped(FIXTURES / "planted-mistakes"))
    expect(page.locator(".govuk-error-summary")).to_contain_text("it has 38 problems")
    expect(page.locator(".app-problem-groups h3")).to_have_count(13)
    expect(page.locator(".app-problem-groups li")).to_have_count(38)
    look_at(page, "upload-every-problem", problems)

    code = f"MAP-{uuid.uuid4().hex[:4].upper()}"
    course_md = (FIXTURES / "valid-course" / "course.md").read_text().replace(
        "JESIP-AWARE", code)
    scenario = (FIXTURES / "valid-course" / "06-flooding.scenario.md").read_text()
    broken = scenario.replace("](#methane", "](#methan", 1)
    assert broken != scenario
    upload(page, url, zipped(FIXTURES / "valid-course", {
        "course.md": course_md.encode(), "06-flooding.scenario.md": broken.encode()}))
    expect(page.locator(".govuk-caption-l")).to_have_text(f"{code}, draft")
    # The draft's items table is wider than a phone (its buttons), which is not this
    # test's business: here the problems must fit.
    look_at_problems(page, "upload-draft-problems", problems)
    link = page.locator(".app-problem-groups li a").first
    line = link.inner_text().split()[1]
    link.click()
    expect(page.locator("#line-problem h2")).to_have_text(f"Line {line}")
    expect(page.locator("#line-problem")).to_contain_text("did you mean #methane")
    look_at(page, "upload-editor-at-line", problems)

    # The same zip again, as the course's draft: the result lists the problems by file,
    # each linking to its line.
    page.goto(f"{url}/author/courses/{code}/import")
    page.set_input_files("input[type=file]", files=[
        {"name": "course.zip", "mimeType": "application/zip", "buffer": zipped(
            FIXTURES / "valid-course", {"course.md": course_md.encode(),
                                        "06-flooding.scenario.md": broken.encode()})}])
    page.get_by_role("button", name="Import as the draft").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("The zip is now the draft")
    # The problems (the item-writing warnings below them are listed the same way).
    expect(page.locator(".govuk-inset-text:not(.app-warnings) .app-problem-groups li a")
           ).to_have_count(3)
    look_at(page, "upload-draft-import-result", problems)
    assert problems == []
