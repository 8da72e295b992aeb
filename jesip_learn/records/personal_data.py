"""Personal data over its life: what is held about a person (subject access), and
anonymising it after the retention period or on request (erasure).

Anonymising keeps the account row and everything the organisation's figures are made of
(completions, progress, quiz scores, scenario results and points, when the account began,
was approved and ended, previous memberships), so every compliance figure, past and present,
stays the same. It replaces the name and email address, makes the password and two-step
verification unusable, deletes what exists only for the person (sign-in tokens, recovery
codes, throttling records, email preferences, subscriptions, emails owed or sent), blanks
the METHANE messages they wrote (free text that may name people), replaces the text of what
they sent in live exercises while each entry keeps its place in the session's log
(`exercises/live/erasure.py`), and removes their name and email address from the audit log
and from the learning record statements waiting here. Quiz answers, and the options chosen
in live exercises' decisions, are choices among a course's options, not free text, so they
are kept with their scores.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import Text, cast, delete, func, or_, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import (
    LoginFailure,
    OneTimeToken,
    Permission,
    PreviousMembership,
    RecoveryCode,
    TransferRequest,
    TwoStepPending,
    User,
)
from jesip_learn.accounts.organisations import escape_like
from jesip_learn.accounts.transfers import membership_history
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Base
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.typed_text import control_character_problem
from jesip_learn.courses.models import Course, CourseEditor
from jesip_learn.exercises.live import erasure as live_erasure
from jesip_learn.learning.models import Completion, ItemProgress, QuizAttempt, ScenarioRun
from jesip_learn.learning.progress import add_months
from jesip_learn.notifications.models import Notice, NotificationPreference, ReportSubscription
from jesip_learn.records.audit import record_event
from jesip_learn.records.models import Anonymisation, AuditEvent
from jesip_learn.sso.models import SsoIdentity
from jesip_learn.xapi.models import XapiStatement

DEFAULT_RETENTION_YEARS = 6
ANONYMISED_DOMAIN = "anonymised.invalid"


def retention_years(config: Mapping) -> int:
    """RECORDS_RETENTION_YEARS, checked: a whole number of years, at least 1."""
    try:
        years = int(config.get("RECORDS_RETENTION_YEARS", DEFAULT_RETENTION_YEARS))
    except ValueError:
        raise ValueError("RECORDS_RETENTION_YEARS must be a whole number of years") from None
    if years < 1:
        raise ValueError("RECORDS_RETENTION_YEARS must be at least 1")
    return years


class ErasureError(InputError, ValueError):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def anonymised_name(user_id: int) -> str:
    return f"Former user {user_id}"


def anonymised_email(user_id: int) -> str:
    return f"former-user-{user_id}@{ANONYMISED_DOMAIN}"


def anonymisation_of(session: Session, user: User) -> Anonymisation | None:
    return session.scalar(select(Anonymisation).where(Anonymisation.user_id == user.id))


# --- leavers past the retention period ----------------------------------------------------


@dataclass(frozen=True, slots=True)
class Leaver:
    user_id: int
    organisation_id: int
    left_at: datetime


def retention_cutoff(now: datetime, years: int) -> datetime:
    """People who left before this moment have been kept long enough."""
    if years < 1:
        raise ValueError("the retention period must be at least one year")
    return add_months(now, -12 * years)


def leavers_past_retention(session: Session, *, now: datetime, years: int) -> list[Leaver]:
    """Deactivated accounts, not yet anonymised, that left before the cutoff. An account
    with no record of when it ended (a refused registration) left at its last sign-in, or
    when it was made."""
    cutoff = retention_cutoff(now, years)
    anonymised = select(Anonymisation.user_id)
    rows = session.execute(
        select(User.id, User.organisation_id, User.deactivated_at, User.created_at,
               User.last_sign_in_at)
        .where(User.is_active.is_(False), User.id.not_in(anonymised),
               or_(User.deactivated_at < cutoff, User.deactivated_at.is_(None)))
        .order_by(User.id))
    leavers = []
    for user_id, organisation_id, deactivated_at, created_at, last_sign_in_at in rows:
        left_at = deactivated_at or max(created_at, last_sign_in_at or created_at)
        if left_at < cutoff:
            leavers.append(Leaver(user_id, organisation_id, left_at))
    return leavers


@dataclass(frozen=True, slots=True)
class PurgeResult:
    cutoff: datetime
    leavers: list[Leaver]
    dry_run: bool


def purge(session: Session, *, now: datetime | None = None, years: int = DEFAULT_RETENTION_YEARS,
          dry_run: bool = False) -> PurgeResult:
    """Anonymise every leaver past the retention period (or, with dry_run, only say who)."""
    now = now or utcnow()
    leavers = leavers_past_retention(session, now=now, years=years)
    cutoff = retention_cutoff(now, years)
    if not dry_run:
        for leaver in leavers:
            anonymise(session, session.get(User, leaver.user_id), grounds="retention",
                      reason=f"Left on {leaver.left_at:%Y-%m-%d}, more than {years} years ago")
        record_event(session, "records.purged",
                     summary=f"Anonymised {len(leavers)} people who left before "
                             f"{cutoff:%Y-%m-%d}",
                     details={"count": len(leavers), "retention_years": years,
                              "cutoff": cutoff.isoformat(),
                              "user_ids": [leaver.user_id for leaver in leavers]})
    return PurgeResult(cutoff, leavers, dry_run)


# --- anonymising one person ---------------------------------------------------------------


def anonymise(session: Session, user: User, *, grounds: str, reason: str,
              actor: User | None = None, address: str = "") -> Anonymisation:
    """Replace the person's details for good, keeping what the figures are made of."""
    if anonymisation_of(session, user) is not None:
        raise ErasureError("user", "This person’s details have already been anonymised")
    now = utcnow()
    old_name, old_email = user.name, user.email
    user.name, user.email = anonymised_name(user.id), anonymised_email(user.id)
    user.password_hash = ""  # matches no password
    user.mfa_secret = user.mfa_enabled_at = user.mfa_last_step = None
    user.last_sign_in_at = None
    user.session_epoch += 1
    if user.is_active:
        user.is_active, user.deactivated_at = False, now
    for grant in [g for g in user.grants if g.permission != Permission.LEARNER]:
        user.grants.remove(grant)
    for model, column in ((RecoveryCode, RecoveryCode.user_id),
                          (TwoStepPending, TwoStepPending.user_id),
                          (OneTimeToken, OneTimeToken.user_id),
                          (NotificationPreference, NotificationPreference.user_id),
                          (ReportSubscription, ReportSubscription.user_id),
                          (Notice, Notice.recipient_id),
                          (SsoIdentity, SsoIdentity.user_id)):
        session.execute(delete(model).where(column == user.id))
    session.execute(delete(LoginFailure).where(func.lower(LoginFailure.email) == old_email))
    for run in session.scalars(select(ScenarioRun).where(ScenarioRun.user_id == user.id)):
        run.methane = {step: ["" for _ in texts] for step, texts in (run.methane or {}).items()}
    live_erasure.remove_words_of(session, user.id)
    replacements = {old_email: user.email, old_name: user.name}
    for event in _audit_events_naming(session, user.id, old_email):
        event.details = _replaced(event.details or {}, replacements)
        event.summary = _replaced(event.summary or "", replacements)
    for statement in _outbox_statements_of(session, user.id, old_name, old_email):
        statement.statement = _anonymised_statement(statement.statement, user)
        statement.summary = _replaced(statement.summary or "", replacements)
    anonymisation = Anonymisation(user_id=user.id, grounds=grounds, reason=reason,
                                  actor_id=actor.id if actor else None, anonymised_at=now)
    session.add(anonymisation)
    why = "on request" if grounds == "request" else "retention period over"
    record_event(session, "records.anonymised", actor=actor, subject=user, address=address,
                 summary=f"Details anonymised ({why})", details={"grounds": grounds})
    session.flush()
    return anonymisation


def _audit_events_naming(session: Session, user_id: int, email: str) -> Iterator[AuditEvent]:
    pattern = f"%{escape_like(email)}%"
    return session.scalars(select(AuditEvent).where(or_(
        AuditEvent.subject_user_id == user_id, AuditEvent.actor_id == user_id,
        func.lower(cast(AuditEvent.details, Text)).like(pattern, escape="\\"))))


def _replaced(value, replacements: dict[str, str]):
    """The value (text, or JSON of lists and dicts) with each old text replaced."""
    if isinstance(value, str):
        for old, new in replacements.items():
            if old:
                value = value.replace(old, new)
        return value
    if isinstance(value, list):
        return [_replaced(item, replacements) for item in value]
    if isinstance(value, dict):
        return {key: _replaced(item, replacements) for key, item in value.items()}
    return value


def _outbox_statements_of(session: Session, user_id: int, name: str,
                          email: str) -> list[XapiStatement]:
    """Statements whose actor is the person. Every statement names its actor, so only
    those holding the name (as JSON writes it) are read."""
    pattern = f"%{escape_like(json.dumps(name)[1:-1])}%"
    candidates = session.scalars(select(XapiStatement).where(
        cast(XapiStatement.statement, Text).like(pattern, escape="\\")))
    return [row for row in candidates if _is_actor(row.statement, user_id, email)]


def _is_actor(statement: dict, user_id: int, email: str) -> bool:
    actor = (statement or {}).get("actor") or {}
    return ((actor.get("account") or {}).get("name") == str(user_id)
            or actor.get("mbox") == f"mailto:{email}")


def _anonymised_statement(statement: dict, user: User) -> dict:
    actor = dict(statement.get("actor") or {})
    actor["name"] = user.name
    if "mbox" in actor:
        actor["mbox"] = f"mailto:{user.email}"
    return {**statement, "actor": actor}


# --- erasure on request -------------------------------------------------------------------


def _checked_reason(reason: str) -> str:
    if problem := control_character_problem(reason or "", "The reason", multi_line=True):
        raise ErasureError("reason", problem)
    reason = " ".join((reason or "").split())
    if not reason:
        raise ErasureError("reason", "Enter the reason for the decision")
    if len(reason) > 1000:
        raise ErasureError("reason", "The reason must be 1000 characters or fewer")
    return reason


def check_erasure(session: Session, actor: User, user: User, reason: str) -> str:
    """The reason, checked; ErasureError when this erasure cannot be made."""
    if user.id == actor.id:
        raise ErasureError("decision", "You cannot erase your own account: ask another "
                           "administrator")
    if anonymisation_of(session, user) is not None:
        raise ErasureError("decision", "This person’s details have already been anonymised")
    return _checked_reason(reason)


def erase_on_request(session: Session, actor: User, user: User, *, reason: str,
                     address: str = "") -> Anonymisation:
    """The person asked for their data to be erased and the law allows it here."""
    reason = check_erasure(session, actor, user, reason)
    return anonymise(session, user, grounds="request", reason=reason, actor=actor,
                     address=address)


def refuse_erasure(session: Session, actor: User, user: User, *, reason: str,
                   address: str = "") -> AuditEvent:
    """The person asked for erasure, but the records must be kept (the reason says why)."""
    reason = _checked_reason(reason)
    return record_event(session, "records.erasure_refused", actor=actor, subject=user,
                        address=address, summary="Request for erasure refused",
                        details={"reason": reason})


# --- subject access -----------------------------------------------------------------------

# Every column that refers to a person, and whether the subject-access export includes the
# rows where it is them (a section) or why not. A new table with a column referring to
# users.id must be added to one or the other (a test checks).
EXPORTED = {
    ("permission_grants", "user_id"): ("permissions", "Permissions"),
    ("previous_memberships", "user_id"): ("previous_memberships", "Organisations before this one"),
    ("transfer_requests", "user_id"): ("transfer_requests", "Requests to move organisation"),
    ("item_progress", "user_id"): ("progress", "Progress through courses"),
    ("quiz_attempts", "user_id"): ("quiz_attempts", "Quiz attempts and answers"),
    ("quiz_allowances", "user_id"): ("quiz_allowances", "More quiz attempts given to you"),
    ("scenario_runs", "user_id"): ("scenario_runs", "Scenario walkthroughs and METHANE messages"),
    ("completions", "user_id"): ("completions", "Completions and certificates"),
    ("course_editors", "user_id"): ("course_editors", "Courses you may edit"),
    ("notification_preferences", "user_id"): ("notification_preferences", "Email choices"),
    ("report_subscriptions", "user_id"): ("report_subscriptions", "Scheduled reports"),
    ("notices", "recipient_id"): ("notices", "Emails sent or due"),
    ("mfa_recovery_codes", "user_id"): ("recovery_codes", "Two-step recovery codes"),
    ("one_time_tokens", "user_id"): ("links_sent", "Links sent by email"),
    ("anonymisations", "user_id"): ("anonymisation", "Anonymisation"),
    ("exercise_participants", "user_id"): ("exercises", "Exercises you took part in"),
    ("live_participants", "user_id"): ("live_exercises", "Live exercises you took part in"),
    ("live_events", "actor_id"): ("live_messages", "What you sent in live exercises"),
    ("live_sessions", "facilitator_id"): ("live_facilitated", "Live exercises you ran"),
    ("sso_identities", "user_id"): ("sso_identities", "Organisation accounts you sign in with"),
    ("audit_events", "subject_user_id"): ("audit_events", "Audit log entries about you"),
}
NOT_EXPORTED = {
    ("users", "approved_by_id"): "accounts the person approved: other people's records",
    ("audit_events", "actor_id"): "what the person did is included where it was about "
                                  "themselves; what they did to others is those people's record",
    ("anonymisations", "actor_id"): "anonymisations an administrator made of other people",
    ("transfer_requests", "decided_by_id"): "other people's requests the person decided",
    ("completions", "recorded_by_id"): "other people's completions the person recorded",
    ("import_batches", "created_by_id"): "files of other people's details the person uploaded",
    ("requirements", "created_by_id"): "training rules the person added for an organisation",
    ("course_editors", "granted_by_id"): "editors the person named for a course",
    ("quiz_allowances", "granted_by_id"): "more quiz attempts the person gave others",
    ("requirement_acceptances", "decided_by_id"): "courses' requirements the person accepted "
                                                  "or declined for an organisation",
    ("course_versions", "published_by_id"): "course versions the person published",
    ("course_drafts", "created_by_id"): "course drafts the person started",
    ("course_drafts", "updated_by_id"): "course drafts the person edited",
    ("draft_files", "updated_by_id"): "course files the person edited",
    ("exercises", "recorded_by_id"): "exercises the person recorded",
    ("exercise_participants", "added_by_id"): "other people the person added to an exercise",
    ("exercise_participants", "confirmed_by_id"): "other people's attendance the person "
                                                  "confirmed",
    ("learning_points", "created_by_id"): "learning points the person wrote for an exercise",
    ("exercise_requirements", "created_by_id"): "exercise rules the person added for an "
                                                "organisation",
    ("live_participants", "invited_by_id"): "other people the person invited to a live "
                                            "exercise",
    ("live_join_codes", "created_by_id"): "join codes the person made for a live exercise: "
                                          "kept only as hashes, and expiring within days",
    ("mfa_pending", "user_id"): "a two-step key being set up or new recovery codes to show: "
                                "secrets, held for minutes",
    ("sso_flows", "user_id"): "a sign-in with the organisation's account under way: held for "
                              "ten minutes at most",
}
# Secrets kept only as hashes, and the content of emails about other people.
LEFT_OUT = {"password_hash", "mfa_secret", "code_hash", "token_hash"}
EMAIL_BODIES = {"text_body", "html_body"}
PERSONAL_NOTICE_KINDS = {"reminder", "overdue"}


def _json_value(value):
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


def _row(table, values, *, keep_column: str) -> dict:
    """A row as JSON, without secrets and without references to anyone else."""
    row = {}
    for column in table.columns:
        if column.name in LEFT_OUT:
            continue
        refers_to_person = any(fk.column.table.name == "users" for fk in column.foreign_keys)
        if refers_to_person and column.name != keep_column:
            continue
        row[column.name] = _json_value(values[column.name])
    return row


def subject_access(session: Session, user: User, *, now: datetime | None = None) -> dict:
    """Everything held about the person, as JSON-ready data: their profile, then one section
    per kind of record, each row whole except for hashed secrets and references to others."""
    tables = Base.metadata.tables
    course_codes = {id_: code for id_, code in session.execute(select(Course.id, Course.code))}
    sections = {}
    for (table_name, column_name), (key, title) in EXPORTED.items():
        table = tables[table_name]
        query = select(table).where(table.c[column_name] == user.id)
        if table_name == "audit_events":
            query = select(table).where(or_(
                table.c.subject_user_id == user.id,
                (table.c.actor_id == user.id) & table.c.subject_user_id.is_(None)))
        rows = []
        for values in session.execute(query.order_by(*table.primary_key.columns)).mappings():
            row = _row(table, values, keep_column=column_name)
            if table_name == "audit_events":
                row["done_by"] = _done_by(values["actor_id"], user.id)
            if table_name == "notices" and values["kind"] not in PERSONAL_NOTICE_KINDS:
                for body in EMAIL_BODIES:
                    row.pop(body, None)
            if row.get("course_id") in course_codes:
                row["course_code"] = course_codes[row["course_id"]]
            rows.append(row)
        sections[key] = {"title": title, "rows": rows}
    sections["sign_in_failures"] = {"title": "Failed sign-ins with your email address",
                                    "rows": _sign_in_failures(session, user)}
    sections["learning_record_statements"] = {
        "title": "Learning records waiting to be sent, or sent recently",
        "rows": [{"statement_id": row.statement_id, "status": row.status,
                  "created_at": _json_value(row.created_at),
                  "statement": _without_answer_key(row.statement)}
                 for row in _outbox_statements_of(session, user.id, user.name, user.email)]}
    return {
        "format": "JESIP Learn subject access export, version 1",
        "generated_at": (now or utcnow()).isoformat(),
        "person": _profile(session, user),
        "organisations": [
            {"organisation": m.organisation.name, "service": m.organisation.service,
             "command_role": m.command_role, "from": _json_value(m.started_at),
             "until": _json_value(m.ended_at)} for m in membership_history(session, user)],
        "sections": sections,
    }


def _without_answer_key(statement: dict) -> dict:
    """A statement without its question's right answer (`correctResponsesPattern`): the
    answer key is the course's, not data about the person, and a quiz may keep its right
    answers from learners until they pass (show_answers). What the learner answered, and
    whether it was right, stay."""
    definition = ((statement or {}).get("object") or {}).get("definition")
    if not isinstance(definition, dict) or "correctResponsesPattern" not in definition:
        return statement
    kept = {key: value for key, value in definition.items() if key != "correctResponsesPattern"}
    return {**statement, "object": {**statement["object"], "definition": kept}}


def _done_by(actor_id: int | None, user_id: int) -> str:
    if actor_id is None:
        return "the site"
    return "you" if actor_id == user_id else "a member of staff"


def _profile(session: Session, user: User) -> dict:
    table = Base.metadata.tables["users"]
    values = session.execute(select(table).where(table.c.id == user.id)).mappings().one()
    profile = _row(table, values, keep_column="id")
    profile["organisation"] = user.organisation.name
    profile["two_step_verification"] = "on" if user.mfa_enabled else "off"
    return profile


def _sign_in_failures(session: Session, user: User) -> list[dict]:
    failures = session.scalars(select(LoginFailure)
                               .where(func.lower(LoginFailure.email) == user.email.lower())
                               .order_by(LoginFailure.at))
    return [{"id": f.id, "at": _json_value(f.at), "address": f.address} for f in failures]


def record_counts(session: Session, user: User) -> dict[str, int]:
    """How many of each kind of training record the person has: what anonymising keeps."""
    counts = {}
    for name, model in (("completions", Completion), ("progress", ItemProgress),
                        ("quiz_attempts", QuizAttempt), ("scenario_runs", ScenarioRun),
                        ("previous_memberships", PreviousMembership),
                        ("transfer_requests", TransferRequest),
                        ("course_editors", CourseEditor)):
        counts[name] = session.scalar(select(func.count()).select_from(model)
                                      .where(model.user_id == user.id))
    return counts
