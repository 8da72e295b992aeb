"""Control characters, line and paragraph separators and text-direction overrides are
refused in every name and title people type, through the pages, with an error against the
field (or the row of a file) and nothing saved."""

from __future__ import annotations

import io

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import Organisation, User
from jesip_learn.exercises.models import Exercise, LearningPoint
from jesip_learn.notifications.models import ReportSubscription
from tests.support.pages import read_page


def _refusal(label: str, code: str) -> str:
    return (f"{label} must not contain line breaks, tabs or other control characters, or "
            f"characters that change the direction of text ({code}): type it again without "
            "them")


@pytest.fixture
def as_admin(browser, admin):
    browser.sign_in(admin.email)
    return browser


@pytest.mark.parametrize(("name", "code"), [
    ("Sam\r\nJones", "U+000D, U+000A"), ("Sam \u202eJones", "U+202E"),
    ("Sam\x1b[31mJones", "U+001B"), ("Sam\u2028Jones", "U+2028"), ("Sam\x85Jones", "U+0085"),
])
def test_registration_refuses_a_name_with_control_characters(browser, organisation, session,
                                                             name, code):
    page = browser.submit("/register", {
        "name": name, "email": "sam.jones@northshire.police.uk",
        "organisation": str(organisation.id), "command_role": "tactical",
        "password": "correct horse battery staple"})
    assert page.status == 200
    assert page.error_links() == {_refusal("Full name", code): "name"}
    assert session.scalar(select(func.count()).select_from(User).where(
        User.email == "sam.jones@northshire.police.uk")) == 0


def test_an_administrator_cannot_give_a_name_or_an_organisation_a_control_character(
        as_admin, make, organisation, session):
    person = make.user(organisation=organisation, name="Tom Trainee")
    page = as_admin.submit(f"/admin/users/{person.id}", {
        "name": "Tom\tTrainee", "organisation": str(organisation.id), "command_role": "staff",
        "permissions": ["learner"], "manager_area": "", "is_active": "y"})
    assert page.error_links() == {_refusal("Full name", "U+0009"): "name"}
    session.expire_all()
    assert session.get(User, person.id).name == "Tom Trainee"
    page = as_admin.submit("/admin/organisations/new", {
        "name": "Testshire\nCounty Council", "service": "other", "country": "England",
        "domains": "", "is_active": "y"})
    assert page.error_links() == {_refusal("Name", "U+000A"): "name"}
    page = as_admin.submit(f"/admin/organisations/{organisation.id}", {
        "name": "Northshire \u2066Police\u2069", "service": "police", "country": "England",
        "domains": "northshire.police.uk", "is_active": "y"})
    assert page.error_links() == {_refusal("Name", "U+2066, U+2069"): "name"}
    session.expire_all()
    assert session.get(Organisation, organisation.id).name == "Northshire Police"


def test_a_row_of_people_with_a_control_character_is_an_error_of_that_row(as_admin, session):
    form_url = "/manage/imports/users/new"
    data = ("name,email,organisation,command role\n"
            "Nia New,nia@example.org,Northshire Police,staff\n"
            "Rob\u202eevoR,rob@example.org,Northshire Police,staff\n").encode()
    page = read_page(as_admin.client.post(form_url, data={
        "csrf_token": as_admin.get(form_url).csrf_token(),
        "file": (io.BytesIO(data), "people.csv")}, follow_redirects=True))
    assert page.h1 == "Check your import"
    assert page.errors == [f"Line 3: {_refusal('Name', 'U+202E')}"]


def test_an_exercise_title_location_and_learning_point_refuse_control_characters(
        browser, make, organisation, other_organisation, session):
    trainer = make.user(organisation=organisation, permissions={"trainer"})
    browser.sign_in(trainer.email)
    form = {"title": "Operation Estuary\r\nBcc: everyone@example.org", "held_on_day": "14",
            "held_on_month": "3", "held_on_year": "2026", "kind": "live",
            "location": "Dock\x0b7", "organisation_ids": [str(organisation.id),
                                                       str(other_organisation.id)]}
    page = browser.submit("/exercises/new", form)
    assert page.error_links() == {_refusal("Title", "U+000D, U+000A"): "title",
                                  _refusal("Location", "U+000B"): "location"}
    assert session.scalar(select(func.count()).select_from(Exercise)) == 0
    page = browser.submit("/exercises/new", {**form, "title": "Operation Estuary",
                                             "location": "Dock 7"})
    exercise = session.scalar(select(Exercise))
    base = f"/exercises/{exercise.id}"
    page = browser.submit(f"{base}/learning-points", {"text": "Share the RVP\x00 sooner"},
                          form_url=base)
    assert page.status == 400
    assert page.error_links() == {
        "The learning point must not contain control characters (other than line breaks and "
        "tabs), or characters that change the direction of text (U+0000): type it again "
        "without them": "text"}
    page = browser.submit(f"{base}/learning-points", {"text": "Share the RVP sooner.\r\n"
                                                      "Agree one channel."}, form_url=base)
    assert "The learning point has been added." in page.notifications[0]
    assert session.scalar(select(LearningPoint.text)) == (
        "Share the RVP sooner.\r\nAgree one channel.")


def test_a_scheduled_reports_name_refuses_line_breaks(browser, make, organisation, session):
    manager = make.user(organisation=organisation, permissions={"manager"})
    browser.sign_in(manager.email)
    page = browser.submit("/manage/subscriptions/new", {
        "filters": "", "name": "Gaps\r\nBcc: everyone@example.org", "file_format": "csv",
        "frequency": "weekly"}, form_url="/manage/subscriptions/new")
    assert page.status == 400
    assert page.error_links() == {_refusal("The name", "U+000D, U+000A"): "name"}
    assert session.scalar(select(ReportSubscription)) is None
