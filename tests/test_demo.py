"""Demo mode: invented people over every service and command role, with records that give
every status of each shipped course, the same for the same seed, able to sign in."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts import organisations as orgs
from jesip_learn.accounts.models import (
    CommandRole,
    Organisation,
    Permission,
    PermissionGrant,
    Service,
    User,
)
from jesip_learn.accounts.password_reset import request_password_reset, reset_password
from jesip_learn.accounts.permissions import managed_organisation_ids
from jesip_learn.accounts.sign_in import authenticate
from jesip_learn.accounts.throttle import DatabaseLoginThrottle, ThrottlePolicy
from jesip_learn.accounts.tokens import TokenError
from jesip_learn.cli import demo_data as demo
from jesip_learn.compliance.dashboard import compliance_matrix
from jesip_learn.compliance.report_filters import ReportFilters, today_in_london
from jesip_learn.compliance.states import STATES
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion, ItemProgress

COURSES = Path(__file__).resolve().parents[1] / "courses"
NOW = datetime(2026, 3, 31, 10, 30, tzinfo=UTC)
AS_OF = today_in_london(NOW)
THROTTLE = DatabaseLoginThrottle(ThrottlePolicy())
DEMO_USERS = User.email.like(f"%@{demo.DEMO_DOMAIN}")


@pytest.fixture(scope="module")
def shipped_courses():
    return courses.parse_folders(COURSES)


@pytest.fixture
def ready(session, shipped_courses):
    """The reference organisations and the shipped courses, as `make setup` leaves them."""
    orgs.seed_reference_organisations(session)
    courses.import_parsed(session, shipped_courses)
    session.flush()
    return session


@pytest.fixture
def seeded(ready):
    return demo.seed_demo(ready, learners=200, seed=7, now=NOW)


def test_every_status_of_every_shipped_course_occurs(ready, seeded):
    matrix = compliance_matrix(ready, None, ReportFilters(as_of=AS_OF))
    assert {column.code for column in matrix.courses} == {"JESIP-AWARE", "JESIP-CMD",
                                                           "JESIP-CR"}
    for column in matrix.courses:
        counts = matrix.totals[column.id].counts
        assert all(counts[state] > 0 for state in STATES), (column.code, counts)
    # Everyone active and approved is required to hold JESIP Awareness at least.
    counted = ready.scalar(select(func.count()).select_from(User).where(
        DEMO_USERS, User.is_active.is_(True), User.approved_at.is_not(None)))
    aware = next(c for c in matrix.courses if c.code == "JESIP-AWARE")
    assert matrix.totals[aware.id].total == counted


def test_people_cover_every_service_and_command_role(ready, seeded):
    people = ready.execute(select(Organisation.service, User.command_role)
                           .join(Organisation, Organisation.id == User.organisation_id)
                           .where(DEMO_USERS)).all()
    assert len(people) == 200 == seeded.learners
    assert {service for service, _ in people} == {"police", "fire", "ambulance"}
    assert {role for _, role in people} == {str(role) for role in CommandRole}
    # Every service has every role, not just each seen somewhere.
    assert len(set(people)) == 3 * len(CommandRole)
    spread = Counter(service for service, _ in people)
    assert all(spread[str(service)] >= 20 for service in
               (Service.POLICE, Service.FIRE, Service.AMBULANCE))
    emails = ready.scalars(select(User.email).where(DEMO_USERS)).all()
    assert len(set(emails)) == 200
    assert all(email.endswith("@demo.example.org") and email.count(".") >= 3
               for email in emails)


def test_completions_are_like_the_real_thing(ready, seeded):
    rows = ready.execute(select(Completion, CourseVersion.validity_months, Course)
                         .join(Course, Course.id == Completion.course_id)
                         .join(CourseVersion, CourseVersion.id == Completion.version_id)
                         .join(User, User.id == Completion.user_id).where(DEMO_USERS)).all()
    assert len(rows) == seeded.completions > 200
    codes = [completion.certificate_code for completion, _, _ in rows]
    assert len(set(codes)) == len(codes)
    assert all(code.startswith("JL-") and len(code) == 14 for code in codes)
    for completion, months, course in rows:
        assert completion.version_id == course.published_version_id
        assert completion.expires_at == progress.add_months(completion.completed_at, months)
        assert completion.completed_at <= NOW
    oldest = min(completion.completed_at for completion, _, _ in rows)
    assert (NOW - oldest).days > 365 * 2  # a history over years, not one day
    items = ready.scalar(select(func.count()).select_from(ItemProgress)
                         .join(User, User.id == ItemProgress.user_id).where(DEMO_USERS))
    assert items == seeded.progress_rows > seeded.completions


def _fingerprint(session) -> tuple:
    people = session.execute(
        select(User.email, User.name, User.organisation_id, User.command_role,
               User.created_at, User.approved_at, User.is_active)
        .where(DEMO_USERS).order_by(User.email)).all()
    completions = session.execute(
        select(User.email, Completion.course_id, Completion.completed_at, Completion.expires_at)
        .join(User, User.id == Completion.user_id).where(DEMO_USERS)
        .order_by(User.email, Completion.course_id, Completion.completed_at)).all()
    items = session.execute(
        select(User.email, ItemProgress.course_id, ItemProgress.item_slug,
               ItemProgress.started_at, ItemProgress.completed_at)
        .join(User, User.id == ItemProgress.user_id).where(DEMO_USERS)
        .order_by(User.email, ItemProgress.course_id, ItemProgress.item_slug)).all()
    grants = session.execute(
        select(User.email, PermissionGrant.permission, PermissionGrant.organisation_id)
        .join(User, User.id == PermissionGrant.user_id).where(DEMO_USERS)
        .order_by(User.email, PermissionGrant.permission)).all()
    return people, completions, items, grants


def _seed_and_forget(session, seed: int) -> tuple:
    attempt = session.begin_nested()
    demo.seed_demo(session, learners=120, seed=seed, now=NOW)
    found = _fingerprint(session)
    attempt.rollback()
    return found


def test_the_same_seed_invents_the_same_demo(ready):
    first = _seed_and_forget(ready, 11)
    again = _seed_and_forget(ready, 11)
    other = _seed_and_forget(ready, 12)
    assert first == again
    assert all(first) and len(first[0]) == 120
    assert {row.email for row in first[0]} != {row.email for row in other[0]}


def test_demo_accounts_sign_in_with_the_printed_password(ready, seeded):
    learner = ready.scalar(select(User).where(DEMO_USERS, User.is_active.is_(True),
                                              User.approved_at.is_not(None)).order_by(User.id))
    wrong = authenticate(ready, learner.email, "not the demo password",
                         address="127.0.0.1", throttle=THROTTLE)
    assert wrong.user is None
    right = authenticate(ready, learner.email, seeded.password, address="127.0.0.1",
                         throttle=THROTTLE)
    assert right.user is learner

    assert 3 <= len(seeded.managers) <= 9
    manager_account = seeded.managers[0]
    manager = authenticate(ready, manager_account.email, seeded.password,
                           address="127.0.0.1", throttle=THROTTLE).user
    assert manager is not None and manager.has_permission(Permission.MANAGER)
    scope = managed_organisation_ids(ready, manager)
    assert scope == {manager.manager_grant().organisation_id}
    assert ready.get(Organisation, next(iter(scope))).name == manager_account.organisation
    managed_services = {ready.scalar(select(Organisation.service).where(
        Organisation.name == account.organisation)) for account in seeded.managers}
    assert managed_services == {"police", "fire", "ambulance"}

    trainer = authenticate(ready, seeded.trainer.email, seeded.password,
                           address="127.0.0.1", throttle=THROTTLE).user
    assert trainer is not None and trainer.has_permission(Permission.TRAINER)
    assert not trainer.has_permission(Permission.MANAGER)


def test_a_second_seed_is_refused_unless_adding(ready, seeded):
    with pytest.raises(demo.DemoRefused) as refused:
        demo.seed_demo(ready, learners=10, now=NOW)
    assert refused.value.already_seeded and "--add" in refused.value.message
    more = demo.seed_demo(ready, learners=25, add=True, now=NOW)
    assert more.learners == 25
    assert ready.scalar(select(func.count()).select_from(User).where(DEMO_USERS)) == 225
    assert [a.email for a in more.managers] == [a.email for a in seeded.managers]
    assert more.trainer == seeded.trainer


def test_says_what_to_run_first(session, shipped_courses):
    with pytest.raises(demo.DemoRefused, match="organisations seed"):
        demo.seed_demo(session, learners=5, now=NOW)
    orgs.seed_reference_organisations(session)
    with pytest.raises(demo.DemoRefused, match="courses import courses"):
        demo.seed_demo(session, learners=5, now=NOW)
    assert session.scalar(select(func.count()).select_from(User)) == 0


def test_a_new_demo_password_for_every_demo_account(ready, seeded):
    someone = seeded.managers[0].email
    _, reset_link = request_password_reset(ready, someone, timedelta(hours=2))
    password, changed = demo.set_demo_password(ready, "another demo passphrase")
    assert (password, changed) == ("another demo passphrase", 200)
    ready.expire_all()  # the change went straight to the database
    with pytest.raises(TokenError, match="expired"):  # links sent before stop working
        reset_password(ready, reset_link, "a passphrase of my own")
    assert authenticate(ready, someone, seeded.password, address="127.0.0.1",
                        throttle=THROTTLE).user is None
    assert authenticate(ready, someone, password, address="127.0.0.1",
                        throttle=THROTTLE).user is not None


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


def test_the_command_prints_the_password_once_and_refuses_a_second_run(runner, ready):
    ready.commit()
    result = runner.invoke(args=["demo", "seed", "--learners", "40", "--seed", "3"])
    assert result.exit_code == 0, result.output
    assert "Demo data added: 40 learners," in result.output
    password = result.output.split("signs in with the password:", 1)[1].split()[0]
    manager_email = result.output.split("A manager (", 1)[1].split(":", 1)[1].split()[0]
    assert manager_email.endswith("@demo.example.org")
    assert "The trainer:" in result.output
    assert authenticate(ready, manager_email, password, address="127.0.0.1",
                        throttle=THROTTLE).user is not None

    again = runner.invoke(args=["demo", "seed", "--learners", "40"])
    assert again.exit_code == 1 and "already holds a demo" in again.output
    assert password not in again.output
    skipped = runner.invoke(args=["demo", "seed", "--learners", "40", "--skip-if-seeded"])
    assert skipped.exit_code == 0 and "leaving it as it is" in skipped.output
    assert ready.scalar(select(func.count()).select_from(User).where(DEMO_USERS)) == 40


def test_the_command_names_the_step_that_is_missing(runner):
    result = runner.invoke(args=["demo", "seed", "--learners", "5"])
    assert result.exit_code == 1
    assert "flask --app app organisations seed" in result.output
    assert "Traceback" not in result.output


def test_the_password_command_replaces_the_shared_password(runner, ready, seeded):
    ready.commit()
    result = runner.invoke(args=["demo", "password"])
    assert result.exit_code == 0, result.output
    assert "New password for 200 demo accounts." in result.output
    password = result.output.split("signs in with the password:", 1)[1].split()[0]
    assert password != seeded.password
    assert authenticate(ready, seeded.trainer.email, password, address="127.0.0.1",
                        throttle=THROTTLE).user is not None



def test_no_one_is_invented_progress_in_live_exercise_scripts(ready, tmp_path):
    """A required course may hold a live exercise script beside its modules: invented
    learners complete the course without it, as real ones do."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "course.md").write_text(
        "---\ntitle: Mixed\ncode: DEMO-MIX\nvalidity_months: 12\nrequired_for:\n"
        "  services: [all]\n  roles: [all]\n---\n\nRead, then take part.\n")
    (folder / "01-read.md").write_text("---\ntitle: Read\n---\n\nText.\n")
    script = COURSES / "jesip-live-exercises" / "01-attack-at-kingsford-quay.exercise.md"
    (folder / "02-attack.exercise.md").write_bytes(script.read_bytes())
    courses.import_parsed(ready, courses.parse_folders(folder))
    ready.flush()
    demo.seed_demo(ready, learners=60, seed=7, now=NOW)
    slugs = set(ready.scalars(select(ItemProgress.item_slug).join(
        Course, Course.id == ItemProgress.course_id).where(Course.code == "DEMO-MIX")))
    assert slugs == {"read"}
    assert ready.scalar(select(func.count()).select_from(Completion).join(
        Course, Course.id == Completion.course_id).where(Course.code == "DEMO-MIX")) > 0
