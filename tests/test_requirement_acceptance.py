"""A course's own required_for takes effect only where it was accepted: site-wide by an
administrator, or for an organisation by its manager. Until then it is proposed to them;
compliance, reminders, reports and My training count it nowhere."""

from __future__ import annotations

import re
import shutil
from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from jesip_learn.compliance import acceptance as requirement_acceptance
from jesip_learn.compliance.models import RequirementAcceptance
from jesip_learn.compliance.person_status import learner_statuses
from jesip_learn.compliance.report_filters import ReportFilters
from jesip_learn.compliance.requirements import required_columns, requirement_lines
from jesip_learn.core.refusals import NotAllowed
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course
from jesip_learn.learning import progress
from jesip_learn.records.models import AuditEvent
from tests.support.factories import make_organisation, make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
SHIPPED = Path(__file__).resolve().parents[1] / "courses"


def publish(session, folder, trainer, required_for="[police]"):
    """The fixture course, published by a trainer through the browser, required of the
    services given."""
    course_md = folder / "course.md"
    text = re.sub(r"services: \[[^\]]*\]", f"services: {required_for}",
                  course_md.read_text())
    course_md.write_text(text)
    courses.import_parsed(session, courses.parse_folders(folder.parent), actor=trainer,
                          source="editor")
    return session.scalar(select(Course).where(Course.code == "JESIP-AWARE"))


@pytest.fixture
def world(session, tmp_path):
    folder = tmp_path / "courses" / "course"
    shutil.copytree(VALID, folder)
    kent, surrey = make_organisation(session, name="Kent Police"), make_organisation(
        session, name="Surrey Police")
    fire = make_organisation(session, name="Kent Fire", service="fire")
    people = {
        "trainer": make_user(session, organisation=kent, permissions={"trainer"}),
        "kent_manager": make_user(session, organisation=kent, permissions={"manager"}),
        "fire_manager": make_user(session, organisation=fire, permissions={"manager"}),
        "admin": make_user(session, organisation=surrey, permissions={"admin"}),
        "kent_learner": make_user(session, organisation=kent, command_role="tactical"),
        "surrey_learner": make_user(session, organisation=surrey, command_role="tactical"),
    }
    course = publish(session, folder, people["trainer"])
    return course, folder, {"kent": kent, "surrey": surrey, "fire": fire}, people


def required_people(session) -> set[int]:
    return {row.user_id for row in learner_statuses(
        session, None, ReportFilters(as_of=date.today() + timedelta(days=1))).rows}


def test_a_trainers_required_for_is_only_proposed(session, world):
    course, _folder, orgs, people = world
    assert requirement_lines(session) == []
    assert required_columns(session) == []
    assert required_people(session) == set()
    assert not progress.is_required(session, course.published_version, people["kent_learner"])
    assert course not in [s.course for s in progress.my_training(
        session, people["kent_learner"]).required]
    admin_sees = requirement_acceptance.proposals(session, people["admin"])
    assert [(p.course.code, p.organisation) for p in admin_sees] == [("JESIP-AWARE", None)]
    kent_sees = requirement_acceptance.proposals(session, people["kent_manager"])
    assert [(p.course.code, p.organisation.name) for p in kent_sees] == [
        ("JESIP-AWARE", "Kent Police")]
    # Not a police service: nothing to decide.
    assert requirement_acceptance.proposals(session, people["fire_manager"]) == []
    assert requirement_acceptance.proposals(session, people["trainer"]) == []


def test_a_manager_accepts_it_for_their_own_organisation_only(session, world):
    course, _folder, orgs, people = world
    requirement_acceptance.decide(session, people["kent_manager"], course, orgs["kent"].id,
                                  True)
    assert required_people(session) == {people["kent_learner"].id,
                                        people["kent_manager"].id, people["trainer"].id}
    assert progress.is_required(session, course.published_version, people["kent_learner"])
    assert not progress.is_required(session, course.published_version,
                                    people["surrey_learner"])
    assert requirement_acceptance.proposals(session, people["kent_manager"]) == []
    event = session.scalar(select(AuditEvent).where(
        AuditEvent.action == "course_requirement.accepted"))
    assert event.actor_id == people["kent_manager"].id
    assert event.organisation_id == orgs["kent"].id


@pytest.mark.parametrize(("who", "where"), [
    ("kent_manager", "surrey"), ("kent_manager", None), ("trainer", "kent"),
    ("fire_manager", "kent"), ("kent_learner", "kent")])
def test_nobody_decides_beyond_their_scope(session, world, who, where):
    course, _folder, orgs, people = world
    organisation_id = orgs[where].id if where else None
    with pytest.raises(NotAllowed):  # the edge's 403 page
        requirement_acceptance.decide(session, people[who], course, organisation_id, True)
    assert session.scalar(select(RequirementAcceptance)) is None


def test_an_administrator_accepts_it_everywhere(session, world):
    course, _folder, orgs, people = world
    requirement_acceptance.decide(session, people["admin"], course, None, True)
    assert {people["kent_learner"].id, people["surrey_learner"].id} <= required_people(session)
    assert requirement_acceptance.proposals(session, people["kent_manager"]) == []
    assert requirement_acceptance.proposals(session, people["admin"]) == []


def test_a_decline_is_recorded_and_can_be_changed(session, world):
    course, _folder, orgs, people = world
    requirement_acceptance.decide(session, people["kent_manager"], course, orgs["kent"].id,
                                  False)
    assert required_people(session) == set()
    assert requirement_acceptance.proposals(session, people["kent_manager"]) == []
    declined, = requirement_acceptance.proposals(session, people["kent_manager"],
                                                 include_declined=True)
    assert declined.declined
    requirement_acceptance.decide(session, people["kent_manager"], course, orgs["kent"].id,
                                  True)
    assert people["kent_learner"].id in required_people(session)
    assert [e.action for e in session.scalars(select(AuditEvent).where(
        AuditEvent.action.like("course_requirement.%")).order_by(AuditEvent.id))] == [
        "course_requirement.declined", "course_requirement.accepted"]


def test_a_version_that_widens_required_for_is_proposed_again(session, world):
    course, folder, orgs, people = world
    requirement_acceptance.decide(session, people["admin"], course, None, True)
    publish(session, folder, people["trainer"], required_for="[police, ambulance]")
    assert required_people(session) == set()
    proposal, = requirement_acceptance.proposals(session, people["admin"])
    assert "Ambulance" in proposal.described


def test_the_shipped_courses_are_accepted_when_the_command_line_imports_them(session):
    courses.import_parsed(session, courses.parse_folders(SHIPPED))
    accepted = requirement_acceptance.acceptances(session)
    codes = {session.get(Course, course_id).code for course_id, where in accepted.items()
             if where.site}
    assert codes == {"JESIP-AWARE", "JESIP-CMD", "JESIP-CR"}  # JESIP-LIVE requires nobody
    assert session.scalar(select(AuditEvent).where(
        AuditEvent.action == "course_requirement.accepted")).actor_id is None


@pytest.mark.parametrize("kind", ["sqlite", "postgresql"])
def test_the_migration_accepts_what_the_command_line_had_published(tmp_path, kind):
    from sqlalchemy import text

    from jesip_learn.core.db import Database
    from tests.support.database import (
        configured_url,
        drop_sibling_database,
        migrate,
        sibling_database,
    )

    if kind == "sqlite":
        url = f"sqlite:///{tmp_path / 'before.db'}"
    else:
        configured = configured_url()
        if not configured or not configured.startswith("postgresql"):
            pytest.skip("DATABASE_URL names no PostgreSQL database")
        url = sibling_database(configured, "acceptance_migration")
    migrate(url, "0017")
    database = Database(url)
    try:
        with database.write_session() as session:
            courses.import_parsed(session, courses.parse_folders(VALID), source="editor")
            folder = tmp_path / "other" / "course"
            shutil.copytree(VALID, folder)
            course_md = folder / "course.md"
            course_md.write_text(course_md.read_text().replace("JESIP-AWARE", "UPLOADED"))
            courses.import_parsed(session, courses.parse_folders(folder.parent),
                                  source="editor")
            session.execute(text("UPDATE course_versions SET source = 'folder' WHERE "
                                 "course_id = (SELECT id FROM courses WHERE code = "
                                 "'JESIP-AWARE')"))
        migrate(url)
        with database.session() as session:
            accepted = requirement_acceptance.acceptances(session)
            codes = {session.get(Course, course_id).code: where.site
                     for course_id, where in accepted.items()}
            assert codes == {"JESIP-AWARE": True}
    finally:
        database.engine.dispose()
        if kind == "postgresql":
            drop_sibling_database(url)
