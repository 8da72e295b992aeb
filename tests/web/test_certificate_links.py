"""My training links each course in date to its certificate, and the certificate's
verification address is a link."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion
from tests.support.web import read_page

VALID = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"


@pytest.fixture
def course_version(session):
    courses.import_parsed(session, courses.parse_folders(VALID))
    session.commit()
    return courses.find_version(session, "JESIP-AWARE")


def _complete(session, learner, version, days_ago, source=""):
    when = datetime.now(UTC) - timedelta(days=days_ago)
    completion = Completion(
        user_id=learner.id, course_id=version.course_id,
        version_id=None if source else version.id, completed_at=when,
        expires_at=progress.add_months(when, 12),
        certificate_code=None if source else progress.new_certificate_code(), source=source)
    session.add(completion)
    session.commit()
    return completion


@pytest.mark.parametrize("days_ago", [30, 320])  # in date, and expiring
def test_my_training_links_a_course_in_date_to_its_certificate(browser, learner,
                                                               course_version, session,
                                                               days_ago):
    _complete(session, learner, course_version, days_ago)
    page = browser.get("/learn")
    assert page.status == 200
    card = page.soup.select_one(".govuk-summary-card")
    link = card.find("a", href="/learn/JESIP-AWARE/certificate")
    assert link.get_text(" ", strip=True) == "View your certificate for JESIP Awareness"
    assert link.select_one(".govuk-visually-hidden").get_text(strip=True) == (
        "for JESIP Awareness")
    assert browser.get(link["href"]).h1 == "Certificate of completion"


def test_expired_or_imported_training_has_no_certificate_link(browser, learner,
                                                             course_version, session):
    _complete(session, learner, course_version, 400)
    page = browser.get("/learn")
    assert page.status == 200 and "Expired" in page.text
    assert page.soup.find("a", href="/learn/JESIP-AWARE/certificate") is None
    assert page.soup.find("dt", string="Certificate") is None

    _complete(session, learner, course_version, 20, source="NCALT")
    page = browser.get("/learn")
    assert page.soup.find("a", href="/learn/JESIP-AWARE/certificate") is None
    certificate = page.soup.find("dt", string="Certificate").find_next("dd")
    assert certificate.get_text(strip=True) == "Recorded from NCALT, which holds the certificate"


def test_an_optional_course_in_date_links_to_its_certificate(browser, make, organisation,
                                                            course_version, session):
    course_version.required_services = ["ambulance"]  # not the learner's service
    session.commit()
    learner = make.user(organisation=organisation, name="Ola Optional")
    browser.sign_in(learner.email)
    _complete(session, learner, course_version, 30)
    page = browser.get("/learn")
    assert page.status == 200 and "Other courses you can take" in page.text
    link = page.soup.find("a", href="/learn/JESIP-AWARE/certificate")
    assert link.get_text(" ", strip=True) == "View your certificate for JESIP Awareness"


def test_the_certificates_verification_address_is_a_link(browser, learner, course_version,
                                                         session):
    completion = _complete(session, learner, course_version, 30)
    page = browser.get("/learn/JESIP-AWARE/certificate")
    assert page.status == 200
    address = f"http://jesip.test/verify/{completion.certificate_code}"
    link = page.soup.find("a", href=address)
    assert link is not None and link.get_text(strip=True) == address
    assert read_page(browser.client.get(address)).status == 200
