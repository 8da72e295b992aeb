"""Fixtures: one migrated database per run; each test inside a transaction rolled back
at its end; an app and a test client bound to that transaction; and, at the end, the
fixtures the test modules of one area share."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from flask import Flask
from sqlalchemy.orm import sessionmaker

from jesip_learn.accounts import passwords
from jesip_learn.accounts.models import User
from jesip_learn.core.db import Database
from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.factory import create_app
from jesip_learn.sso import providers as sso_providers
from tests.support import database as test_database
from tests.support import pages
from tests.support.factories import make_organisation, make_user
from tests.support.openid_provider import CLIENT_ID, CLIENT_SECRET
from tests.support.sso_sign_in import TENANT_A
from tests.support.url_builders import reuse_compiled_url_builders
from tests.support.web import TEST_PASSWORD_HASH, Browser, app_settings

# Every app's test client, whoever makes the app, hands out responses that say whether the
# test read their status (see pages_say_their_status below).
Flask.test_client_class = pages.StatusCheckedClient

passwords.use_hash_method(TEST_PASSWORD_HASH)
reuse_compiled_url_builders()

VALID_COURSE = Path(__file__).parent / "content" / "fixtures" / "valid-course"


@pytest.fixture(scope="session")
def database_url(tmp_path_factory) -> str:
    url = test_database.configured_url() or (
        f"sqlite:///{tmp_path_factory.mktemp('db') / 'test.db'}"
    )
    test_database.empty_database(url)
    test_database.migrate(url)
    return url


@pytest.fixture(scope="session")
def database(database_url) -> Database:
    db = Database(database_url)
    yield db
    db.engine.dispose()


class TransactionalDatabase(Database):
    """The app's Database, with every session joined to one outer transaction."""

    def __init__(self, url, connection):
        self.url = url
        self.engine = connection.engine
        self.sessionmaker = sessionmaker(bind=connection, expire_on_commit=False,
                                         join_transaction_mode="create_savepoint")

    def side_session(self):
        # On the one connection too, so that what it commits is rolled back at the end.
        return self.session()


@pytest.fixture
def transactional_db(database):
    connection = database.engine.connect()
    outer = connection.begin()
    yield TransactionalDatabase(database.url, connection)
    outer.rollback()
    connection.close()


@pytest.fixture
def session(transactional_db):
    session = transactional_db.session()
    yield session
    session.close()


@pytest.fixture
def app(transactional_db, tmp_path):
    return create_app(app_settings(transactional_db, INSTANCE_PATH=tmp_path))


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def outbox(app):
    return app.extensions["mailer"].outbox


@pytest.fixture
def browser(client):
    return Browser(client)


@pytest.fixture
def organisation(session):
    org = make_organisation(session, name="Northshire Police", domains=["northshire.police.uk"])
    session.commit()
    return org


@pytest.fixture
def other_organisation(session):
    org = make_organisation(session, name="Southshire Fire and Rescue Service", service="fire")
    session.commit()
    return org


@pytest.fixture
def make(session):
    """Factories bound to the test's session; each commits so the app's requests see it."""

    class Make:
        def user(self, **kwargs):
            user = make_user(session, **kwargs)
            session.commit()
            return user

        def organisation(self, **kwargs):
            org = make_organisation(session, **kwargs)
            session.commit()
            return org

    return Make()


@pytest.fixture(autouse=True)
def pages_say_their_status():
    """A page that answered other than 200 fails its test unless the test read its status
    (to assert the one it expected): "200 unless told"."""
    pages.PAGES_READ.clear()
    yield
    unexpected = pages.unexpected_statuses()
    pages.PAGES_READ.clear()
    assert not unexpected, f"pages answered without the test expecting it: {unexpected}"


@pytest.fixture(scope="session")
def valid_course_parsed():
    """The fixture course parsed, once per run: the import reads the parse and never changes
    it, and the folder does not change while the tests run."""
    return courses.parse_folders(VALID_COURSE)


@pytest.fixture
def version(session, valid_course_parsed):
    """The fixture course (tests/content/fixtures/valid-course), imported, published and
    committed."""
    outcome, = courses.import_parsed(session, valid_course_parsed)
    session.commit()
    return courses.find_version(session, outcome.code)


@pytest.fixture
def admin(make, organisation):
    """An administrator of the test's organisation, not signed in."""
    return make.user(organisation=organisation, permissions={"admin"}, name="Alex Admin")


@pytest.fixture
def learner(session):
    """A tactical commander, made in the test's session (the web tests' `learner`, in
    tests/web/conftest.py, is also signed in)."""
    return make_user(session, command_role="tactical")


# --- fixtures the modules of one area share --------------------------------------------------
# A module that needs another meaning of one of these names defines its own, which wins.


# Courses made in the browser (tests/test_authoring_*.py; their helpers are in
# tests/support/authoring.py).


@pytest.fixture
def trainer(make, organisation):
    return make.user(organisation=organisation, name="Tess Trainer", permissions={"trainer"})


@pytest.fixture
def colleague(make, organisation):
    return make.user(organisation=organisation, name="Colin Colleague", permissions={"trainer"})


@pytest.fixture
def folder_course(session):
    """A course imported from the courses folder by the command line: it has no owner."""
    courses.import_parsed(session, courses.parse_folders(VALID_COURSE))
    session.flush()
    return authoring.course_by_code(session, "JESIP-AWARE")


@pytest.fixture
def own_course(session, trainer):
    return authoring.create_course(session, trainer, title="Working with the Met Office",
                                   code="MET-1", summary="Weather warnings for commanders.")


# Records that travel, the retention purge and subject access (tests/test_records_*.py;
# their helpers are in tests/support/records.py).


@pytest.fixture
def course(session):
    outcome, = courses.import_parsed(session, courses.parse_folders(VALID_COURSE))
    return courses.find_version(session, outcome.code).course


# Item analysis (tests/test_analysis_*.py; the course they analyse is in
# tests/support/item_analysis.py).


@pytest.fixture
def people(session):
    """Learners, made directly: the figures need rows to point at, not passwords to check."""
    organisation = make_organisation(session)
    numbers = itertools.count(1)

    def make(count):
        made = [User(email=f"learner{number}@example.org", name=f"Learner {number}",
                     password_hash="unused", organisation_id=organisation.id,
                     command_role="operational")
                for number in itertools.islice(numbers, count)]
        session.add_all(made)
        session.flush()
        return made

    return make


# Single sign-on: the site's registration of the test OpenID provider (tests/sso/ starts the
# provider itself).


@pytest.fixture
def entra(session, admin, organisation):
    """The site's Entra ID app registration, with Northshire Police linked to tenant A."""
    provider = sso_providers.save_provider(
        session, admin, sso_providers.ProviderDetails(
            name="Microsoft 365", kind="entra", client_id=CLIENT_ID,
            client_secret=CLIENT_SECRET), secret_key="test secret key")
    sso_providers.link_organisation(session, admin, provider, organisation, TENANT_A)
    session.commit()
    return provider
