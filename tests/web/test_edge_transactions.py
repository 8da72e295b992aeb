"""How the edge ends a request's transaction: a request that wrote something commits once;
one that only read ends without a commit; and the signed-in person is loaded once, by one
statement, whatever the page."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, select, update

from jesip_learn.accounts.models import Organisation, User
from jesip_learn.web.access import Audience, for_audience
from jesip_learn.web.edge import after_commit, db


@pytest.fixture
def watched(app, transactional_db):
    """What the app's request sessions do: their commits, and every statement sent."""
    seen = {"commits": 0, "statements": []}

    def count_commit(_session):
        seen["commits"] += 1

    def note_statement(_connection, _cursor, statement, *_rest):
        seen["statements"].append(" ".join(statement.split()))

    engine = transactional_db.engine

    @contextmanager
    def watching():
        seen["commits"], seen["statements"] = 0, []
        event.listen(transactional_db.sessionmaker, "after_commit", count_commit)
        event.listen(engine, "before_cursor_execute", note_statement)
        try:
            yield seen
        finally:
            event.remove(engine, "before_cursor_execute", note_statement)
            event.remove(transactional_db.sessionmaker, "after_commit", count_commit)

    return watching


def _reads_of_users(statements: list[str]) -> list[str]:
    return [s for s in statements if s.startswith("SELECT") and " FROM users" in s]


def test_a_signed_in_page_that_only_reads_loads_the_person_once_and_does_not_commit(
    browser, learner, watched
):
    browser.get("/account")  # warm: anything done once per process is done
    with watched() as seen:
        page = browser.get("/account")
    assert page.status == 200 and page.h1 == "Your account"
    assert seen["commits"] == 0
    assert len(_reads_of_users(seen["statements"])) == 1
    assert not any(
        s.startswith(("INSERT", "UPDATE", "DELETE", "COMMIT")) for s in seen["statements"]
    )


def test_a_request_that_writes_commits_once(browser, learner, watched, session):
    token = browser.get("/account").csrf_token()
    epoch = learner.session_epoch
    with watched() as seen:
        response = browser.client.post("/sign-out", data={"csrf_token": token})
    assert response.status_code == 302
    assert seen["commits"] == 1
    session.expire_all()
    assert session.get(User, learner.id).session_epoch == epoch + 1


@pytest.fixture
def writing_views(app):
    """Views that write in each of the ways the domain does, with nothing left pending."""
    sent = []

    @app.route("/test-only/flushed")

    @for_audience(Audience.PUBLIC)
    def flushed():
        db().add(Organisation(name="Flushed Fire Service", service="fire"))
        db().flush()  # nothing new or changed remains in the session: the flush wrote it
        after_commit(lambda: sent.append("flushed"))
        return "ok"

    @app.route("/test-only/statement")

    @for_audience(Audience.PUBLIC)
    def statement():
        db().execute(
            update(Organisation)
            .where(Organisation.name == "Northshire Police")
            .values(country="Wales")
        )
        return "ok"

    @app.route("/test-only/pending")

    @for_audience(Audience.PUBLIC)
    def pending():
        db().add(Organisation(name="Pending Police", service="police"))  # flushed at commit
        return "ok"

    @app.route("/test-only/reads")

    @for_audience(Audience.PUBLIC)
    def reads():
        db().scalar(select(Organisation.id))
        after_commit(lambda: sent.append("read"))
        return "ok"

    return sent


@pytest.mark.parametrize(
    "path", ["/test-only/flushed", "/test-only/statement", "/test-only/pending"]
)
def test_what_was_written_is_saved_however_it_was_written(
    client, organisation, writing_views, watched, session, path
):
    with watched() as seen:
        response = client.get(path)
    assert response.status_code == 200
    assert seen["commits"] == 1
    session.expire_all()
    names = set(session.scalars(select(Organisation.name)))
    countries = dict(session.execute(select(Organisation.name, Organisation.country)).all())
    saved = {
        "/test-only/flushed": "Flushed Fire Service" in names,
        "/test-only/statement": countries["Northshire Police"] == "Wales",
        "/test-only/pending": "Pending Police" in names,
    }
    assert saved[path]


def test_actions_after_the_request_run_whether_it_wrote_or_only_read(
    client, organisation, writing_views, watched
):
    with watched() as seen:
        assert client.get("/test-only/reads").status_code == 200
        assert seen["commits"] == 0
        assert client.get("/test-only/flushed").status_code == 200
        assert seen["commits"] == 1
    assert writing_views == ["read", "flushed"]
