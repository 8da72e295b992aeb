"""gunicorn's preloaded app: a worker forked from the master opens its own database
connections and leaves the master's alone."""

from __future__ import annotations

import os

from flask import request
from sqlalchemy import func, select, text

from jesip_learn import tables
from jesip_learn.core.db import Database
from jesip_learn.factory import after_fork, create_app, warm_up
from tests.support.web import app_settings


def _answers(database: Database) -> bool:
    with database.engine.connect() as connection:
        return connection.execute(text("SELECT 1")).scalar() == 1


def test_a_forked_worker_opens_its_own_connections(database_url, tmp_path):
    database = Database(database_url)
    app = create_app(app_settings(database, INSTANCE_PATH=tmp_path))
    try:
        assert _answers(database)
        assert database.engine.pool.checkedin() == 1  # the parent's, kept in the pool
        with database.engine.connect() as connection:
            parents = connection.connection.dbapi_connection
        child = os.fork()
        if child == 0:  # pragma: no cover - the forked worker reports by its exit status
            code = 1
            try:
                after_fork(app)
                if database.engine.pool.checkedin() == 0 and _answers(database):
                    with database.engine.connect() as connection:
                        code = 0 if connection.connection.dbapi_connection is not parents else 3
            finally:
                os._exit(code)
        _, status = os.waitpid(child, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        # The worker neither closed nor used the parent's connection: it still answers.
        with database.engine.connect() as connection:
            assert connection.connection.dbapi_connection is parents
            assert connection.execute(text("SELECT 1")).scalar() == 1
    finally:
        database.dispose()


def test_warming_up_leaves_no_connection_to_inherit(database_url, tmp_path):
    database = Database(database_url)
    app = create_app(app_settings(database, INSTANCE_PATH=tmp_path, SERVER_NAME=None))
    try:
        warm_up(app)
        assert database.engine.pool.checkedin() == 0
        compiled = {name for _loader, name in app.jinja_env.cache}  # to be shared
        assert {"manage/compliance.html", "learn/quiz_overview.html"} <= compiled
    finally:
        database.dispose()


def test_warming_up_opens_the_learners_pages_and_saves_nothing(app, session, version, outbox,
                                                                monkeypatch):
    database = app.extensions["database"]
    monkeypatch.setattr(database, "dispose", lambda: None)  # the test's one connection
    opened = []
    dispatch = app.full_dispatch_request

    def dispatch_and_note():
        response = dispatch()
        opened.append((request.path, response.status_code))
        return response

    monkeypatch.setattr(app, "full_dispatch_request", dispatch_and_note)
    before = _row_counts(session)
    warm_up(app)
    code = version.course.code
    learner_pages = {path: status for path, status in opened if path.startswith("/learn")}
    assert {"/learn", f"/learn/{code}", f"/learn/{code}/modules/the-five-principles",
            f"/learn/{code}/quizzes/check-your-understanding",
            f"/learn/{code}/scenarios/flooding"} <= set(learner_pages)
    assert set(learner_pages.values()) == {200}
    # A reading module's page, as every learner who has not read it sees it, is shared.
    shared = {key[1] for key in app.extensions["rendered_pages"]._values}
    assert (version.content_hash, code, "the-five-principles", False) in shared
    assert _row_counts(session) == before
    assert outbox == []


def _row_counts(session) -> dict[str, int]:
    return {table.name: session.scalar(select(func.count()).select_from(table))
            for table in tables.metadata.sorted_tables}
