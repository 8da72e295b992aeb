"""The subject access export: it holds every record of the person, in every table that refers
to them, and none of anyone else's; every column that refers to a person is exported or left
out for a reason; and the person's copy of their quiz statements leaves out the right
answers."""

from __future__ import annotations

import json
from datetime import date, timedelta

from sqlalchemy import select

from jesip_learn.accounts import transfers
from jesip_learn.accounts.models import (
    LoginFailure,
    OneTimeToken,
    PreviousMembership,
    RecoveryCode,
    TokenPurpose,
)
from jesip_learn.core.db import Base
from jesip_learn.courses.models import CourseEditor
from jesip_learn.exercises.live.models import LiveEvent, LiveParticipant, LiveSession
from jesip_learn.exercises.models import Exercise, ExerciseParticipant
from jesip_learn.learning.models import ItemProgress, QuizAllowance, QuizAttempt, ScenarioRun
from jesip_learn.notifications.models import Notice, NotificationPreference, ReportSubscription
from jesip_learn.records import personal_data as records
from jesip_learn.records.audit import record_event
from jesip_learn.records.models import AuditEvent
from jesip_learn.sso.models import SsoIdentity, SsoProvider
from jesip_learn.xapi.models import XapiStatement
from tests.support.factories import make_organisation, make_user
from tests.support.records import NOW, START, complete

# --- subject access ------------------------------------------------------------------------------


def test_every_column_that_refers_to_a_person_is_exported_or_left_out_for_a_reason():
    referring = {(table.name, column.name) for table in Base.metadata.tables.values()
                 for column in table.columns for fk in column.foreign_keys
                 if fk.column.table.name == "users" and fk.column.name == "id"}
    assert referring, "no column refers to users.id?"
    uncovered = referring - set(records.EXPORTED) - set(records.NOT_EXPORTED)
    assert uncovered == set(), "add these to records.EXPORTED or records.NOT_EXPORTED"
    assert not set(records.EXPORTED) & set(records.NOT_EXPORTED)


def _everything_about(session, person, course, other):
    """A row for the person in every table the export covers."""
    request = transfers.request_transfer(session, person, organisation_id=other.organisation_id,
                                         command_role="staff")
    transfers.decline_transfer(session, other, request)
    session.add_all([
        PreviousMembership(user_id=person.id, organisation_id=person.organisation_id,
                           command_role="staff", started_at=START - timedelta(days=9),
                           ended_at=START - timedelta(days=8)),
        ItemProgress(user_id=person.id, course_id=course.id, item_slug=f"m{person.id}"),
        QuizAttempt(user_id=person.id, course_id=course.id,
                    version_id=course.published_version_id, item_slug="q", question_ids=["a"],
                    option_order={}, answers={"a": ["b"]}),
        QuizAllowance(user_id=person.id, course_id=course.id, item_slug="q", extra_attempts=1,
                      grants=1, granted_at=START, granted_by_id=other.id),
        ScenarioRun(user_id=person.id, course_id=course.id,
                    version_id=course.published_version_id, item_slug="s",
                    methane={"m": [f"METHANE by {person.name}"] + [""] * 6}),
        CourseEditor(course_id=course.id, user_id=person.id, role="editor",
                     granted_by_id=other.id),
        NotificationPreference(user_id=person.id),
        ReportSubscription(user_id=person.id, name=f"Report of {person.name}", file_format="csv",
                           frequency="weekly"),
        Notice(recipient_id=person.id, kind="reminder", subject_key=f"course:{person.id}",
               period="p", to_address=person.email, mail_subject="Reminder",
               text_body=f"Dear {person.name}", html_body=""),
        RecoveryCode(user_id=person.id, code_hash="c" * 64),
        OneTimeToken(purpose=TokenPurpose.PASSWORD_RESET, token_hash=f"{person.id:064d}",
                     user_id=person.id, expires_at=NOW),
        LoginFailure(email=person.email, address="192.0.2.7"),
        ExerciseParticipant(
            exercise=Exercise(title=f"Exercise {person.id}", held_on=date(2024, 1, 1),
                              kind="live", recorded_by_id=other.id,
                              organisations=[person.organisation, other.organisation]),
            user_id=person.id, role="staff", added_by_id=other.id,
            confirmed_by_id=other.id, confirmed_at=START),
        SsoIdentity(user_id=person.id, issuer="https://idp.example.org",
                    subject=f"subject-{person.id}",
                    provider=SsoProvider(name=f"Provider {person.id}", kind="oidc",
                                         issuer_url="https://idp.example.org",
                                         client_id="jesip-learn")),
        XapiStatement(statement_id=f"00000000-0000-0000-0000-{person.id:012d}",
                      statement={"actor": {"name": person.name,
                                           "account": {"homePage": "https://x.test",
                                                       "name": str(person.id)}}}),
    ])
    live = LiveSession(version_id=course.published_version_id, item_slug="x",
                       title=f"Live exercise {person.id}", facilitator_id=person.id,
                       organisation_id=person.organisation_id)
    session.add(live)
    session.flush()
    session.add_all([
        LiveParticipant(session_id=live.id, user_id=person.id, role_id="police-control",
                        invited_by_id=other.id),
        LiveEvent(session_id=live.id, seq=1, kind="message", clock=60, actor_id=person.id,
                  actor_role="police-control", text=f"Message from {person.id}"),
    ])
    complete(session, person, course, START)
    session.flush()


def test_the_export_holds_every_record_of_the_person_and_none_of_anyone_elses(session, course):
    police, fire = make_organisation(session), make_organisation(session, service="fire")
    # Both are managers, so that each can decline the other's request to move.
    person = make_user(session, organisation=police, name="Sam Subject", permissions={"manager"})
    other = make_user(session, organisation=fire, name="Otto Other", permissions={"manager"})
    _everything_about(session, person, course, other)
    _everything_about(session, other, course, person)
    record_event(session, "account.updated", actor=other, subject=person, summary="changed")
    record_event(session, "account.updated", actor=person, subject=other, summary="theirs")

    export = records.subject_access(session, person)
    text = json.dumps(export)
    assert "Otto" not in text and other.email not in text
    assert "password_hash" not in text and "code_hash" not in text and "token_hash" not in text
    assert export["person"]["email"] == person.email
    tables = Base.metadata.tables
    for (table_name, column_name), (key, _title) in records.EXPORTED.items():
        table = tables[table_name]
        held = set(session.scalars(select(table.primary_key.columns[0])
                                   .where(table.c[column_name] == person.id)))
        if table_name == "audit_events":
            held |= set(session.scalars(select(AuditEvent.id).where(
                AuditEvent.actor_id == person.id, AuditEvent.subject_user_id.is_(None))))
        pk = table.primary_key.columns[0].name
        exported = {row[pk] for row in export["sections"][key]["rows"]}
        assert exported == held, table_name
        if table_name != "anonymisations":
            assert held, f"the test made no {table_name} row for the person"
    assert [row["address"] for row in export["sections"]["sign_in_failures"]["rows"]] == [
        "192.0.2.7"]
    statements = export["sections"]["learning_record_statements"]["rows"]
    assert [row["statement"]["actor"]["name"] for row in statements] == ["Sam Subject"]
    runs = export["sections"]["scenario_runs"]["rows"]
    assert runs[0]["methane"] == {"m": ["METHANE by Sam Subject"] + [""] * 6}
    assert [m["until"] is None for m in export["organisations"]] == [False, True]


def test_the_export_leaves_out_the_right_answers_of_quiz_statements(session):
    """The learning record store gets each question's right answer; the person's own copy
    of the statements does not, since a quiz may keep its answers until they pass."""
    person = make_user(session, name="Quinn Quizzer")
    answered = {
        "actor": {"name": person.name, "account": {"homePage": "https://x.test",
                                                   "name": str(person.id)}},
        "verb": {"id": "http://adlnet.gov/expapi/verbs/answered"},
        "object": {"id": "https://x.test/learn/C/quizzes/q/questions/first",
                   "definition": {"interactionType": "choice",
                                  "choices": [{"id": "oa", "description": {"en-GB": "A"}},
                                              {"id": "ob", "description": {"en-GB": "B"}}],
                                  "correctResponsesPattern": ["oa"]}},
        "result": {"response": "ob", "success": False},
    }
    session.add(XapiStatement(statement_id="00000000-0000-0000-0000-000000000001",
                              statement=answered))
    session.flush()
    row, = records.subject_access(session, person)["sections"][
        "learning_record_statements"]["rows"]
    definition = row["statement"]["object"]["definition"]
    assert "correctResponsesPattern" not in definition
    assert definition["choices"] == answered["object"]["definition"]["choices"]
    assert row["statement"]["result"] == {"response": "ob", "success": False}
    stored = session.scalar(select(XapiStatement.statement))
    assert stored["object"]["definition"]["correctResponsesPattern"] == ["oa"]  # still sent
