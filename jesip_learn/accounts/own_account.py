"""What a signed-in person changes on their own account: their password (which ends their
other sessions and reset links; none for someone whose organisation requires single
sign-on), their name as their certificates show it, and signing out everywhere.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from jesip_learn.accounts import passwords
from jesip_learn.accounts.details import AccountError, check_name, check_new_password
from jesip_learn.accounts.models import User
from jesip_learn.accounts.tokens import revoke_password_reset_links
from jesip_learn.records.audit import record_event
from jesip_learn.sso.providers import SingleSignOnRequired, organisation_signing_in

NOTHING_TO_CHANGE = ("{organisation} signs its staff in to JESIP Learn with their work "
                     "account, so you have no JESIP Learn password to change. To change your "
                     "work account’s password, ask your IT service desk.")


def check_may_change_password(session: Session, user: User) -> None:
    """SingleSignOnRequired when the person's organisation signs them in with its own
    accounts: a password here would be refused at sign-in, so none is set."""
    organisation = organisation_signing_in(session, user)
    if organisation is not None:
        raise SingleSignOnRequired("current_password", NOTHING_TO_CHANGE.format(
            organisation=organisation.name), organisation)


def change_password(
    session: Session, user: User, current: str, new: str, address: str = ""
) -> None:
    check_may_change_password(session, user)
    if not passwords.verify_password(user.password_hash, current or ""):
        raise AccountError("current_password", "Your current password is not correct")
    check_new_password(new, email=user.email, name=user.name, field="new_password")
    if new == current:
        raise AccountError("new_password", "Choose a password different from your current one")
    set_password(session, user, new)
    record_event(session, "password.changed", actor=user, subject=user, address=address)


def set_password(session: Session, user: User, password: str, *,
                 password_hash: str | None = None) -> None:
    user.password_hash = password_hash or passwords.hash_password(password)
    user.invited_at = None  # the invitation has been taken up
    user.session_epoch += 1  # every other session of this user ends
    revoke_password_reset_links(session, [user.id])  # and every reset link sent before


def rename_self(session: Session, user: User, name: str, address: str = "") -> bool:
    """The person corrects their own name (it is on their certificates). Whether it
    changed."""
    name = check_name(name)
    if name == user.name:
        return False
    before, user.name = user.name, name
    record_event(session, "account.renamed", actor=user, subject=user, address=address,
                 summary="Corrected their own name",
                 details={"before": {"name": before}, "after": {"name": name}})
    return True


def sign_out_everywhere(session: Session, user: User) -> None:
    user.session_epoch += 1
    record_event(session, "sign_out.everywhere", actor=user, subject=user)
