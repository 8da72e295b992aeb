"""Two editors saving the same page at the same moment, against a database that commits for
real (SQLite in a file, or a sibling of the configured PostgreSQL test database): one save
and one conflict, never two saves or two drafts, whether or not the draft existed yet."""

import threading
import time

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.core.db import Database
from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import CourseDraft
from tests.support.authoring import VALID
from tests.support.database import (
    configured_url,
    drop_sibling_database,
    migrate,
    sibling_database,
)
from tests.support.factories import make_organisation, make_user


@pytest.fixture
def committed_url(tmp_path):
    """An empty migrated database that commits for real: SQLite in a file, or a sibling of
    the configured PostgreSQL test database."""
    url = configured_url()
    url = sibling_database(url, "authoring") if url else f"sqlite:///{tmp_path / 'race.db'}"
    migrate(url)
    yield url
    if not url.startswith("sqlite"):
        drop_sibling_database(url)


@pytest.mark.parametrize("draft_exists", [True, False])
def test_saves_of_one_page_at_the_same_moment_give_one_save_and_one_conflict(
        committed_url, draft_exists):
    """With no draft yet, both saves also race to start it."""
    database = Database(committed_url)
    with database.write_session() as session:
        organisation = make_organisation(session)
        first_user = make_user(session, organisation=organisation, permissions={"trainer"})
        second_user = make_user(session, organisation=organisation, permissions={"trainer"})
        admin = make_user(session, organisation=organisation, permissions={"admin"})
        if draft_exists:
            course = authoring.create_course(session, admin, title="Race", code="RACE")
        else:
            courses.import_parsed(session, courses.parse_folders(VALID))
            course = authoring.course_by_code(session, "JESIP-AWARE")
        authoring.add_editor(session, admin, course, first_user)
        authoring.add_editor(session, admin, course, second_user)
        code = course.code
        base = authoring.page_text(session, first_user, course, "course.md")
        ids = first_user.id, second_user.id
    assert (session_drafts(database) == 1) is draft_exists
    holding, release, results = threading.Event(), threading.Event(), {}

    def save_as(user_id, words, *, hold=False):
        try:
            with database.write_session() as session:
                user = session.get(User, user_id)
                course = authoring.course_by_code(session, code)
                authoring.save_page(session, user, course, base.path, base.text + words,
                                    base_sha256=base.sha256)
                if hold:  # keep the transaction open while the other editor saves
                    holding.set()
                    release.wait(10)
            results[words] = "saved"
        except authoring.DraftConflict as conflict:
            results[words] = conflict

    first = threading.Thread(target=save_as, args=(ids[0], "first"), kwargs={"hold": True})
    second = threading.Thread(target=lambda: holding.wait(10) and save_as(ids[1], "second"))
    first.start()
    second.start()
    holding.wait(10)
    time.sleep(0.5)  # the second save is now waiting for the first's transaction
    release.set()
    first.join(15)
    second.join(15)
    assert results["first"] == "saved"
    assert isinstance(results["second"], authoring.DraftConflict)
    assert results["second"].submitted_text == base.text + "second"
    with database.session() as session:
        course = authoring.course_by_code(session, code)
        saved = authoring.page_text(session, session.get(User, ids[0]), course, base.path)
        assert saved.text == base.text + "first"
    assert session_drafts(database) == 1
    database.engine.dispose()


def session_drafts(database):
    with database.session() as session:
        return session.scalar(select(func.count()).select_from(CourseDraft))
