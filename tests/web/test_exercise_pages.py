"""Exercise pages: recording one with its errors named, adding participants by search and
from a file checked first, confirming attendance within a manager's own organisation,
learning points and their download, what each kind of visitor may open, the exercises on a
learner's record, and an exercise rule as a column of the dashboard and its downloads."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select

from jesip_learn.exercises.models import Exercise, ExerciseParticipant
from jesip_learn.records.models import AuditEvent


@pytest.fixture
def people(make, organisation, other_organisation):
    return {
        "trainer": make.user(organisation=organisation, permissions={"trainer"}),
        "manager-a": make.user(organisation=organisation, permissions={"manager"}),
        "manager-b": make.user(organisation=other_organisation, permissions={"manager"}),
        "learner": make.user(organisation=organisation),
        "officer": make.user(organisation=organisation, name="Olive Officer",
                             email="olive@northshire.police.uk", command_role="tactical"),
        "firefighter": make.user(organisation=other_organisation, name="Finn Firefighter",
                                 email="finn@southshire.fire.uk"),
    }


def _record(browser, organisation, other_organisation, **changes) -> object:
    data = {"title": "Operation Estuary", "held_on_day": "14", "held_on_month": "3",
            "held_on_year": "2026", "kind": "command-post", "location": "Northshire HQ",
            "organisation_ids": [str(organisation.id), str(other_organisation.id)],
            "principles": ["co-locate", "risk"], "jdm_stages": ["information"],
            "command_roles": ["tactical"], **changes}
    return browser.submit("/exercises/new", data)


def test_recording_an_exercise_names_each_problem(browser, people, organisation,
                                                   other_organisation):
    browser.sign_in(people["trainer"].email)
    page = _record(browser, organisation, other_organisation, title="", held_on_day="31",
                   held_on_month="2", kind="", organisation_ids=[str(organisation.id)])
    assert page.status == 200 and page.title.startswith("Error: ")
    assert page.errors == ["Enter the exercise's title", "The date must be a real date",
                           "Select the type of exercise",
                           "Select at least two organisations: a multi-agency exercise "
                           "brings more than one together"]
    page = _record(browser, organisation, other_organisation, held_on_day="31",
                   held_on_month="2")
    assert page.error_links() == {"The date must be a real date": "held_on_day"}
    page = _record(browser, organisation, other_organisation,
                   organisation_ids=[str(organisation.id)])
    assert page.errors[0].startswith("Select at least two organisations")
    page = _record(browser, organisation, other_organisation)
    assert page.h1 == "Operation Estuary"
    assert "Operation Estuary has been recorded" in page.notifications[0]
    assert "Co-locate, Jointly understand risk" in page.text


def test_a_learner_is_refused_and_another_organisations_exercise_is_not_found(
        browser, session, make, people, organisation, other_organisation):
    browser.sign_in(people["learner"].email)
    assert browser.get("/exercises").status == 403
    browser.sign_out()
    browser.sign_in(people["trainer"].email)
    _record(browser, organisation, other_organisation)
    exercise = session.scalar(select(Exercise))
    browser.sign_out()
    third = make.organisation(name="Eastshire Ambulance Service", service="ambulance")
    outsider = make.user(organisation=third, permissions={"manager"})
    browser.sign_in(outsider.email)
    assert browser.get(f"/exercises/{exercise.id}").status == 404
    assert browser.get("/exercises").text.count("Operation Estuary") == 0
    browser.sign_out()
    browser.sign_in(people["manager-b"].email)
    assert browser.get(f"/exercises/{exercise.id}").status == 200
    assert browser.get(f"/exercises/{exercise.id}/edit").status == 403


def test_participants_by_search_and_confirmed_by_their_own_manager(
        browser, session, people, organisation, other_organisation):
    browser.sign_in(people["trainer"].email)
    _record(browser, organisation, other_organisation)
    exercise = session.scalar(select(Exercise))
    base = f"/exercises/{exercise.id}"
    found = browser.get(f"{base}/participants/add?q=olive")
    assert "Olive Officer" in found.text
    page = browser.submit(f"{base}/participants/add", {"user_id": "", "role": "tactical"})
    assert page.errors == ["Select a person from the search results"]
    page = browser.submit(f"{base}/participants/add",
                          {"user_id": str(people["officer"].id), "role": "tactical"})
    assert "Olive Officer has been added." in page.notifications[0]
    assert "Confirm" not in [b.get_text(" ", strip=True).split(" ")[0]
                             for b in page.soup.select("button")]
    browser.sign_out()

    browser.sign_in(people["manager-b"].email)
    page = browser.get(base)
    assert "Olive Officer" not in page.text
    assert "Olive" not in browser.get(f"{base}/participants/add?q=olive").text
    found = browser.get(f"{base}/participants/add?q=finn")
    assert found.status == 200 and "Finn Firefighter" in found.text
    page = browser.submit(f"{base}/participants/add",
                          {"user_id": str(people["firefighter"].id), "role": "operational"})
    assert "Finn Firefighter has been added." in page.notifications[0]
    assert "Finn Firefighter" in page.text and "Olive Officer" not in page.text
    olive = session.scalar(select(ExerciseParticipant).where(
        ExerciseParticipant.user_id == people["officer"].id))
    finn = session.scalar(select(ExerciseParticipant).where(
        ExerciseParticipant.user_id == people["firefighter"].id))
    refused = browser.client.post(f"{base}/participants/{olive.id}/confirm",
                                  data={"csrf_token": page.csrf_token()})
    assert refused.status_code == 404
    page = browser.submit(f"{base}/participants/{finn.id}/confirm", {}, form_url=base)
    assert "Finn Firefighter's attendance has been confirmed." in page.notifications[0]
    session.expire_all()
    assert finn.confirmed_at is not None and olive.confirmed_at is None
    assert session.scalar(select(AuditEvent).where(
        AuditEvent.action == "exercise.attendance_confirmed")).subject_user_id == finn.user_id


def test_a_file_of_participants_is_checked_before_anyone_is_added(
        browser, session, people, organisation, other_organisation):
    browser.sign_in(people["trainer"].email)
    _record(browser, organisation, other_organisation)
    exercise = session.scalar(select(Exercise))
    base = f"/exercises/{exercise.id}/participants/upload"
    page = browser.submit(base, {"file": (io.BytesIO(b""), "")})
    assert page.errors == ["Select a CSV file"]
    page = browser.submit(base, {"file": (io.BytesIO(b"name\nx\n"), "people.csv")})
    assert page.errors[0].startswith("The first line must name the columns")
    text = ("email,role\nolive@northshire.police.uk,\nfinn@southshire.fire.uk,staff\n"
            "someone@else.org,staff\n")
    page = browser.submit(base, {"file": (io.BytesIO(text.encode()), "people.csv")})
    assert page.h1 == "Check the participants"
    assert "1 of 3 rows can be added" in page.text
    # Another organisation's person reads exactly as an address no one has.
    results = [row.find_all("td") for row in page.soup.select("tbody tr")]
    assert [[cell.get_text(" ", strip=True) for cell in row[1:]] for row in results] == [
        ["olive@northshire.police.uk", "Olive Officer", "Tactical commander",
         "Will be added"],
        ["finn@southshire.fire.uk", "", "Staff (no command role)",
         "Error finn@southshire.fire.uk is not someone you can add: their own "
         "organisation's manager adds them"],
        ["someone@else.org", "", "Staff (no command role)",
         "Error someone@else.org is not someone you can add: their own organisation's "
         "manager adds them"]]
    assert session.scalars(select(ExerciseParticipant)).all() == []
    hidden = page.soup.find("input", attrs={"name": "text"})["value"]
    response = browser.client.post(f"{base}/apply", data={
        "csrf_token": page.csrf_token(), "text": hidden}, follow_redirects=True)
    assert "1 person has been added." in response.get_data(as_text=True)
    browser.sign_out()
    browser.sign_in(people["manager-b"].email)  # Finn's own manager adds him
    page = browser.submit(base, {"file": (io.BytesIO(text.encode()), "people.csv")})
    assert "1 of 3 rows can be added" in page.text
    hidden = page.soup.find("input", attrs={"name": "text"})["value"]
    response = browser.client.post(f"{base}/apply", data={
        "csrf_token": page.csrf_token(), "text": hidden}, follow_redirects=True)
    assert "1 person has been added." in response.get_data(as_text=True)
    roles = {p.user.name: p.role for p in session.scalars(select(ExerciseParticipant))}
    assert roles == {"Olive Officer": "tactical", "Finn Firefighter": "staff"}


def test_recording_an_exercise_opens_no_other_organisations_staff_list(
        browser, session, make, people, organisation, other_organisation):
    """A trainer who names another organisation on an exercise finds, by search or by
    file, none of its people, nor anyone of their own whose account is not in use; its
    manager adds them, and the trainer then sees their name but not their address."""
    waiting = make.user(organisation=organisation, name="Wendy Waiting",
                        email="wendy@gmail.example")
    waiting.approved_at = None
    also_fire = make.user(organisation=other_organisation, name="Fiona Fireside",
                          email="fiona@southshire.fire.uk")
    session.commit()
    browser.sign_in(people["trainer"].email)
    _record(browser, organisation, other_organisation)
    exercise = session.scalar(select(Exercise))
    base = f"/exercises/{exercise.id}"
    page = browser.get(base)
    assert ("You can add people of Northshire Police. The managers of Southshire Fire and "
            "Rescue Service add their own people.") in page.text
    for letter in "abcdefghijklmnopqrstuvwxyz@.":
        found = browser.get(f"{base}/participants/add?q={letter}")
        assert found.status == 200
        assert "southshire" not in found.text.lower()
        assert "Wendy" not in found.text and "Fiona" not in found.text
    for person_id in (people["firefighter"].id, also_fire.id, waiting.id, 999999):
        page = browser.submit(f"{base}/participants/add",
                              {"user_id": str(person_id), "role": "staff"})
        assert page.status == 200
        assert page.errors == ["Select a person from the search results"]
    assert session.scalars(select(ExerciseParticipant)).all() == []
    browser.sign_out()

    browser.sign_in(people["manager-b"].email)
    page = browser.get(base)
    assert ("You can add people of Southshire Fire and Rescue Service. The managers of "
            "Northshire Police add their own people.") in page.text
    browser.submit(f"{base}/participants/add",
                   {"user_id": str(also_fire.id), "role": "operational"})
    browser.sign_out()
    browser.sign_in(people["trainer"].email)
    page = browser.get(base)
    assert page.status == 200
    assert "Fiona Fireside" in page.text and "fiona@southshire.fire.uk" not in page.text


def test_learning_points_and_their_download_for_joint_organisational_learning(
        browser, session, people, organisation, other_organisation):
    browser.sign_in(people["trainer"].email)
    _record(browser, organisation, other_organisation)
    exercise = session.scalar(select(Exercise))
    base = f"/exercises/{exercise.id}"
    page = browser.submit(f"{base}/learning-points", {"text": ""}, form_url=base)
    assert page.status == 400 and page.error_links() == {"Enter the learning point": "text"}
    browser.submit(f"{base}/learning-points", {
        "text": "=cmd|' /C calc'!A0 Agree the RVP earlier", "principle": "co-locate",
        "jdm_stage": "information", "for_jol": "y"}, form_url=base)
    browser.submit(f"{base}/learning-points", {"text": "Internal only"}, form_url=base)
    response = browser.client.get("/exercises/learning-points.csv")
    assert response.headers["Content-Disposition"].startswith("attachment;")
    lines = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header = lines.index(["Exercise", "Date", "Type", "Location", "Organisations", "Principle",
                          "JDM stage", "Learning point"])
    assert lines[header + 1:] == [[
        "Operation Estuary", "2026-03-14", "Command post", "Northshire HQ",
        "Northshire Police; Southshire Fire and Rescue Service", "Co-locate",
        "Gather information and intelligence", "'=cmd|' /C calc'!A0 Agree the RVP earlier"]]


def test_the_learner_and_their_manager_see_the_exercise_on_the_record(
        browser, session, people, organisation, other_organisation):
    browser.sign_in(people["trainer"].email)
    _record(browser, organisation, other_organisation)
    exercise = session.scalar(select(Exercise))
    browser.submit(f"/exercises/{exercise.id}/participants/add",
                   {"user_id": str(people["officer"].id), "role": "tactical"})
    browser.sign_out()
    browser.sign_in(people["officer"].email)
    page = browser.get("/learn")
    row = page.soup.find("table", attrs={}).find("tbody").find("tr")
    assert " ".join(row.get_text(" ", strip=True).split()) == (
        "Operation Estuary Command post, Northshire HQ 14 March 2026 Northshire Police, "
        "Southshire Fire and Rescue Service Tactical commander Not confirmed")
    browser.sign_out()
    browser.sign_in(people["manager-a"].email)
    page = browser.get(f"/exercises/{exercise.id}")
    olive = session.scalar(select(ExerciseParticipant))
    browser.submit(f"/exercises/{exercise.id}/participants/{olive.id}/confirm", {},
                   form_url=f"/exercises/{exercise.id}")
    record = browser.get(f"/manage/learners/{people['officer'].id}")
    assert "Operation Estuary" in record.text
    assert "Tactical commander Confirmed" in record.text
    browser.sign_out()
    browser.sign_in(people["officer"].email)
    assert "Tactical commander Confirmed" in browser.get("/learn").text


def _csv_rows(response) -> list[list[str]]:
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    return rows[next(i for i, row in enumerate(rows) if not any(row)) + 1:]


def test_an_exercise_rule_is_a_column_of_the_dashboard_and_every_download(
        browser, session, people, organisation, other_organisation):
    browser.sign_in(people["manager-a"].email)
    page = browser.submit("/manage/requirements", {
        "course_id": "exercise", "months": "x", "organisation_id": str(organisation.id)})
    assert page.status == 400
    assert page.error_links() == {"Enter the number of months, from 1 to 120": "months"}
    page = browser.submit("/manage/requirements", {
        "course_id": "exercise", "months": "36", "organisation_id": str(organisation.id),
        "command_role": "tactical"})
    assert ("Rule added: A multi-agency exercise within 36 months required of Northshire "
            "Police, tactical commander.") in page.notifications[0]
    dashboard = browser.get("/manage/compliance")
    assert "EXERCISE-36" in dashboard.text
    detail = browser.client.get("/manage/compliance/download/detail.csv")
    olive = [row for row in _csv_rows(detail) if row[0] == "Olive Officer"]
    assert [row[5:8] for row in olive] == [
        ["EXERCISE-36", "Multi-agency exercise (36 months)", "Not started"]]

    _record(browser, organisation, other_organisation)
    exercise = session.scalar(select(Exercise))
    browser.submit(f"/exercises/{exercise.id}/participants/add",
                   {"user_id": str(people["officer"].id), "role": "tactical"})
    participant = session.scalar(select(ExerciseParticipant))
    browser.submit(f"/exercises/{exercise.id}/participants/{participant.id}/confirm", {},
                   form_url=f"/exercises/{exercise.id}")
    detail = _csv_rows(browser.client.get("/manage/compliance/download/detail.csv"))
    olive = next(row for row in detail if row[0] == "Olive Officer")
    assert olive[5:10] == ["EXERCISE-36", "Multi-agency exercise (36 months)", "In date",
                           "2026-03-14", "2029-03-14"]
    by_person = _csv_rows(browser.client.get("/manage/compliance/download/by-person.csv"))
    column = by_person[0].index("EXERCISE-36: Multi-agency exercise (36 months)")
    olive = next(row for row in by_person if row[0] == "Olive Officer")
    assert olive[column] == "In date until 2029-03-14"
    for kind in ("report.xlsx", "summary.pdf"):
        assert browser.client.get(f"/manage/compliance/download/{kind}").status_code == 200
    filtered = browser.get("/manage/compliance?course=-36")
    assert filtered.status == 200 and not filtered.errors
    browser.sign_out()
    browser.sign_in(people["manager-b"].email)  # the rule is Northshire's: not theirs
    assert "EXERCISE-36" not in " ".join(
        row[5] for row in _csv_rows(browser.client.get("/manage/compliance/download/detail.csv"))
        if len(row) > 5)


def test_a_participants_role_is_their_own_unless_chosen(browser, session, people,
                                                        organisation, other_organisation):
    browser.sign_in(people["trainer"].email)
    _record(browser, organisation, other_organisation)
    exercise = session.scalar(select(Exercise))
    base = f"/exercises/{exercise.id}"
    found = browser.get(f"{base}/participants/add?q=olive")
    checked = found.soup.find("input", attrs={"name": "role", "checked": True})
    assert checked["value"] == "tactical"  # Olive is a tactical commander
    assert "Tactical commander" in found.text
    browser.submit(f"{base}/participants/add", {"user_id": str(people["officer"].id)},
                   form_url=f"{base}/participants/add?q=olive")
    olive = session.scalar(select(ExerciseParticipant).where(
        ExerciseParticipant.user_id == people["officer"].id))
    assert olive.role == "tactical"


def test_a_manager_cannot_confirm_their_own_attendance(browser, session, make, people,
                                                       organisation, other_organisation):
    browser.sign_in(people["trainer"].email)
    _record(browser, organisation, other_organisation)
    exercise = session.scalar(select(Exercise))
    base = f"/exercises/{exercise.id}"
    browser.sign_out()
    manager = people["manager-a"]
    browser.sign_in(manager.email)
    browser.submit(f"{base}/participants/add", {"user_id": str(manager.id),
                                                "role": "tactical"},
                   form_url=f"{base}/participants/add")
    own = session.scalar(select(ExerciseParticipant).where(
        ExerciseParticipant.user_id == manager.id))
    page = browser.get(base)
    assert "Another manager confirms your own attendance" in page.text
    page = browser.submit(f"{base}/participants/{own.id}/confirm", {}, form_url=base)
    assert page.status == 200
    assert "must confirm your own attendance" in page.notifications[0]
    session.expire_all()
    assert session.get(ExerciseParticipant, own.id).confirmed_at is None
    # Another manager of the organisation may.
    browser.sign_out()
    colleague = make.user(organisation=organisation, permissions={"manager"})
    browser.sign_in(colleague.email)
    page = browser.submit(f"{base}/participants/{own.id}/confirm", {}, form_url=base)
    assert "attendance has been confirmed" in page.notifications[0]


def test_the_organisations_are_grouped_by_service(browser, people, organisation,
                                                  other_organisation):
    browser.sign_in(people["trainer"].email)
    page = browser.get("/exercises/new")
    summaries = [s.get_text(" ", strip=True) for s in page.soup.select("summary")]
    assert summaries == ["Police (1)", "Fire and rescue (1)"]
    assert not page.soup.select("details[open]")
    # Sent back with a problem: the chosen organisation's service is open and says so.
    page = _record(browser, organisation, other_organisation, title="",
                   organisation_ids=[str(organisation.id)])
    assert [d.find("summary").get_text(" ", strip=True)
            for d in page.soup.select("details[open]")] == ["Police (1, 1 selected)"]
    assert page.soup.find("input", id="organisation_ids")["value"] == str(organisation.id)
