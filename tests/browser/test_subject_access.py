"""A learner reads what JESIP Learn holds about them, in Chromium at 1280 and 375 px with
axe: sections in plain words, the JSON download beside them, no sideways scrolling."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from jesip_learn.courses.models import Course
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion
from tests.browser.conftest import add_account, sign_in
from tests.browser.test_authoring import look_at


def test_a_learner_reads_their_data_and_downloads_it(new_context, live_server, tmp_path):
    url, problems = live_server.url, []
    person = add_account(live_server.database, name="Dafydd Data-Subject")
    now = datetime.now(UTC)
    with live_server.database.write_session() as session:
        for number, course in enumerate(session.scalars(select(Course).where(
                Course.published_version_id.is_not(None)).order_by(Course.code))):
            when = now - timedelta(days=30 + number)
            session.add(Completion(
                user_id=person.id, course_id=course.id, version_id=course.published_version_id,
                completed_at=when, expires_at=progress.add_months(when, 12),
                certificate_code=progress.new_certificate_code()))
    page = new_context(bypass_csp=True, accept_downloads=True).new_page()
    sign_in(page, url, person.email)
    page.goto(f"{url}/account")
    page.get_by_role("link", name="See or download everything we hold about you").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your data")
    expect(page.get_by_role("heading", name="About you", exact=True)).to_be_visible()
    expect(page.locator("#completions").locator("xpath=..")).to_contain_text(
        "JESIP Awareness (JESIP-AWARE), completed on")
    look_at(page, "subject-access", problems)

    with page.expect_download() as download:
        page.get_by_role("link", name="Download your data as JSON").click()
    saved = tmp_path / "data.json"
    download.value.save_as(saved)
    assert json.loads(saved.read_text())["person"]["name"] == "Dafydd Data-Subject"
    assert not problems, "\n".join(problems)
