"""A certificate and its public verification page in Chromium, at 1280 and 375 px with axe:
the verification address on the certificate wraps, if it must, after its last slash and
never inside the code; the verification page names the holder, the course, its dates and
status, and never their email address."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from playwright.sync_api import expect
from sqlalchemy import select

from jesip_learn.courses.models import Course
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion
from tests.browser.conftest import add_account, sign_in
from tests.browser.test_authoring import look_at

HOLDER = "Philippa Montgomery-Ravenscroft"


def test_a_certificate_keeps_its_code_whole_and_its_check_names_the_holder(
        new_context, live_server):
    url, problems = live_server.url, []
    holder = add_account(live_server.database, name=HOLDER)
    now = datetime.now(UTC)
    with live_server.database.write_session() as session:
        course = session.scalar(select(Course).where(Course.code == "JESIP-AWARE"))
        code = progress.new_certificate_code()
        session.add(Completion(
            user_id=holder.id, course_id=course.id, version_id=course.published_version_id,
            completed_at=now - timedelta(days=40),
            expires_at=progress.add_months(now - timedelta(days=40), 12),
            certificate_code=code))
    page = new_context(bypass_csp=True).new_page()
    sign_in(page, url, holder.email)
    page.goto(f"{url}/learn/JESIP-AWARE/certificate")
    expect(page.get_by_role("heading", level=1)).to_have_text("Certificate of completion")
    look_at(page, "certificate-code-whole", problems)
    for width in (1280, 375, 320):
        page.set_viewport_size({"width": width, "height": 740})
        code_box = page.locator(f"a[href$='/verify/{code}'] .app-nowrap")
        expect(code_box).to_have_text(code)
        # One line box: the code is not broken across lines.
        assert code_box.evaluate("element => element.getClientRects().length") == 1, width

    visitor = new_context(bypass_csp=True).new_page()  # nobody signed in
    visitor.goto(f"{url}/verify/{code}")
    expect(visitor.locator(".govuk-panel")).to_contain_text("Genuine and in date")
    summary = visitor.locator(".govuk-summary-list")
    expect(summary).to_contain_text(HOLDER)
    expect(summary).to_contain_text("JESIP-AWARE, version")
    expect(summary).to_contain_text("In date")
    assert holder.email not in visitor.locator("body").inner_text()
    look_at(visitor, "verify-certificate", problems)
    assert not problems, "\n".join(problems)
