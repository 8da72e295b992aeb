"""The person's next step after a first sign-in with their organisation's own account,
whose identity `jesip_learn.sso.completion` held on the sign-in under way: a new account
(`create_account`: their command role, asked once) or their existing account linked to the
organisation's (`link_account`: its password, once; an organisation that requires single
sign-on has its staff's accounts linked at once, in `jesip_learn.sso.completion`). Of two
tabs sending the same page, one wins.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from jesip_learn.accounts import passwords
from jesip_learn.accounts.details import AccountError, check_command_role, find_user_by_email
from jesip_learn.accounts.models import Organisation, Permission, PermissionGrant, User
from jesip_learn.accounts.throttle import DatabaseLoginThrottle, RedisLoginThrottle
from jesip_learn.core.columns import utcnow
from jesip_learn.records.audit import record_event
from jesip_learn.sso.completion import (
    Identity,
    Outcome,
    add_identity,
    link_existing_account,
    record_sign_in,
    usable_account,
)
from jesip_learn.sso.models import SsoFlow
from jesip_learn.sso.sign_in import USED_OR_EXPIRED, SignInProblem, sign_in_problem, state_hash


@dataclass(frozen=True)
class Waiting:
    flow_id: int
    identity: Identity
    next_url: str
    user: User | None  # the account to link, for link-account


def waiting_identity(session: Session, state: str, *, now: datetime | None = None) -> Waiting:
    """The identity held after a first sign-in, for its next page."""
    now = now or utcnow()
    flow = session.scalar(select(SsoFlow).where(SsoFlow.state_hash == state_hash(state)))
    if flow is not None and flow.finished_at is not None:
        raise _already_finished()
    if flow is None or flow.identity is None or flow.expires_at <= now:
        raise sign_in_problem("identity-used-or-expired", USED_OR_EXPIRED, status=400,
                              title="Start signing in again")
    user = session.get(User, flow.user_id) if flow.user_id else None
    return Waiting(flow_id=flow.id, identity=Identity(**flow.identity),
                   next_url=flow.next_url, user=user)


def _already_finished() -> SignInProblem:
    """The page sent twice (a double click, two tabs): the first one has done it."""
    return SignInProblem("identity-finished", "You have already finished signing in",
                         "Your account was set up a moment ago, from this page sent once "
                         "before. Go to My training; if you are not signed in, sign in with "
                         "your organisation’s account again.", status=409)


def _take(session: Session, waiting: Waiting, now: datetime) -> None:
    """Finish the flow: of two tabs sending the same page, one wins."""
    taken = session.execute(
        update(SsoFlow).where(SsoFlow.id == waiting.flow_id, SsoFlow.finished_at.is_(None),
                              SsoFlow.expires_at > now)
        .values(finished_at=now, identity=None).execution_options(synchronize_session=False)
    ).rowcount
    if taken != 1:
        raise _already_finished()


def create_account(session: Session, waiting: Waiting, command_role: str, *,
                   address: str = "", now: datetime | None = None) -> Outcome:
    """The account of someone signing in for the first time, in their organisation: name and
    email from their organisation's account, confirmed and approved (the tenant vouches
    for them), with no password; their command role as they chose it."""
    now = now or utcnow()
    identity = waiting.identity
    command_role = check_command_role(command_role)
    # Taken first: the same page sent twice then finds the flow finished, and says so,
    # rather than finding the account the first one has just made. A flow for an address
    # that already has an account ends here too: the person starts signing in again.
    _take(session, waiting, now)
    if waiting.user is not None or find_user_by_email(session, identity.email) is not None:
        raise sign_in_problem("identity-used-or-expired", USED_OR_EXPIRED, status=400,
                              title="Start signing in again")
    organisation = session.get(Organisation, identity.organisation_id)
    user = User(name=identity.name, email=identity.email, password_hash="",
                organisation=organisation, command_role=command_role, email_confirmed_at=now,
                approved_at=now, grants=[PermissionGrant(permission=Permission.LEARNER)])
    session.add(user)
    session.flush()
    add_identity(session, user, identity, now)
    record_event(session, "account.registered", actor=user, subject=user, address=address,
                 summary=f"Registered with {organisation.name} through {identity.provider_name}",
                 details={"method": "single sign-on", "needs_approval": False})
    record_event(session, "sso.account_linked", actor=user, subject=user, address=address,
                 summary=f"Signs in through {identity.provider_name}",
                 details={"provider": identity.provider_name, "tenant_id": identity.tenant_id})
    return Outcome("signed-in", identity, waiting.next_url, user=user,
                   second_step=record_sign_in(session, user, identity, address, now))


WRONG_PASSWORD = ("The password is not right. Enter the password of your JESIP Learn "  # noqa: S105
                  "account.")


def link_account(session: Session, waiting: Waiting, password: str, *, address: str,
                 throttle: DatabaseLoginThrottle | RedisLoginThrottle,
                 now: datetime | None = None) -> Outcome:
    """Link the existing account with the same (trusted) email address, in the same
    organisation, once its password proves it is the person's. Wrong passwords count
    towards the sign-in throttle like any other."""
    now = now or utcnow()
    user, identity = waiting.user, waiting.identity
    if user is None:
        raise sign_in_problem("identity-used-or-expired", USED_OR_EXPIRED, status=400,
                              title="Start signing in again")
    refusal = throttle.refusal(session, user.email, address, now)
    if refusal:
        record_event(session, "sign_in.refused", subject=user, address=address,
                     details={"email": user.email, "step": "single sign-on link"})
        raise AccountError("password", refusal)
    if not passwords.verify_password(user.password_hash, password or ""):
        throttle.record_failure(session, user.email, address, now)
        record_event(session, "sign_in.failed", subject=user, address=address,
                     details={"email": user.email, "step": "single sign-on link"})
        raise AccountError("password", WRONG_PASSWORD)
    usable_account(session, user, identity, address)
    _take(session, waiting, now)
    throttle.clear(session, user.email)
    link_existing_account(session, user, identity, address=address, now=now,
                          summary=f"Linked to their account at {identity.provider_name}")
    return Outcome("signed-in", identity, waiting.next_url, user=user,
                   second_step=record_sign_in(session, user, identity, address, now))
