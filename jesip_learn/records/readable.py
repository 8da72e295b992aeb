"""The subject access export (records.subject_access) told in plain words, section by
section, for the page a person reads; the JSON download beside it holds every field.

Everything here is worked out from the export itself, so the page and the download cannot
disagree; the session only looks up the names of the courses, organisations, exercises and
sign-in providers the export refers to by number.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import (
    COMMAND_ROLE_LABELS,
    PERMISSION_LABELS,
    SERVICE_LABELS,
    Organisation,
    TokenPurpose,
)
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.exercises.live.feed import KIND_LABELS as LIVE_KIND_LABELS
from jesip_learn.exercises.live.models import LiveSession
from jesip_learn.exercises.models import EXERCISE_KIND_LABELS, Exercise
from jesip_learn.notifications.notices import KIND_LABELS as NOTICE_KIND_LABELS
from jesip_learn.sso.models import SsoProvider

LONDON = ZoneInfo("Europe/London")
# A section lists this many records, newest first; the download holds the rest.
LISTED = 25

LINK_PURPOSES = {
    TokenPurpose.PASSWORD_RESET: "A link to reset your password",
    TokenPurpose.EMAIL_CONFIRMATION: "A link to confirm your email address",
    TokenPurpose.FIRST_ADMINISTRATOR: "A link to set up the first administrator",
}
TRANSFER_STATUSES = {"pending": "waiting for a decision", "approved": "approved",
                     "declined": "declined", "cancelled": "cancelled"}
SCENARIO_RESULTS = {"pass": "passed", "fail": "did not pass"}


@dataclass(frozen=True, slots=True)
class ReadableSection:
    key: str
    title: str
    about: str  # what the records are and why they are held, in one or two sentences
    facts: list[tuple[str, str]] = field(default_factory=list)  # shown as a summary list
    lines: list[str] = field(default_factory=list)  # one sentence a record, newest first
    more: int = 0  # records held but not listed here (they are in the download)

    @property
    def is_empty(self) -> bool:
        return not self.facts and not self.lines


def when(value) -> str:
    """A moment of the export (UTC, ISO 8601) as people read it: UK time, in words."""
    if not value:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value) if "T" in value else date.fromisoformat(value)
    if isinstance(value, datetime):
        moment = value.astimezone(LONDON)
        return f"{moment.day} {moment:%B %Y} at {moment:%H:%M}"
    return f"{value.day} {value:%B %Y}"


def day(value) -> str:
    """Only the date of a moment, in UK time."""
    text = when(value)
    return text.split(" at ", 1)[0]


def role_label(code: str | None) -> str:
    return COMMAND_ROLE_LABELS.get(code, code or "no command role")


class _Names:
    """The names of what the export refers to by number, each looked up once."""

    def __init__(self, session: Session, export: dict):
        sections = export["sections"]
        ids = lambda key, column: {row.get(column) for row in sections[key]["rows"]}  # noqa: E731
        organisation_ids = (ids("permissions", "organisation_id")
                            | ids("previous_memberships", "organisation_id")
                            | ids("transfer_requests", "from_organisation_id")
                            | ids("transfer_requests", "to_organisation_id")) - {None}
        self.organisations = dict(session.execute(
            select(Organisation.id, Organisation.name)
            .where(Organisation.id.in_(organisation_ids))).all()) if organisation_ids else {}
        self.courses = {id_: (code, title) for id_, code, title in session.execute(
            select(Course.id, Course.code, CourseVersion.title)
            .outerjoin(CourseVersion, CourseVersion.id == Course.published_version_id))}
        exercise_ids = ids("exercises", "exercise_id") - {None}
        self.exercises = {row.id: row for row in session.execute(
            select(Exercise.id, Exercise.title, Exercise.held_on, Exercise.kind)
            .where(Exercise.id.in_(exercise_ids)))} if exercise_ids else {}
        live_ids = (ids("live_exercises", "session_id") | ids("live_messages", "session_id")
                    | ids("live_facilitated", "id")) - {None}
        self.live_titles = dict(session.execute(
            select(LiveSession.id, LiveSession.title)
            .where(LiveSession.id.in_(live_ids))).all()) if live_ids else {}
        provider_ids = ids("sso_identities", "provider_id") - {None}
        self.providers = dict(session.execute(
            select(SsoProvider.id, SsoProvider.name)
            .where(SsoProvider.id.in_(provider_ids))).all()) if provider_ids else {}

    def live_title(self, id_) -> str:
        return self.live_titles.get(id_, "A live exercise no longer listed")

    def organisation(self, id_) -> str:
        return self.organisations.get(id_, "an organisation no longer listed")

    def course(self, id_) -> str:
        code, title = self.courses.get(id_, (None, None))
        if code is None:
            return "a course no longer listed"
        return f"{title} ({code})" if title else code


def readable_sections(session: Session, export: dict) -> list[ReadableSection]:
    """The export as sections of plain sentences, in the order a person would look."""
    names = _Names(session, export)
    sections = export["sections"]
    rows = {key: section["rows"] for key, section in sections.items()}
    built = [
        _about_you(export),
        _organisations(export, rows),
        _listed("permissions", "What you may do", "Your permissions on JESIP Learn, which "
                "decide the pages you see.", rows["permissions"], lambda row: (
                    f"{PERMISSION_LABELS.get(row['permission'], row['permission'])}"
                    + (f" for {names.organisation(row['organisation_id'])}"
                       if row.get("organisation_id") else "")
                    + (" for an area of organisations" if row.get("area_id") else "")
                    + f", since {day(row['granted_at'])}"), newest="granted_at"),
        _listed("transfer_requests", "Requests to move organisation",
                "When you asked to move to another organisation, and what was decided.",
                rows["transfer_requests"], lambda row: (
                    f"On {day(row['requested_at'])} you asked to move from "
                    f"{names.organisation(row['from_organisation_id'])} to "
                    f"{names.organisation(row['to_organisation_id'])} as "
                    f"{role_label(row['command_role']).lower()}: "
                    f"{TRANSFER_STATUSES.get(row['status'], row['status'])}"
                    + (f" on {day(row['decided_at'])}" if row.get("decided_at") else "")),
                newest="requested_at"),
        _listed("completions", "Training you completed",
                "Each course you completed, with its certificate: what your manager’s "
                "reports and your certificates are made from.", rows["completions"],
                lambda row: _completion(row, names), newest="completed_at"),
        _progress(rows["progress"], names),
        _listed("quiz_attempts", "Quiz attempts",
                "Each attempt at a quiz and its score. The answers you gave are in the "
                "download.", rows["quiz_attempts"], lambda row: _attempt(row, names),
                newest="started_at"),
        _listed("quiz_allowances", "More quiz attempts given to you",
                "Extra attempts at a quiz a trainer or your manager gave you once you had "
                "used up the usual number.", rows["quiz_allowances"], lambda row: (
                    f"{row.get('extra_attempts', 0)} more "
                    f"{'attempt' if row.get('extra_attempts') == 1 else 'attempts'} at the quiz "
                    f"“{row.get('item_slug')}” of {names.course(row['course_id'])}"
                    + (f", last given on {day(row['granted_at'])}" if row.get("granted_at")
                       else "")), newest="granted_at"),
        _listed("scenario_runs", "Scenario walkthroughs",
                "Each time you walked through a scenario, how it ended and any M/ETHANE "
                "message you wrote. The choices you made are in the download.",
                rows["scenario_runs"], lambda row: _run(row, names), newest="started_at"),
        _listed("exercises", "Exercises you took part in",
                "Multi-agency exercises a trainer or manager recorded you at.",
                rows["exercises"], lambda row: _exercise(row, names), newest="added_at"),
        _listed("live_exercises", "Live exercises you took part in",
                "Joint exercises run in the browser that you were invited to or joined, and "
                "the role you played.", rows["live_exercises"], lambda row: (
                    f"{names.live_title(row['session_id'])}"
                    + (f", as {row['role_id']}" if row.get("role_id") else ", no role given")
                    + (f"; joined on {when(row['joined_at'])}" if row.get("joined_at")
                       else "; not joined")), newest="created_at"),
        _listed("live_messages", "What you sent in live exercises",
                "What you shared, sent or answered during live exercises, as the other "
                "participants and the debrief saw it.", rows["live_messages"],
                lambda row: _live_entry(row, names), newest="created_at"),
        _listed("live_facilitated", "Live exercises you ran",
                "Live exercises you created and ran as the facilitator.",
                rows["live_facilitated"], lambda row: (
                    f"{row.get('title')}, created on {day(row['created_at'])}"
                    + (f", ended on {day(row['ended_at'])}" if row.get("ended_at") else "")),
                newest="created_at"),
        _listed("course_editors", "Courses you may edit", "Courses you may change and "
                "publish.", rows["course_editors"], lambda row: (
                    f"{'Owner' if row['role'] == 'owner' else 'Editor'} of "
                    f"{names.course(row['course_id'])}, since {day(row['granted_at'])}"),
                newest="granted_at"),
        _email_choices(rows["notification_preferences"], rows["report_subscriptions"]),
        _listed("notices", "Emails we sent you or will send",
                "Reminders and reports emailed to you. Reminders and overdue notices are "
                "kept whole in the download; others without their text, which is about "
                "other people.", rows["notices"], lambda row: _notice(row),
                newest="created_at"),
        _security(rows),
        _listed("sso_identities", "Organisation accounts you sign in with",
                "The account of your organisation that signs you in here, known by a number "
                "it gave us.", rows["sso_identities"], lambda row: (
                    f"{names.providers.get(row['provider_id'], 'A sign-in provider')}, "
                    f"linked on {day(row['created_at'])}"
                    + (f", last used on {day(row['last_used_at'])}"
                       if row.get("last_used_at") else "")), newest="created_at"),
        _listed("audit_events", "The audit log about you",
                "What was done to your account and records, and when, kept so that changes "
                "can be checked.", rows["audit_events"], lambda row: (
                    f"{when(row['at'])}, {row.get('done_by', 'the site')}: "
                    f"{row.get('summary') or row.get('action')}"), newest="at"),
        _listed("learning_record_statements", "Learning records sent elsewhere",
                "When your organisation has a learning record store, your learning is sent "
                "to it as xAPI statements; these wait to be sent, or were sent recently.",
                rows["learning_record_statements"], lambda row: (
                    f"{when(row['created_at'])}: {row.get('status', '')}"),
                newest="created_at"),
        _listed("anonymisation", "Anonymisation", "When your details were replaced so "
                "that your training stays in the figures without your name.",
                rows["anonymisation"], lambda row: (
                    f"Anonymised on {day(row['anonymised_at'])}"
                    + (" at your request" if row.get("grounds") == "request"
                       else " after the retention period")), newest="anonymised_at"),
    ]
    return built


def _listed(key, title, about, rows, sentence, *, newest: str) -> ReadableSection:
    ordered = sorted(rows, key=lambda row: str(row.get(newest) or ""), reverse=True)
    return ReadableSection(key, title, about, lines=[sentence(row) for row in ordered[:LISTED]],
                           more=max(0, len(ordered) - LISTED))


def _about_you(export: dict) -> ReadableSection:
    person = export["person"]
    facts = [
        ("Name", person.get("name", "")),
        ("Email address", person.get("email", "")),
        ("Organisation", person.get("organisation", "")),
        ("Command role", role_label(person.get("command_role"))),
        ("Account made", when(person.get("created_at"))),
        ("Email address confirmed", when(person.get("email_confirmed_at")) or "Not yet"),
        ("Account approved", when(person.get("approved_at")) or "Not yet"),
        ("Joined your organisation", day(person.get("joined_at")) or "Not known"),
        ("Last signed in", when(person.get("last_sign_in_at")) or "Never"),
        ("Two-step verification", f"On since {day(person['mfa_enabled_at'])}"
         if person.get("mfa_enabled_at") else "Off"),
        ("Account", "Active" if person.get("is_active")
         else f"Closed on {day(person.get('deactivated_at'))}"
         if person.get("deactivated_at") else "Closed"),
    ]
    return ReadableSection(
        "account", "About you", "Your details as your account holds them. Your password "
        "and two-step key are kept only in a form that cannot be read back.", facts=facts)


def _organisations(export: dict, rows: dict) -> ReadableSection:
    lines = []
    for membership in reversed(export["organisations"]):
        service = SERVICE_LABELS.get(membership.get("service"), membership.get("service"))
        until = f"until {day(membership['until'])}" if membership.get("until") else "until now"
        start = f"from {day(membership['from'])}" if membership.get("from") else "from the start"
        lines.append(f"{membership['organisation']} ({service}), "
                     f"{role_label(membership['command_role']).lower()}, {start} {until}")
    return ReadableSection(
        "organisations", "Where you have worked", "The organisations and command roles "
        "you have had here, newest first: they decide which training you must hold.",
        lines=lines)


def _completion(row: dict, names: _Names) -> str:
    text = f"{names.course(row['course_id'])}, completed on {day(row['completed_at'])}"
    if row.get("expires_at"):
        text += f", in date until {day(row['expires_at'])}"
    if row.get("certificate_code"):
        text += f", certificate {row['certificate_code']}"
    if row.get("source"):
        text += f", recorded from {row['source']}"
    return text


def _progress(rows: list[dict], names: _Names) -> ReadableSection:
    by_course: dict = {}
    for row in rows:
        started, finished, latest = by_course.get(row["course_id"], (0, 0, ""))
        moment = str(row.get("completed_at") or row.get("started_at") or "")
        by_course[row["course_id"]] = (started + 1, finished + bool(row.get("completed_at")),
                                       max(latest, moment))
    ordered = sorted(by_course.items(), key=lambda item: item[1][2], reverse=True)
    lines = [f"{names.course(course_id)}: {started} "
             f"{'item' if started == 1 else 'items'} started, {finished} finished, the "
             f"latest on {day(latest)}" for course_id, (started, finished, latest) in ordered]
    return ReadableSection(
        "progress", "Your progress through courses", "Which parts of each course you have "
        "started and finished, so that you can carry on where you stopped.", lines=lines)


def _attempt(row: dict, names: _Names) -> str:
    text = (f"{names.course(row['course_id'])}, quiz “{row['item_slug']}”, started on "
            f"{when(row['started_at'])}")
    if not row.get("submitted_at"):
        return text + ": not sent"
    return (text + f": {row.get('correct')} of {row.get('total')} right "
            f"({row.get('percent')}%), {'passed' if row.get('passed') else 'not passed'}")


def _run(row: dict, names: _Names) -> str:
    text = (f"{names.course(row['course_id'])}, scenario “{row['item_slug']}”, started on "
            f"{when(row['started_at'])}")
    if row.get("finished_at"):
        text += f": {SCENARIO_RESULTS.get(row.get('result'), row.get('result') or 'finished')}"
        text += f", {row.get('points') or 0} points"
    elif row.get("abandoned_at"):
        text += ": left unfinished"
    else:
        text += ": under way"
    message = "; ".join(part for parts in (row.get("methane") or {}).values()
                        for part in (parts if isinstance(parts, list) else [parts])
                        if isinstance(part, str) and part.strip())
    if message:
        text += f"; your M/ETHANE message: “{message}”"
    return text


def _exercise(row: dict, names: _Names) -> str:
    exercise = names.exercises.get(row["exercise_id"])
    if exercise is None:
        text = "An exercise no longer listed"
    else:
        text = (f"{exercise.title} ({EXERCISE_KIND_LABELS.get(exercise.kind, exercise.kind)}"
                f", {day(exercise.held_on)})")
    text += f", as {role_label(row['role']).lower()}"
    if row.get("confirmed_at"):
        return text + f"; attendance confirmed on {day(row['confirmed_at'])}"
    return text + "; attendance not yet confirmed"


def _live_entry(row: dict, names: _Names) -> str:
    kind = LIVE_KIND_LABELS.get(row.get("kind"), row.get("kind") or "Entry")
    text = f"{when(row['created_at'])}, in {names.live_title(row['session_id'])}: {kind}"
    if row.get("text"):
        text += f": “{row['text']}”"
    return text


def _email_choices(preferences: list[dict], subscriptions: list[dict]) -> ReadableSection:
    facts = []
    for row in preferences:
        facts += [("Reminders before training runs out", "On" if row.get("expiry_reminders")
                   else "Off"),
                  ("Notices when training is overdue", "On" if row.get("overdue_notices")
                   else "Off")]
        if row.get("digest_frequency"):
            facts.append(("Manager’s digest", str(row["digest_frequency"]).capitalize()))
    lines = [f"Scheduled report “{row['name']}”, {row['frequency']}, as "
             f"{str(row['file_format']).upper()}, since {day(row['created_at'])}"
             for row in sorted(subscriptions, key=lambda row: str(row.get("created_at")),
                               reverse=True)]
    if not facts and not lines:
        facts = [("Emails", "The site’s usual choices: you have not changed them")]
    return ReadableSection(
        "email_choices", "Your email choices", "Which emails you have chosen to get, and "
        "the reports you asked for.", facts=facts, lines=lines)


def _notice(row: dict) -> str:
    kind = NOTICE_KIND_LABELS.get(row.get("kind"), row.get("kind") or "Email")
    subject = f" “{row['mail_subject']}”" if row.get("mail_subject") else ""
    if row.get("sent_at"):
        return f"{kind}{subject}, sent on {when(row['sent_at'])} to {row.get('to_address')}"
    return f"{kind}{subject}, {row.get('status') or 'waiting'} since {when(row['created_at'])}"


def _security(rows: dict) -> ReadableSection:
    facts = []
    codes = rows["recovery_codes"]
    if codes:
        used = sum(1 for row in codes if row.get("used_at"))
        facts.append(("Two-step recovery codes", f"{len(codes)} made, {used} used (the codes "
                                                 "themselves are not kept readable)"))
    purposes = Counter(row.get("purpose") for row in rows["links_sent"])
    for purpose, count in sorted(purposes.items(), key=lambda item: str(item[0])):
        facts.append((LINK_PURPOSES.get(purpose, "Links sent by email"),
                      f"Sent {count} {'time' if count == 1 else 'times'}"))
    failures = sorted(rows["sign_in_failures"], key=lambda row: str(row.get("at")),
                      reverse=True)
    lines = [f"A failed sign-in with your email address on {when(row['at'])}, from "
             f"network address {row.get('address')}" for row in failures[:LISTED]]
    return ReadableSection(
        "security", "Keeping your account safe", "Records kept to protect your account: "
        "recovery codes and links sent to you (never readable), and failed attempts to sign "
        "in as you, which are deleted after a while.", facts=facts, lines=lines,
        more=max(0, len(failures) - LISTED))
