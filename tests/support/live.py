"""A live exercise ready to run: the shipped live exercise course imported, a facilitator
(a police trainer) and the three control room supervisors of three services."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.courses import catalogue as courses
from jesip_learn.exercises.live import sessions
from jesip_learn.exercises.live.models import LiveSession
from tests.support.factories import make_organisation, make_user

LIVE_COURSE = Path(__file__).resolve().parents[2] / "courses" / "jesip-live-exercises"
ATTACK = "01-attack-at-kingsford-quay"
ROLES = ("police-control", "fire-control", "ambulance-control")


@dataclass
class LiveWorld:
    live: LiveSession
    facilitator: User
    people: dict[str, User]  # by role id


def import_live_course(session: Session):
    courses.import_parsed(session, courses.parse_folders(LIVE_COURSE))
    return courses.find_version(session, "JESIP-LIVE")


def live_world(session: Session, *, assign: bool = True, suffix: str = "") -> LiveWorld:
    version = courses.find_version(session, "JESIP-LIVE") or import_live_course(session)
    police = make_organisation(session, name=f"Kingsford Police{suffix}")
    fire = make_organisation(session, name=f"Kingsford Fire{suffix}", service="fire")
    ambulance = make_organisation(session, name=f"Kingsford Ambulance{suffix}",
                                  service="ambulance")
    facilitator = make_user(session, organisation=police, permissions={"trainer"},
                            name="Fay Facilitator")
    people = {
        "police-control": make_user(session, organisation=police, name="Pam Police",
                                    command_role="control-room"),
        "fire-control": make_user(session, organisation=fire, name="Fred Fire",
                                  command_role="control-room"),
        "ambulance-control": make_user(session, organisation=ambulance, name="Amy Ambulance",
                                       command_role="control-room"),
    }
    session.flush()
    slug = next(item.slug for item in courses.version_outline(version)
                if item.kind == "exercise" and "attack" in item.slug)
    live = sessions.create_session(session, facilitator, version.id, slug)
    code = sessions.make_join_code(session, facilitator, live)
    for role_id, person in people.items():
        sessions.join_with_code(session, person, code)
        if assign:
            sessions.assign_role(session, facilitator, live,
                                 sessions.participant_of(live, person), role_id)
    session.flush()
    return LiveWorld(live, facilitator, people)
