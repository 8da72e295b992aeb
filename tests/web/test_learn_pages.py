"""My training, the course page, reading modules, certificates and their verification."""

from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"


@pytest.fixture
def course_version(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


def test_my_training_lists_required_courses_with_status(browser, learner, course_version):
    page = browser.get("/learn")
    assert page.title == "My training – JESIP Learn" and page.h1 == "My training"
    assert "Training you must hold" in page.text
    card = page.soup.select_one(".govuk-summary-card")
    assert "JESIP Awareness" in card.text and "Not started" in card.text


def test_my_training_without_courses(browser, learner):
    assert "No courses are required for your role yet." in browser.get("/learn").text


def test_course_page_lists_items_and_starts_at_the_first(browser, learner, course_version):
    page = browser.get("/learn/JESIP-AWARE")
    assert page.h1 == "JESIP Awareness"
    items = [a.get_text(strip=True) for a in page.soup.select(".govuk-task-list__link")]
    assert items == [item.title for item in course_version.items]
    start = page.soup.find("a", string=lambda s: s and s.strip() == "Start")
    assert start["href"] == f"/learn/JESIP-AWARE/modules/{course_version.items[0].slug}"


def test_unknown_courses_and_items_are_not_found(browser, learner, course_version):
    assert browser.get("/learn/NOPE").status == 404
    assert browser.get("/learn/JESIP-AWARE/modules/nope").status == 404
    quiz = next(i for i in course_version.items if i.kind == "quiz")
    assert browser.get(f"/learn/JESIP-AWARE/modules/{quiz.slug}").status == 404


def test_a_module_page_and_marking_it_complete(browser, learner, course_version, session):
    module = course_version.items[0]
    page = browser.get(f"/learn/JESIP-AWARE/modules/{module.slug}")
    assert page.h1 == module.title
    assert "By the end of this page you will be able to:" in page.text
    page = browser.submit(f"/learn/JESIP-AWARE/modules/{module.slug}/complete", {},
                          form_url=f"/learn/JESIP-AWARE/modules/{module.slug}")
    assert page.h1 == course_version.items[1].title  # on to the next item
    again = browser.get(f"/learn/JESIP-AWARE/modules/{module.slug}")
    assert "Completed" in again.text and "Mark as complete" not in again.text
    states = progress.item_states(session, learner, course_version)
    assert states[module.slug] == "completed"


def test_marking_complete_needs_the_csrf_token(browser, learner, course_version, session):
    module = course_version.items[0]
    response = browser.client.post(f"/learn/JESIP-AWARE/modules/{module.slug}/complete")
    assert response.status_code == 400
    assert progress.item_states(session, learner, course_version)[module.slug] == "not-started"


def test_learner_pages_need_sign_in(client):
    assert client.get("/learn").status_code == 302


def complete_course(session, learner, version):
    for item in version.items:
        progress.complete_item(session, learner, version, item.slug)
    session.commit()
    return session.scalar(select(Completion).where(Completion.user_id == learner.id))


def test_certificate_page_and_pdf(browser, learner, course_version, session):
    assert browser.get("/learn/JESIP-AWARE/certificate").status == 404
    completion = complete_course(session, learner, course_version)
    page = browser.get("/learn/JESIP-AWARE/certificate")
    assert page.h1 == "Certificate of completion"
    assert "Lee Learner" in page.text and completion.certificate_code in page.text
    pdf = browser.client.get("/learn/JESIP-AWARE/certificate.pdf")
    assert pdf.status_code == 200 and pdf.data.startswith(b"%PDF")
    assert pdf.headers["Content-Disposition"].startswith("attachment")
    assert "In date" in browser.get("/learn").text


def test_verification_is_public_and_names_the_holder_but_not_their_email(app, browser, learner,
                                                            course_version, session):
    completion = complete_course(session, learner, course_version)
    public = app.test_client()
    page = read(public.get(f"/verify/{completion.certificate_code}"))
    assert page.status == 200
    assert "Genuine and in date" in page.text and "JESIP Awareness" in page.text
    # The holder's name, to match against the person showing it; nothing to contact them by.
    assert learner.name in page.text
    assert learner.email not in page.text and learner.organisation.name not in page.text
    missing = read(public.get("/verify?code=JL-NOPE0-NOPE0"))
    assert "No certificate has the code JL-NOPE0-NOPE0" in missing.text
    assert read(public.get("/verify")).h1 == "Check a JESIP Learn certificate"


def read(response):
    from tests.support.pages import read_page
    return read_page(response)


def test_history_lists_completions(browser, learner, course_version, session):
    assert "You have not started any training yet" in browser.get("/learn/history").text
    completion = complete_course(session, learner, course_version)
    page = browser.get("/learn/history")
    assert page.h1 == "Your training history"
    assert completion.certificate_code in page.text and "JESIP Awareness" in page.text


def test_a_completion_brought_from_another_system_has_no_certificate(browser, learner,
                                                                    course_version, session):
    from datetime import UTC, datetime, timedelta
    when = datetime.now(UTC) - timedelta(days=330)
    session.add(Completion(user_id=learner.id, course_id=course_version.course_id,
                           version_id=None, completed_at=when,
                           expires_at=progress.add_months(when, 12), certificate_code=None,
                           source="NCALT"))
    session.commit()
    assert "Expiring" in browser.get("/learn").text
    assert "recorded from NCALT" in browser.get("/learn/JESIP-AWARE").text
    assert browser.get("/learn/JESIP-AWARE/certificate").status == 404
    assert "recorded from NCALT" in browser.get("/learn/history").text
    # Renewing here, in the last 90 days, brings a certificate of its own.
    complete_course(session, learner, course_version)
    own = progress.latest_certificate(session, learner, course_version.course)
    page = browser.get("/learn/JESIP-AWARE/certificate")
    assert page.status == 200 and own.certificate_code in page.text
