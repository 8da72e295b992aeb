"""Factories for organisations and users: valid by default, every field overridable."""

from __future__ import annotations

import itertools
from contextvars import ContextVar

from sqlalchemy.orm import Session

from jesip_learn.accounts import mfa, organisations, passwords
from jesip_learn.accounts.administration import create_user
from jesip_learn.accounts.models import Organisation, User
from jesip_learn.core.columns import utcnow

PASSWORD = "correct horse battery staple"
_numbers = itertools.count(1)

# Judging a new password (zxcvbn) costs tens of milliseconds, and the tests make thousands
# of accounts with PASSWORD: it is judged here once, and an account the factory makes with
# it is not judged again. Any other password, and every account made outside the factory
# (forms, commands, create_user called by a test), is judged as the site judges it.
_judge_password = passwords.password_problem
assert _judge_password(PASSWORD) is None, "the factories' password must be a valid one"
_making_with_judged_password: ContextVar[bool] = ContextVar("making_with_judged_password",
                                                             default=False)


def _password_problem(password: str, *, user_words: tuple[str, ...] = ()) -> str | None:
    if _making_with_judged_password.get() and password == PASSWORD:
        return None
    return _judge_password(password, user_words=user_words)


passwords.password_problem = _password_problem


def make_organisation(session: Session, *, name: str | None = None, service: str = "police",
                      domains: list[str] | None = None, area_ids: list[int] | None = None,
                      country: str = "England") -> Organisation:
    number = next(_numbers)
    return organisations.save_organisation(
        session, name=name or f"Testshire Service {number}", service=service, country=country,
        domains=domains or [], area_ids=area_ids or [])


def make_user(session: Session, *, organisation: Organisation | None = None,
              email: str | None = None, name: str | None = None, password: str = PASSWORD,
              command_role: str = "operational", permissions: set[str] | None = None,
              two_step: bool | None = None) -> User:
    """A user; administrators and managers come with two-step verification set up (they
    need it to sign in) unless `two_step=False`."""
    number = next(_numbers)
    organisation = organisation or make_organisation(session)
    judged = _making_with_judged_password.set(True)
    try:
        user = create_user(
            session, email=email or f"person{number}@example.org",
            name=name or f"Person {number}", password=password, organisation=organisation,
            command_role=command_role, permissions=permissions or set())
    finally:
        _making_with_judged_password.reset(judged)
    if two_step if two_step is not None else user.mfa_required:
        set_up_two_step(user)
    return user


def set_up_two_step(user: User) -> None:
    """Two-step verification as if the person had set it up; the Browser reads the secret."""
    user.mfa_secret = mfa.new_secret()
    user.mfa_enabled_at = utcnow()
