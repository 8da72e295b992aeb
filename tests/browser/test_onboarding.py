"""An organisation joins, in Chromium: an administrator uploads its people with the days
they joined and left, checks the file row by row and applies it; a learner whose training is
in date opens its certificate from My training and follows the verification link. axe checks
each page at desktop and phone widths, and no page scrolls sideways."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from jesip_learn.accounts.models import User
from jesip_learn.courses.models import Course
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion
from tests.browser.conftest import (
    add_account,
    home_organisation,
    look_at,
    sign_in,
)


def test_an_administrator_imports_people_with_the_days_they_joined_and_left(
        new_context, live_server, admin, tmp_path):
    url, problems = live_server.url, []
    _id, organisation, _domain = home_organisation(live_server.database)
    tag = uuid.uuid4().hex[:8]
    people = tmp_path / "people.csv"
    people.write_text(
        "name,email,organisation,command role,joined,left\n"
        f"Nia Newcomer,nia.{tag}@example.org,{organisation},Tactical commander,2021-04-01,\n"
        f"Len Leaver,len.{tag}@example.org,{organisation},operational,2019-09-02,31/03/2025\n"
        f"Fay Future,fay.{tag}@example.org,{organisation},staff,2999-01-01,\n", encoding="utf-8")
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, admin.email)

    page.goto(f"{url}/manage/imports")
    page.get_by_role("link", name="Import people").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import people")
    look_at(page, "import-people-upload", problems)
    page.get_by_label("CSV file").set_input_files(str(people))
    page.get_by_role("button", name="Upload and check").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Check your import")
    summary = page.locator(".govuk-error-summary")
    expect(summary).to_contain_text("Line 4: The joined date 1 January 2999 is in the future")
    headers = page.locator("thead th").all_inner_texts()
    assert headers == ["Line", "Name", "Email", "Organisation", "Command role", "Joined",
                       "Left", "Result"]
    expect(page.locator("#line-3")).to_contain_text("Last day 31 March 2025")
    look_at(page, "import-people-check", problems)
    summary.get_by_role("link").first.click()
    assert page.url.endswith("#line-4")

    page.get_by_role("button", name="Import 2 changes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Import complete")
    expect(page.locator(".govuk-notification-banner")).to_contain_text(
        "1 email sent to new people to choose a password; none to those recorded as having "
        "left.")
    expect(page.locator("main")).to_contain_text("Each new person who has not left has been "
                                                 "sent an email")
    look_at(page, "import-people-done", problems)
    assert [mail.to for mail in live_server.outbox if tag in mail.to] == [f"nia.{tag}@example.org"]
    with live_server.database.session() as session:
        leaver = session.scalar(select(User).where(User.email == f"len.{tag}@example.org"))
        assert leaver.status == "deactivated"
    assert problems == [], "\n".join(problems)


def test_a_learner_opens_their_certificate_from_my_training_and_verifies_it(
        new_context, live_server, example_course):
    url, problems = live_server.url, []
    learner = add_account(live_server.database, name="Cora Certified")
    now = datetime.now(UTC)
    with live_server.database.write_session() as session:
        course = session.scalar(select(Course).where(Course.code == example_course))
        session.add(Completion(
            user_id=learner.id, course_id=course.id, version_id=course.published_version_id,
            completed_at=now - timedelta(days=40),
            expires_at=progress.add_months(now - timedelta(days=40), 12),
            certificate_code=progress.new_certificate_code()))
        for other in session.scalars(select(Course).where(
                Course.published_version_id.is_not(None), Course.code != example_course)):
            session.add(Completion(  # brought from another system: no certificate here
                user_id=learner.id, course_id=other.id, version_id=None,
                completed_at=now - timedelta(days=300),
                expires_at=progress.add_months(now - timedelta(days=300), 12),
                certificate_code=None, source="NCALT"))
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, learner.email)

    page.goto(f"{url}/learn")
    expect(page.get_by_role("heading", level=1)).to_have_text("My training")
    expect(page.locator("main")).to_contain_text("Recorded from NCALT, which holds the "
                                                 "certificate")
    look_at(page, "my-training-certificates", problems)
    page.get_by_role("link", name="View your certificate for JESIP Awareness").click()

    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate of completion")
    look_at(page, "certificate", problems)
    verify = page.get_by_role("link", name="/verify/")
    expect(verify).to_have_count(1)
    verify.click()
    expect(page.locator("main")).to_contain_text("Genuine and in date")
    assert problems == [], "\n".join(problems)
