"""What an ended live exercise leaves in the training record: the multi-agency exercise
record (organisations, participants with their command levels, principles and JDM stages
evidenced), each participant's attendance confirmed by the facilitator, who ran it and saw
them take part; and xAPI statements, when the site sends them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.orm import Session

from jesip_learn.accounts.models import CommandRole, Organisation, User
from jesip_learn.compliance.report_filters import today_in_london
from jesip_learn.content import JDM_STAGES
from jesip_learn.core.columns import utcnow
from jesip_learn.exercises.live.log import script_of
from jesip_learn.exercises.live.models import LiveSession
from jesip_learn.exercises.models import Exercise, ExerciseKind, ExerciseParticipant
from jesip_learn.records.audit import record_event
from jesip_learn.xapi import outbox, statements

RECORD_KIND = ExerciseKind.COMMAND_POST


def write_record(session: Session, live: LiveSession, now: datetime | None = None) -> Exercise:
    from jesip_learn.exercises.live.debrief import build

    now = now or utcnow()
    script = script_of(live)
    report = build(session, live)
    played = [p for p in live.participants if p.role_id and script.role(p.role_id)]
    organisation_ids = {live.organisation_id} | {p.user.organisation_id for p in played}
    organisations = sorted((session.get(Organisation, i) for i in organisation_ids),
                           key=lambda o: o.name)
    levels = {script.role(p.role_id).level for p in played}
    exercise = Exercise(
        title=live.title[:200], held_on=today_in_london(), kind=RECORD_KIND,
        location="JESIP Learn live exercise", recorded_by_id=live.facilitator_id,
        command_roles=[role.value for role in CommandRole if role.value in levels],
        principles=list(report.principles),
        jdm_stages=[stage for stage in JDM_STAGES if stage in report.jdm_stages],
        created_at=now, updated_at=now)
    exercise.organisations = organisations
    session.add(exercise)
    for participant in played:
        exercise.participants.append(ExerciseParticipant(
            user=participant.user, role=script.role(participant.role_id).level,
            added_by_id=live.facilitator_id, added_at=now,
            confirmed_by_id=live.facilitator_id, confirmed_at=now))
    session.flush()
    live.exercise_id = exercise.id
    record_event(session, "exercise.recorded", actor=None,
                 organisation_id=live.organisation_id,
                 summary=f"Recorded the live exercise {exercise.title}, attendance confirmed "
                         "by its facilitator",
                 details={"exercise_id": exercise.id, "live_session_id": live.id,
                          "participants": [p.user_id for p in played]})
    statement(session, live, live.facilitator, "completed", now)
    for participant in played:
        statement(session, live, participant.user, "completed", now)
    return exercise


# --- xAPI ------------------------------------------------------------------------------------

VERBS = {
    "attended": "http://adlnet.gov/expapi/verbs/attended",
    "shared": "http://adlnet.gov/expapi/verbs/shared",
    "commented": "http://adlnet.gov/expapi/verbs/commented",
    "answered": "http://adlnet.gov/expapi/verbs/answered",
    "completed": "http://adlnet.gov/expapi/verbs/completed",
}
KIND_VERBS = {"share": "shared", "message": "commented", "methane": "commented",
              "answer": "answered"}


def statement(session: Session, live: LiveSession, user: User, verb: str,
              moment: datetime | None = None) -> None:
    """One statement about the person in this session, queued with the transaction."""
    def build(settings):
        iri = f"{settings.homepage}/live/{live.id}"
        target = statements.activity(iri, "scenario", live.title)
        yield {"actor": statements.actor(settings, user),
               "verb": {"id": VERBS[verb], "display": {"en-US": verb}},
               "object": target,
               "context": {"platform": statements.PLATFORM, "language": statements.LANGUAGE,
                           "registration": statements.registration(settings, "live", live.id)},
               "timestamp": statements.timestamp(moment or utcnow())}

    outbox.record(session, build)
