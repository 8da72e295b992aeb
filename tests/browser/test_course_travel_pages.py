"""The trainer's pages for courses that travel, in Chromium with axe at 1280 and 375 px: the
course page's packages (the warning that the answers are inside, a real download), and a
Moodle question bank uploaded on a quiz page, its result and its refusal."""

from __future__ import annotations

import uuid
import zipfile
from pathlib import Path

from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.browser.test_authoring import look_at

BANK = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "gift" / "every-feature.gift"


def test_packages_download_and_a_moodle_bank_goes_into_a_quiz(new_context, live_server,
                                                               admin, tmp_path):
    url = live_server.url
    problems: list[str] = []
    page = new_context(bypass_csp=True, accept_downloads=True).new_page()
    sign_in(page, url, admin.email)

    page.goto(f"{url}/author/courses/JESIP-AWARE")
    expect(page.get_by_text("The quiz’s answers are inside the package")).to_be_visible()
    look_at(page, "author-course-packages", problems)
    with page.expect_download() as download:
        page.get_by_role("link", name="Download as SCORM 2004 (4th edition)").click()
    saved = tmp_path / download.value.suggested_filename
    download.value.save_as(saved)
    assert saved.name.startswith("JESIP-AWARE-v") and saved.name.endswith("-scorm2004.zip")
    with zipfile.ZipFile(saved) as archive:
        assert "imsmanifest.xml" in archive.namelist()

    code = f"BANK-{uuid.uuid4().hex[:4].upper()}"
    page.goto(f"{url}/author/new")
    page.get_by_label("Title").fill("Moodle bank")
    page.get_by_label("Course code").fill(code)
    page.get_by_role("button", name="Create course").click()
    page.get_by_label("Quiz", exact=True).check()
    page.get_by_label("Title", exact=True).fill("From Moodle")
    page.get_by_role("button", name="Add item").click()
    expect(page.get_by_role("heading", name="Add questions from Moodle")).to_be_visible()
    look_at(page, "editor-quiz-with-gift-upload", problems)

    page.get_by_role("button", name="Add the questions").click()
    expect(page.get_by_role("link", name="Choose a GIFT file exported from Moodle")).to_be_visible()
    look_at(page, "editor-gift-refused", problems)

    page.get_by_label("GIFT file").set_input_files(BANK)
    page.get_by_role("button", name="Add the questions").click()
    expect(page.get_by_role("heading", name="10 questions added")).to_be_visible()
    expect(page.get_by_role("cell", name="Matching", exact=True)).to_be_visible()
    look_at(page, "editor-gift-result", problems)
    assert not problems, "\n".join(problems)
