"""Exercises: recording one, who sees which participants, who may add and confirm them, a
file of participants checked row by row, learning points for Joint Organisational Learning,
the audit trail of every change, and a rule requiring an exercise within some months as a
column of compliance."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import select

from jesip_learn.compliance.dashboard import compliance_matrix
from jesip_learn.compliance.person_status import due_dates, iter_learner_statuses, person_statuses
from jesip_learn.compliance.report_filters import ReportFilters, today_in_london
from jesip_learn.compliance.requirements import RuleError, required_columns
from jesip_learn.exercises import recorded as exercises
from jesip_learn.exercises.access import (
    addable_organisation_ids,
    can_confirm,
    can_confirm_attendance,
    can_edit,
    can_view,
    shows_contact,
)
from jesip_learn.exercises.learning_points import add_learning_point, jol_rows
from jesip_learn.exercises.participants import (
    add_participant,
    add_planned,
    confirm_attendance,
    find_people,
    participants_seen_by,
    plan_participants,
    remove_participant,
)
from jesip_learn.exercises.recorded import ExerciseDetails, ExerciseError
from jesip_learn.exercises.rules import (
    add_exercise_rule,
    describe_exercise_rule,
    remove_exercise_rule,
)
from jesip_learn.records.models import AuditEvent
from tests.support.factories import make_organisation, make_user

HELD = date(2026, 3, 14)


@pytest.fixture
def world(session):
    police = make_organisation(session, name="Westshire Police")
    fire = make_organisation(session, name="Westshire Fire", service="fire")
    ambulance = make_organisation(session, name="Westshire Ambulance", service="ambulance")
    people = {
        "trainer": make_user(session, organisation=police, permissions={"trainer"}),
        "police-manager": make_user(session, organisation=police, permissions={"manager"}),
        "fire-manager": make_user(session, organisation=fire, permissions={"manager"}),
        "ambulance-manager": make_user(session, organisation=ambulance,
                                       permissions={"manager"}),
        "admin": make_user(session, organisation=ambulance, permissions={"admin"}),
        "learner": make_user(session, organisation=police),
        "constable": make_user(session, organisation=police, name="Pat Constable",
                               email="pat@westshire.police.uk", command_role="tactical"),
        "firefighter": make_user(session, organisation=fire, name="Fran Firefighter",
                                 email="fran@westshire.fire.uk", command_role="tactical"),
        "paramedic": make_user(session, organisation=ambulance, name="Paul Paramedic"),
    }
    return {"police": police, "fire": fire, "ambulance": ambulance, **people}


def _details(world, **changes) -> ExerciseDetails:
    values = {"title": "Operation Harbour", "held_on": HELD, "kind": "table-top",
              "location": "Westshire HQ",
              "organisation_ids": (world["police"].id, world["fire"].id),
              "command_roles": ("tactical",), "principles": ("co-locate", "communicate"),
              "jdm_stages": ("information",)}
    return ExerciseDetails(**{**values, **changes})


@pytest.fixture
def exercise(session, world):
    return exercises.record_exercise(session, world["trainer"], _details(world))


def test_recording_keeps_the_details_in_their_canonical_order(session, world):
    recorded = exercises.record_exercise(session, world["trainer"], _details(
        world, title="  Operation   Harbour ", principles=("communicate", "co-locate"),
        command_roles=("strategic", "tactical")))
    assert recorded.title == "Operation Harbour"
    assert recorded.principles == ["co-locate", "communicate"]
    assert recorded.command_roles == ["tactical", "strategic"]
    assert [o.name for o in recorded.organisations] == ["Westshire Fire", "Westshire Police"]
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "exercise.recorded"))
    assert event.details["exercise_id"] == recorded.id


@pytest.mark.parametrize(("changes", "field"), [
    ({"title": " "}, "title"),
    ({"title": "x" * 201}, "title"),
    ({"held_on": None}, "held_on"),
    ({"held_on": "tomorrow"}, "held_on"),
    ({"kind": "rehearsal"}, "kind"),
    ({"organisation_ids": ()}, "organisation_ids"),
    ({"principles": ("speed",)}, "principles"),
    ({"jdm_stages": ("guess",)}, "jdm_stages"),
    ({"command_roles": ("general",)}, "command_roles"),
])
def test_each_bad_detail_is_named(session, world, changes, field):
    if changes.get("held_on") == "tomorrow":
        changes["held_on"] = today_in_london() + timedelta(days=1)
    if field == "organisation_ids" and not changes["organisation_ids"]:
        changes["organisation_ids"] = (world["police"].id,)
    with pytest.raises(ExerciseError) as raised:
        exercises.record_exercise(session, world["trainer"], _details(world, **changes))
    assert raised.value.field == field


def test_only_trainers_managers_and_administrators_record(session, world):
    with pytest.raises(PermissionError):
        exercises.record_exercise(session, world["learner"], _details(world))
    for role in ("police-manager", "admin"):
        assert exercises.record_exercise(session, world[role], _details(world)).id


def test_who_sees_the_exercise_and_which_participants(session, world, exercise):
    add_participant(session, world["trainer"], exercise, world["constable"],
                    "tactical")
    add_participant(session, world["fire-manager"], exercise, world["firefighter"],
                    "tactical")
    seen = {role: [p.user.name for p in participants_seen_by(session, world[role],
                                                             exercise)]
            for role in ("trainer", "admin", "police-manager", "fire-manager")}
    assert seen["trainer"] == seen["admin"] == ["Fran Firefighter", "Pat Constable"]
    assert seen["police-manager"] == ["Pat Constable"]
    assert seen["fire-manager"] == ["Fran Firefighter"]
    assert not can_view(session, world["ambulance-manager"], exercise)
    assert exercises.exercises_for(session, world["ambulance-manager"]) == []
    assert exercises.exercises_for(session, world["fire-manager"]) == [exercise]
    assert not can_edit(world["fire-manager"], exercise)


def test_a_manager_adds_and_confirms_their_own_staff_only(session, world, exercise):
    fire_manager = world["fire-manager"]
    with pytest.raises(ExerciseError, match="Select a person from the search results"):
        add_participant(session, fire_manager, exercise, world["constable"], "staff")
    assert find_people(session, fire_manager, exercise, "pat") == []
    assert find_people(session, world["trainer"], exercise, "PAT") == [
        world["constable"]]
    found = find_people(session, fire_manager, exercise, "westshire.fire")
    assert found == [world["firefighter"]]
    fran = add_participant(session, fire_manager, exercise, found[0], "operational")
    pat = add_participant(session, world["trainer"], exercise, world["constable"],
                          "tactical")
    with pytest.raises(PermissionError):
        confirm_attendance(session, fire_manager, pat)
    with pytest.raises(PermissionError):  # recording it is not managing the people
        confirm_attendance(session, world["trainer"], pat)
    assert confirm_attendance(session, fire_manager, fran)
    assert not confirm_attendance(session, fire_manager, fran)
    assert fran.confirmed_by_id == fire_manager.id and fran.confirmed_at is not None
    assert confirm_attendance(session, world["admin"], pat)
    with pytest.raises(ExerciseError, match="already been added"):
        add_participant(session, world["trainer"], exercise, world["constable"],
                        "staff")
    actions = list(session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("exercise.%")).order_by(AuditEvent.id)))
    assert actions == ["exercise.recorded", "exercise.participant_added",
                       "exercise.participant_added", "exercise.attendance_confirmed",
                       "exercise.attendance_confirmed"]


def test_an_organisation_with_participants_is_not_dropped(session, world, exercise):
    participant = add_participant(session, world["fire-manager"], exercise,
                                  world["firefighter"], "staff")
    moved = _details(world, organisation_ids=(world["police"].id, world["ambulance"].id))
    with pytest.raises(ExerciseError, match="Westshire Fire"):
        exercises.update_exercise(session, world["trainer"], exercise, moved)
    remove_participant(session, world["trainer"], participant)
    exercises.update_exercise(session, world["trainer"], exercise, moved)
    assert [o.name for o in exercise.organisations] == ["Westshire Ambulance",
                                                        "Westshire Police"]
    with pytest.raises(PermissionError):
        exercises.update_exercise(session, world["police-manager"], exercise, moved)


def test_a_file_of_participants_is_checked_row_by_row(session, world, exercise):
    text = ("Email,Role\n"
            "pat@westshire.police.uk,\n"
            f"{world['police-manager'].email},Operational commander\n"
            "nobody@example.org,staff\n"
            "pat@westshire.police.uk,staff\n"
            f"{world['paramedic'].email},staff\n"
            f"{world['learner'].email},general\n"
            ",staff\n")
    planned = plan_participants(session, world["trainer"], exercise, text)
    assert [(row.line, row.role, bool(row.error)) for row in planned] == [
        (2, "tactical", False), (3, "operational", False), (4, "staff", True),
        (5, "staff", True), (6, "staff", True), (7, "general", True), (8, "staff", True)]
    assert planned[2].error == ("nobody@example.org is not someone you can add: their own "
                                "organisation's manager adds them")
    assert "earlier line" in planned[3].error
    paramedic = world["paramedic"].email
    assert planned[4].error == (f"{paramedic} is not someone you can add: their own "
                                "organisation's manager adds them")
    assert "not a command role" in planned[5].error
    assert exercise.participants == []  # the dry run changes nothing
    assert add_planned(session, world["trainer"], exercise, text) == 2
    assert sorted(p.user.name for p in exercise.participants) == [
        "Pat Constable", world["police-manager"].name]


def test_people_of_other_organisations_taking_part_are_added_by_their_own_managers(
        session, world, exercise):
    """Naming an organisation on an exercise opens none of its staff to the recorder:
    a trainer finds and adds the people of their own organisation only, a manager those of
    the organisations they manage, an administrator anyone; never an account that is not
    in use."""
    police = world["police"]
    unapproved = make_user(session, organisation=police, name="Una Unapproved")
    unapproved.approved_at = None
    unconfirmed = make_user(session, organisation=police, name="Uma Unconfirmed")
    unconfirmed.email_confirmed_at = None
    leaver = make_user(session, organisation=police, name="Lee Leaver")
    leaver.is_active = False
    session.flush()
    trainer = world["trainer"]
    assert addable_organisation_ids(session, trainer, exercise) == {police.id}
    for letter in "aeiou":
        found = find_people(session, trainer, exercise, letter)
        assert {person.organisation_id for person in found} <= {police.id}
        assert not {"Una Unapproved", "Uma Unconfirmed", "Lee Leaver"} & {
            person.name for person in found}
    assert find_people(session, trainer, exercise, "fran") == []
    assert find_people(session, trainer, exercise, "westshire.fire") == []
    for person in (world["firefighter"], unapproved, unconfirmed, leaver):
        with pytest.raises(ExerciseError) as raised:
            add_participant(session, trainer, exercise, person, "staff")
        assert raised.value.message == "Select a person from the search results"
    with pytest.raises(ExerciseError) as unknown:
        add_participant(session, trainer, exercise, None, "staff")
    assert unknown.value.message == "Select a person from the search results"
    file = "email\n" + "".join(f"{person.email}\n" for person in (
        world["firefighter"], unapproved, unconfirmed, leaver)) + "no.one@westshire.fire.uk\n"
    rows = plan_participants(session, trainer, exercise, file)
    assert [(row.user, row.role, row.error.split(" is ")[1]) for row in rows] == [
        (None, "", "not someone you can add: their own organisation's manager adds them")] * 5
    assert add_planned(session, trainer, exercise, file) == 0

    # A trainer of an organisation not taking part may add no one at all.
    outsider = make_user(session, organisation=world["ambulance"], permissions={"trainer"})
    theirs = exercises.record_exercise(session, outsider, _details(world))
    assert addable_organisation_ids(session, outsider, theirs) == set()
    assert find_people(session, outsider, theirs, "a") == []

    # Their own managers add them, and an administrator may add anyone in use.
    fire_manager = world["fire-manager"]
    assert find_people(session, fire_manager, exercise, "fran") == [
        world["firefighter"]]
    add_participant(session, fire_manager, exercise, world["firefighter"], "tactical")
    assert find_people(session, world["admin"], exercise, "pat") == [
        world["constable"]]
    assert find_people(session, world["admin"], exercise, "una") == []
    participant = next(p for p in exercise.participants if p.user == world["firefighter"])
    assert not shows_contact(session, trainer, participant)
    assert shows_contact(session, fire_manager, participant)


@pytest.mark.parametrize(("text", "message"), [
    ("", "empty"), ("name\nPat\n", "name the columns"),
    ("email\n" + "a@b.c\n" * 1001, "1000 rows"),
])
def test_a_file_that_cannot_be_read_says_why(session, world, exercise, text, message):
    with pytest.raises(ExerciseError, match=message):
        plan_participants(session, world["trainer"], exercise, text)


def test_learning_points_for_joint_organisational_learning(session, world, exercise):
    add_learning_point(session, world["trainer"], exercise,
                       text="=HYPERLINK(\"x\") Co-locate sooner",
                       principle="co-locate", jdm_stage="information", for_jol=True)
    add_learning_point(session, world["trainer"], exercise, text="Local only",
                       principle=None, jdm_stage=None, for_jol=False)
    with pytest.raises(ExerciseError):
        add_learning_point(session, world["trainer"], exercise, text=" ",
                           principle=None, jdm_stage=None, for_jol=False)
    with pytest.raises(ExerciseError):
        add_learning_point(session, world["trainer"], exercise, text="x",
                           principle="speed", jdm_stage=None, for_jol=False)
    with pytest.raises(PermissionError):
        add_learning_point(session, world["fire-manager"], exercise, text="x",
                           principle=None, jdm_stage=None, for_jol=False)
    rows = jol_rows(session, world["fire-manager"])
    assert rows == [("Operation Harbour", HELD, "Table-top", "Westshire HQ",
                     "Westshire Fire; Westshire Police", "Co-locate",
                     "Gather information and intelligence",
                     "=HYPERLINK(\"x\") Co-locate sooner")]
    assert jol_rows(session, world["ambulance-manager"]) == []


def test_a_learner_sees_the_exercises_they_took_part_in(session, world, exercise):
    add_participant(session, world["trainer"], exercise, world["constable"],
                    "tactical")
    assert [p.exercise for p in exercises.exercises_of(session, world["constable"])] == [
        exercise]
    assert exercises.exercises_of(session, world["firefighter"]) == []


# --- an exercise within N months, as a column of compliance ------------------------------------


def _states(session, scope, as_of: date) -> dict[str, str]:
    filters = ReportFilters(as_of=as_of)
    return {row.name: row.state for row in iter_learner_statuses(session, scope,
                                                                            filters)
            if row.course_code == "EXERCISE-36"}


def test_a_rule_requires_an_exercise_within_months_of_commanders(session, world, exercise):
    with pytest.raises(RuleError) as raised:
        add_exercise_rule(session, world["admin"], months="0", service=None,
                          organisation_id=None, command_role="tactical")
    assert raised.value.field == "months"
    with pytest.raises(RuleError) as raised:  # a manager names their own organisation
        add_exercise_rule(session, world["police-manager"], months="36",
                          service=None, organisation_id=None, command_role=None)
    assert raised.value.field == "organisation_id"
    rule = add_exercise_rule(session, world["admin"], months="36", service=None,
                             organisation_id=None, command_role="tactical")
    assert describe_exercise_rule(rule) == (
        "A multi-agency exercise within 36 months required of tactical commander")
    with pytest.raises(RuleError, match="already exists"):
        add_exercise_rule(session, world["admin"], months="36", service=None,
                          organisation_id=None, command_role="tactical")
    columns = required_columns(session)
    assert (columns[-1].id, columns[-1].code, columns[-1].title) == (
        -36, "EXERCISE-36", "Multi-agency exercise (36 months)")

    today = today_in_london()
    assert _states(session, None, today) == {"Pat Constable": "not-started",
                                             "Fran Firefighter": "not-started"}
    pat = add_participant(session, world["trainer"], exercise, world["constable"],
                          "tactical")
    add_participant(session, world["fire-manager"], exercise, world["firefighter"],
                    "tactical")
    assert set(_states(session, None, today).values()) == {"in-progress"}
    confirm_attendance(session, world["police-manager"], pat)
    assert _states(session, None, today) == {"Pat Constable": "in-date",
                                             "Fran Firefighter": "in-progress"}
    # Held on 14 March 2026: in date for 36 months, expiring in the last 90 days of them.
    assert _states(session, None, date(2028, 12, 1))["Pat Constable"] == "in-date"
    assert _states(session, None, date(2029, 1, 1))["Pat Constable"] == "expiring"
    assert _states(session, None, date(2029, 3, 14))["Pat Constable"] == "expired"

    police_only = {world["police"].id}
    assert _states(session, police_only, today) == {"Pat Constable": "in-date"}
    row = next(row for row in person_statuses(
        session, world["constable"], ReportFilters(as_of=today))
        if row.course_code == "EXERCISE-36")
    assert row.course_title == "Multi-agency exercise (36 months)"
    assert (row.completed_at.date(), row.expires_at.date()) == (HELD, date(2029, 3, 14))
    matrix = compliance_matrix(session, None, ReportFilters(as_of=today))
    police_row = next(r for r in matrix.rows if r.label == "Westshire Police")
    assert police_row.cells[-36].counts["in-date"] == 1
    fire_row = next(r for r in matrix.rows if r.label == "Westshire Fire")
    assert fire_row.cells[-36].counts["in-progress"] == 1
    # Reminders come due the rule's months after the exercise, once attendance is confirmed.
    due = {(d.user_id, d.course_id): d.due_at for d in due_dates(
        session, None, ReportFilters(as_of=today)) if d.course_id < 0}
    assert due[(world["constable"].id, -36)].date() == date(2029, 3, 14)
    assert due[(world["firefighter"].id, -36)] is None
    remove_exercise_rule(session, world["admin"], rule)
    assert _states(session, None, today) == {}


def test_nobody_confirms_their_own_attendance(session, world, exercise):
    fire_manager = world["fire-manager"]
    own = add_participant(session, fire_manager, exercise, fire_manager, "tactical")
    assert can_confirm(session, fire_manager, own)
    assert not can_confirm_attendance(session, fire_manager, own)
    with pytest.raises(PermissionError):
        confirm_attendance(session, fire_manager, own)
    assert own.confirmed_at is None
