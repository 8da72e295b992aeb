"""A sign-in with the organisation's account is used once, however many requests bring it
back at the same moment: eight sessions complete the same sign-in, or create the account
from the same first sign-in, and exactly one succeeds. SQLite in a temporary file, and
PostgreSQL (a sibling of the configured test database) when DATABASE_URL names one.

As in tests/test_mfa_concurrency.py, each thread commits for real; on PostgreSQL every
thread has read the sign-in before any of them writes, the worst case for a check-then-write.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.models import User
from jesip_learn.core.db import Database
from jesip_learn.records.models import AuditEvent
from jesip_learn.sso import completion as sso_completion
from jesip_learn.sso import first_sign_in, protocol
from jesip_learn.sso import providers as sso_providers
from jesip_learn.sso import sign_in as sso
from jesip_learn.sso.models import SsoIdentity, SsoProvider
from tests.support.database import committing_database, race_in_sessions
from tests.support.factories import make_organisation, make_user

ATTEMPTS = 8
ISSUER = "https://idp.example-fire.org"
SETTINGS = sso.SsoSettings(secret_key="race secret key")
METADATA = protocol.Metadata(issuer=ISSUER, authorization_endpoint=f"{ISSUER}/authorize",
                             token_endpoint=f"{ISSUER}/token", jwks_uri=f"{ISSUER}/jwks",
                             end_session_endpoint="", signing_algorithms=("RS256",),
                             token_auth_methods=("client_secret_basic",))
_numbers = itertools.count(1)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def database(request, tmp_path_factory):
    with committing_database(request.param, "sso_race",
                             tmp_path_factory.mktemp("sso_race")) as database:
        yield database


def provider_with_organisation(database: Database) -> tuple[int, str]:
    """An organisation's own provider; (its id, the organisation's email domain)."""
    number = next(_numbers)
    domain = f"race{number}.example-fire.org"
    with database.write_session() as session:
        organisation = make_organisation(session, service="fire", domains=[domain])
        admin = make_user(session, organisation=organisation, permissions={"admin"})
        provider = sso_providers.save_provider(
            session, admin, sso_providers.ProviderDetails(
                name=f"Race provider {number}", kind="oidc", issuer_url=ISSUER,
                client_id="jesip-learn"), secret_key=SETTINGS.secret_key)
        sso_providers.link_organisation(session, admin, provider, organisation, "")
        return provider.id, domain


def started_sign_in(database: Database, provider_id: int, email: str) -> str:
    with database.write_session() as session:
        config = sso.provider_config(session.get(SsoProvider, provider_id), SETTINGS)
        _url, state = sso.start(session, config, METADATA, login_hint=email, next_url="",
                                redirect_uri="https://learn.example/callback")
        return state


def race(database: Database, prepare: Callable, attempt: Callable) -> list:
    return race_in_sessions(database, prepare, attempt, threads=ATTEMPTS)


def reasons(outcomes: list) -> list[str]:
    unexpected = [o for o in outcomes if isinstance(o, Exception)
                  and not isinstance(o, sso.SignInProblem)]
    assert not unexpected, unexpected
    return sorted(o.reason if isinstance(o, sso.SignInProblem) else o.kind for o in outcomes)


def count(database: Database, query) -> int:
    with database.session() as session:
        return session.scalar(query)


def test_a_providers_answer_signs_in_once(database):
    provider_id, domain = provider_with_organisation(database)
    with database.write_session() as session:
        user = make_user(session, organisation=session.get(SsoProvider, provider_id)
                         .links[0].organisation, email=f"ray@{domain}")
        session.add(SsoIdentity(user_id=user.id, provider_id=provider_id, issuer=ISSUER,
                                subject="ray-subject"))
        session.flush()
        user_id = user.id
    state = started_sign_in(database, provider_id, f"ray@{domain}")
    answer = sso.Answer(claims={"iss": ISSUER, "sub": "ray-subject", "name": "Ray",
                                "email": f"ray@{domain}", "email_verified": True})
    outcomes = race(database, lambda session: sso.returning_flow(session, state, SETTINGS),
                    lambda session, returning: sso_completion.complete(session, returning, answer,
                                                                       settings=SETTINGS))
    assert reasons(outcomes) == ["signed-in"] + ["state-used-or-expired"] * (ATTEMPTS - 1)
    assert count(database, select(func.count()).select_from(AuditEvent).where(
        AuditEvent.subject_user_id == user_id, AuditEvent.action == "sign_in.succeeded")) == 1


def first_sign_in_waiting(database: Database, subject: str, name: str) -> tuple[str, str]:
    """A person new to the site back from their provider, their identity waiting for the
    account page; (the sign-in's state, their email address)."""
    provider_id, domain = provider_with_organisation(database)
    email = f"{subject.replace('-', '.')}@{domain}"
    state = started_sign_in(database, provider_id, email)
    answer = sso.Answer(claims={"iss": ISSUER, "sub": subject, "name": name,
                                "email": email, "email_verified": True})
    with database.write_session() as session:
        returning = sso.returning_flow(session, state, SETTINGS)
        outcome = sso_completion.complete(session, returning, answer, settings=SETTINGS)
        assert outcome.kind == "new-account"
    return state, email


def test_a_first_sign_in_creates_one_account(database):
    state, email = first_sign_in_waiting(database, "new-starter", "New Starter")
    outcomes = race(database, lambda session: first_sign_in.waiting_identity(session, state),
                    lambda session, waiting: first_sign_in.create_account(session, waiting,
                                                                          "staff"))
    assert reasons(outcomes) == ["identity-finished"] * (ATTEMPTS - 1) + ["signed-in"]
    assert count(database, select(func.count()).select_from(User)
                 .where(User.email == email)) == 1
    assert count(database, select(func.count()).select_from(SsoIdentity)
                 .where(SsoIdentity.subject == "new-starter")) == 1


def test_the_page_sent_again_after_the_account_was_made_says_the_sign_in_is_finished(database):
    """The race's loser in slow motion: it read the waiting identity before the winner's
    commit and creates the account after it. It is told it has already finished (409),
    not that its sign-in expired."""
    state, _email = first_sign_in_waiting(database, "second-tab", "Second Tab")
    with database.session() as session:
        waiting_in_both_tabs = first_sign_in.waiting_identity(session, state)
    with database.write_session() as session:
        assert first_sign_in.create_account(
            session, waiting_in_both_tabs, "staff").kind == "signed-in"
    with database.write_session() as session, pytest.raises(sso.SignInProblem) as refused:
        first_sign_in.create_account(session, waiting_in_both_tabs, "staff")
    assert (refused.value.reason, refused.value.status) == ("identity-finished", 409)
