"""The details of an account as people type them, checked: the email address (its form,
with a lowercase domain), the full name, a new password against the policy
(`jesip_learn.accounts.passwords`), the command role and the organisation chosen; and
finding an account by its email address. `AccountError` names the form field a problem
belongs to.
"""

from __future__ import annotations

from email_validator import EmailNotValidError, validate_email
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jesip_learn.accounts import passwords
from jesip_learn.accounts.models import CommandRole, Organisation, User
from jesip_learn.core.input_errors import InputError
from jesip_learn.core.typed_text import control_character_problem


class AccountError(InputError, ValueError):
    """A problem the person can fix, named by the form field it belongs to."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


def normalise_email(email: str) -> str:
    """Check an email address's form (no DNS look-up) and return it with a lowercase domain."""
    email = (email or "").strip()
    if not email:
        raise AccountError("email", "Enter your email address")
    try:
        checked = validate_email(email, check_deliverability=False)
    except EmailNotValidError as error:
        raise AccountError(
            "email", "Enter an email address in the correct format, like name@example.org"
        ) from error
    return checked.normalized.lower()


def check_name(name: str) -> str:
    problem = control_character_problem(name or "", "Full name")
    if problem:
        raise AccountError("name", problem)
    name = " ".join((name or "").split())
    if not name:
        raise AccountError("name", "Enter your full name")
    if len(name) > 200:
        raise AccountError("name", "Full name must be 200 characters or fewer")
    return name


def check_new_password(password: str, *, email: str = "", name: str = "",
                       field: str = "password") -> str:
    words = (email, email.split("@")[0], *name.split())
    problem = passwords.password_problem(password or "", user_words=words)
    if problem:
        raise AccountError(field, problem)
    return password


def check_command_role(role: str) -> str:
    if role not in set(CommandRole):
        raise AccountError("command_role", "Select your command role")
    return role


def active_organisation(session: Session, organisation_id: int | None) -> Organisation:
    organisation = session.get(Organisation, organisation_id) if organisation_id else None
    if organisation is None or not organisation.is_active:
        raise AccountError("organisation", "Select your organisation from the list")
    return organisation


def find_user_by_email(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))
