"""A world of three organisations for the route tests (tests/web/test_route_*.py), built
once per test module and signed in once per person.

Organisations A (police) and B (fire) each have a learner, a trainer and a manager, and
everything the site's routes can take, owned by them: a course their trainer owns (two
published versions and a draft with changes and an uploaded file), a pending registration,
quiz attempts, a scenario walkthrough and a certificate of their learner, an exercise their
trainer recorded with a learning point and participants, requirement rules, their manager's
import batch and scheduled report, a request to move into the organisation, an email and an
xAPI statement about their learner. A's organisation also has the administrator. C
(ambulance) only takes part: its people ask to move to A and B and join their exercises.
B's trainer also recorded an exercise shared by A and B.

Each test runs inside a savepoint of the module's transaction, rolled back at its end
(`World.savepoint`), so one world serves every test of the module. People are named by role,
"a.learner", "b.manager", "a.admin"; objects by organisation and kind, `world.ids["b.run"]`.
"""

from __future__ import annotations

import hashlib
import io
import random
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from unittest import mock

from flask import Flask
from sqlalchemy import select
from sqlalchemy.engine import Connection
from sqlalchemy.orm import Session

from jesip_learn.accounts import passwords, transfers
from jesip_learn.accounts.models import User
from jesip_learn.compliance.requirements import add_rule
from jesip_learn.core.columns import utcnow
from jesip_learn.core.db import Base
from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.exercises import recorded as exercises
from jesip_learn.exercises.learning_points import add_learning_point
from jesip_learn.exercises.live import sessions as live_sessions
from jesip_learn.exercises.participants import add_participant
from jesip_learn.exercises.rules import add_exercise_rule
from jesip_learn.factory import create_app
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports import csv_files
from jesip_learn.learning import attempt_answers, attempts, runs
from jesip_learn.learning.models import Completion
from jesip_learn.notifications import preferences, reports
from jesip_learn.notifications.models import Notice
from jesip_learn.xapi import outbox
from tests.support.factories import PASSWORD, make_organisation, make_user
from tests.support.live import import_live_course
from tests.support.quizzes import answer_values
from tests.support.web import Browser, app_settings

FIXTURE = Path(__file__).resolve().parents[1] / "content" / "fixtures" / "valid-course"
ORGANISATIONS = {"a": ("Northshire Police", "police", "northshire.police.uk"),
                 "b": ("Southshire Fire and Rescue Service", "fire", "southshire.fire.uk"),
                 "c": ("Eastshire Ambulance Service", "ambulance", "eastshire.nhs.uk")}
COURSE_CODES = {"a": "JESIP-AWARE", "b": "SOUTH-AWARE"}
# Who signs in: each organisation's learner, trainer and manager, and the administrator.
PEOPLE = ("a.learner", "a.trainer", "a.manager", "a.admin", "b.learner", "b.trainer",
          "b.manager")
PNG = (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00"
       b"\x00\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\x0f\x00\x00\x01\x01\x00\x05\x18\xd8N"
       b"\x00\x00\x00\x00IEND\xaeB`\x82")


@dataclass
class World:
    app: Flask
    connection: Connection
    ids: dict[str, object] = field(default_factory=dict)
    browsers: dict[str, Browser] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)  # each person's CSRF token

    @property
    def database(self):
        return self.app.extensions["database"]

    def session(self) -> Session:
        return self.database.session()

    def browser(self, role: str) -> Browser:
        """The signed-in test client of "a.learner", ...; "anonymous" signs nobody in."""
        if role not in self.browsers:
            self.browsers[role] = Browser(self.app.test_client())
        return self.browsers[role]

    def send(self, role: str, method: str, address: str, data: dict | None = None):
        """A request by this person, its response read to the end (a streamed download
        finishes inside its request) and closed."""
        response = self.browser(role).client.open(address, method=method, data=data)
        response.get_data()
        response.close()
        return response

    def user(self, session: Session, role: str) -> User:
        return session.get(User, self.ids[role])

    @contextmanager
    def savepoint(self) -> Iterator[None]:
        """Everything done inside is undone at the end, whatever happens."""
        nested = self.connection.begin_nested()
        try:
            yield
        finally:
            if nested.is_active:
                nested.rollback()

    def fingerprint(self) -> dict[str, str]:
        """A digest of every table's rows: two equal fingerprints mean nothing changed."""
        digests = {}
        with self.session() as session:
            for table in Base.metadata.sorted_tables:
                rows = session.execute(select(table)).all()
                digests[table.name] = hashlib.sha256(
                    repr(sorted(map(repr, rows))).encode()).hexdigest()
        return digests


def changed_tables(before: dict[str, str], after: dict[str, str]) -> list[str]:
    return sorted(name for name in before if before[name] != after[name])


@contextmanager
def built_world(database, instance_path: Path) -> Iterator[World]:
    """The world in a transaction of its own, rolled back when the module is done."""
    from tests.conftest import TransactionalDatabase

    connection = database.engine.connect()
    outer = connection.begin()
    try:
        transactional = TransactionalDatabase(database.url, connection)
        app = create_app(app_settings(transactional, INSTANCE_PATH=instance_path))
        world = World(app=app, connection=connection)
        with transactional.session() as session, _one_password_hash():
            _fill(world, session, instance_path)
            session.commit()
        _sign_in_everyone(world)
        yield world
    finally:
        outer.rollback()
        connection.close()


# --- building it ------------------------------------------------------------------------------


@contextmanager
def _one_password_hash() -> Iterator[None]:
    """Everyone has the factories' password: hash it once, not once a person (scrypt is
    slow on purpose). Signing in still checks it as it always does."""
    real = passwords.hash_password
    shared = real(PASSWORD)
    with mock.patch.object(passwords, "hash_password",
                           lambda password: shared if password == PASSWORD else real(password)):
        yield


def _fill(world: World, session: Session, folder: Path) -> None:
    ids = world.ids
    organisations = {}
    for org, (name, service, domain) in ORGANISATIONS.items():
        organisations[org] = make_organisation(session, name=name, service=service,
                                               domains=[domain])
        ids[f"{org}.organisation"] = organisations[org].id
    people = {}
    for role in PEOPLE:
        org, kind = role.split(".")
        permissions = set() if kind == "learner" else {kind}
        people[role] = make_user(session, organisation=organisations[org],
                                 email=f"{kind}@{ORGANISATIONS[org][2]}",
                                 name=f"{kind.capitalize()} {org.upper()}",
                                 permissions=permissions)
    for org in ("a", "b"):
        domain = ORGANISATIONS[org][2]
        people[f"{org}.editor"] = make_user(session, organisation=organisations[org],
                                            email=f"editor@{domain}", name=f"Editor {org}",
                                            permissions={"trainer"})
        people[f"{org}.pending"] = make_user(session, organisation=organisations[org],
                                             email=f"pending@{domain}",
                                             name=f"Pending {org}")
        people[f"{org}.pending"].approved_at = None
        people[f"{org}.colleague"] = make_user(session, organisation=organisations[org],
                                               email=f"colleague@{domain}",
                                               name=f"Colleague {org}")
        people[f"c.mover-to-{org}"] = make_user(session, organisation=organisations["c"],
                                                email=f"mover-to-{org}@eastshire.nhs.uk",
                                                name=f"Mover to {org}")
    people["c.responder"] = make_user(session, organisation=organisations["c"],
                                      email="responder@eastshire.nhs.uk", name="Responder C")
    session.flush()
    ids.update({role: person.id for role, person in people.items()})

    for org in ("a", "b"):
        _course(world, session, folder, org, people)
        _learning(world, session, org, people)
        _exercise(world, session, org, organisations, people)
        _management(world, session, org, organisations, people)
    _shared_exercise(world, session, organisations, people)
    _live_exercises(world, session, people)


def _course_folder(folder: Path, org: str, number: int) -> Path:
    """The fixture course under this organisation's code, version `number` of it."""
    target = folder / f"course-{org}-{number}" / "course"
    shutil.copytree(FIXTURE, target)
    course_md = target / "course.md"
    course_md.write_text(course_md.read_text().replace("JESIP-AWARE", COURSE_CODES[org]))
    module = target / "01-why-interoperability.md"
    module.write_text(module.read_text() + f"\n\nVersion {number}.\n")
    return target.parent


def _course(world: World, session: Session, folder: Path, org: str, people: dict) -> None:
    code, ids = COURSE_CODES[org], world.ids
    for number in (1, 2):
        courses.import_parsed(session, courses.parse_folders(_course_folder(folder, org,
                                                                            number)))
    version = courses.find_version(session, code)
    course = version.course
    authoring.editors.make_owner(session, course, people[f"{org}.trainer"])
    session.flush()
    authoring.add_editor(session, people[f"{org}.trainer"], course, people[f"{org}.editor"],
                         authoring.EDITOR)
    outline = courses.version_outline(version)
    ids.update({
        f"{org}.code": code, f"{org}.course_id": course.id, f"{org}.version": version.number,
        f"{org}.content_hash": version.content_hash,
        f"{org}.module": next(item.slug for item in outline if item.kind == "module"),
        f"{org}.quiz": next(item.slug for item in outline if item.kind == "quiz"),
        f"{org}.scenario": next(item.slug for item in outline if item.kind == "scenario"),
        f"{org}.course_file": "images/fcp.png",
    })
    trainer = people[f"{org}.trainer"]
    page = "01-why-interoperability.md"
    text_now = authoring.page_text(session, trainer, course, page)
    authoring.save_page(session, trainer, course, page, text_now.text + "\nA draft change.\n",
                        base_sha256=text_now.sha256)
    upload = authoring.upload_file(session, trainer, course, "map.png", PNG)
    ids.update({f"{org}.page": page, f"{org}.draft_file": upload.path,
                f"{org}.quiz_page": "05-check-your-understanding.quiz.md"})


def _learning(world: World, session: Session, org: str, people: dict) -> None:
    ids, learner = world.ids, people[f"{org}.learner"]
    version = courses.find_version(session, COURSE_CODES[org])
    quiz = courses.version_item(version, ids[f"{org}.quiz"])
    done = attempts.start_attempt(session, learner, version, quiz, rng=random.Random(1))
    attempts.submit_attempt(session, done, answer_values(attempt_answers.attempt_questions(done),
                                                         right=False))
    open_attempt = attempts.start_attempt(session, learner, version, quiz,
                                          rng=random.Random(2))
    scenario = courses.version_item(version, ids[f"{org}.scenario"])
    run = runs.start_run(session, learner, version, scenario)
    certificate = f"JL-{org.upper()}{org.upper()}AAA-AAAAA"
    session.add(Completion(user_id=learner.id, course_id=version.course_id,
                           version_id=version.id, completed_at=utcnow(),
                           expires_at=utcnow() + timedelta(days=365),
                           certificate_code=certificate))
    session.flush()
    ids.update({f"{org}.submitted_attempt": done.id, f"{org}.attempt": open_attempt.id,
                f"{org}.run": run.id, f"{org}.certificate": certificate})


def _exercise(world: World, session: Session, org: str, organisations: dict,
              people: dict) -> None:
    """An exercise of this organisation and C, recorded by its trainer: its learner and C's
    responder took part (added by the administrator, who may add anyone); one learning
    point."""
    ids, admin = world.ids, people["a.admin"]
    details = exercises.ExerciseDetails(
        title=f"Operation {org.upper()}", held_on=date(2026, 3, 14), kind="table-top",
        location="Headquarters",
        organisation_ids=(organisations[org].id, organisations["c"].id),
        command_roles=("tactical",), principles=("co-locate",), jdm_stages=("information",))
    exercise = exercises.record_exercise(session, people[f"{org}.trainer"], details)
    participant = add_participant(session, admin, exercise, people[f"{org}.learner"],
                                  "operational")
    add_participant(session, admin, exercise, people["c.responder"], "operational")
    point = add_learning_point(session, people[f"{org}.trainer"], exercise,
                               text=f"Share the risk picture sooner ({org}).",
                               principle="risk", jdm_stage="information",
                               for_jol=True)
    session.flush()
    ids.update({f"{org}.exercise": exercise.id, f"{org}.participant": participant.id,
                f"{org}.learning_point": point.id})


def _shared_exercise(world: World, session: Session, organisations: dict,
                     people: dict) -> None:
    """B's trainer recorded an exercise A and B took part in: A's manager may open it and
    see A's people, but not B's."""
    exercise = exercises.record_exercise(session, people["b.trainer"], exercises.ExerciseDetails(
        title="Operation Shared", held_on=date(2026, 2, 1), kind="live", location="Docks",
        organisation_ids=(organisations["a"].id, organisations["b"].id)))
    for org in ("a", "b"):
        participant = add_participant(session, people["a.admin"], exercise,
                                      people[f"{org}.learner"], "operational")
        session.flush()
        world.ids[f"{org}.shared_participant"] = participant.id
    world.ids["shared_exercise"] = exercise.id


def _live_exercises(world: World, session: Session, people: dict) -> None:
    """Two live exercises B's trainer facilitates with B's learner as police control (invited,
    not yet joined): one running for two minutes, one ended (with its exercise record)."""
    version = import_live_course(session)
    slug = next(i.slug for i in courses.version_outline(version) if "attack" in i.slug)
    trainer, learner = people["b.trainer"], people["b.learner"]
    made = {}
    for name in ("b.live", "b.ended_live"):
        live = live_sessions.create_session(session, trainer, version.id, slug)
        participant = live_sessions.invite(session, trainer, live, learner, "police-control")
        live_sessions.start(session, trainer, live, now=utcnow() - timedelta(minutes=2))
        made[name] = (live, participant)
    live_sessions.end(session, made["b.ended_live"][0], trainer)
    session.flush()
    world.ids.update({"b.live": made["b.live"][0].id, "b.ended_live": made["b.ended_live"][0].id,
                      "b.live_participant": made["b.live"][1].id})


def _management(world: World, session: Session, org: str, organisations: dict,
                people: dict) -> None:
    ids, manager = world.ids, people[f"{org}.manager"]
    version = courses.find_version(session, COURSE_CODES[org])
    rule = add_rule(session, manager, course_id=version.course_id, service=None,
                               organisation_id=organisations[org].id, command_role="tactical")
    exercise_rule = add_exercise_rule(session, manager, months="36", service=None,
                                      organisation_id=organisations[org].id,
                                      command_role="strategic")
    name = ORGANISATIONS[org][0]
    csv_text = (f"name,email,organisation,command role\nNew Starter {org},"
                f"new.starter@{ORGANISATIONS[org][2]},{name},operational\n")
    batch = bulk_import.start_import(session, manager, csv_files.ImportKind.USERS,
                                     "people.csv", csv_files.read_upload(
                                         "people.csv", csv_text.encode(),
                                         csv_files.ImportKind.USERS))
    subscription = reports.subscribe(session, manager, name=f"Weekly {org}",
                                     query=f"organisation={organisations[org].id}",
                                     file_format="csv", frequency="weekly")
    transfer = transfers.request_transfer(session, people[f"c.mover-to-{org}"],
                                          organisation_id=organisations[org].id,
                                          command_role="operational")
    learner = people[f"{org}.learner"]
    notice = Notice(recipient_id=learner.id, kind="overdue", subject_key="course:1",
                    period=f"{org}-1", to_address=learner.email, mail_subject="Overdue",
                    text_body="Overdue", html_body="<p>Overdue</p>", status="failed",
                    attempts=8, last_error="The mail server refused it")
    session.add(notice)
    statement = outbox.enqueue(session, {
        "actor": {"name": learner.name}, "verb": {"display": {"en-US": "completed"}},
        "object": {"id": f"https://jesip.test/learn/{COURSE_CODES[org]}",
                   "definition": {"name": {"en-GB": "A course"}}}})
    statement.status, statement.attempts, statement.last_error = "rejected", 1, "422"
    session.flush()
    ids.update({
        f"{org}.rule": rule.id, f"{org}.exercise_rule": exercise_rule.id,
        f"{org}.batch": batch.id, f"{org}.subscription": subscription.id,
        f"{org}.transfer": transfer.id, f"{org}.notice": notice.id,
        f"{org}.statement": statement.statement_id,
        f"{org}.unsubscribe_token": preferences.unsubscribe_token(
            world.app.config["SECRET_KEY"], preferences.UnsubscribeRequest(learner.id,
                                                                           "overdue")),
    })


def _sign_in_everyone(world: World) -> None:
    for role in PEOPLE:
        browser = world.browser(role)
        with world.session() as session:
            email = world.user(session, role).email
        page = browser.sign_in(email)
        assert page.status == 200, f"{role} could not sign in"
        world.tokens[role] = browser.get("/account").csrf_token()
    world.tokens["anonymous"] = world.browser("anonymous").get("/sign-in").csrf_token()


def zip_of_draft(world: World, session: Session, org: str) -> bytes:
    """The course's draft as a zip, as its trainer downloads it to edit offline."""
    course = authoring.course_by_code(session, COURSE_CODES[org])
    return authoring.export_draft_zip(session, world.user(session, f"{org}.trainer"),
                                      course).data


def upload_of(data: bytes, filename: str):
    """A file field's value for the test client: a fresh stream for each request."""
    return (io.BytesIO(data), filename)
