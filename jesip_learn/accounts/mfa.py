"""Two-step sign-in: a time-based one-time password (TOTP, RFC 6238) from an authenticator
app, with single-use recovery codes for when the phone is lost.

Administrators and managers must use it (they see other people's records); anyone else may.
A code is accepted for the 30-second step it belongs to and one step either side, to allow
for clocks that drift, and never twice: the last accepted step is kept, and claimed with one
conditional update, so that of sessions sending the same code at once exactly one wins (on
PostgreSQL the others wait for the row, then find the step taken). A recovery code is claimed
the same way.

The key being set up and new recovery codes wait on the server (`TwoStepPending`) for a short
while, never in the session cookie, which the browser can read.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import pyotp
from sqlalchemy import delete, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from jesip_learn.accounts.models import RecoveryCode, TwoStepPending, User
from jesip_learn.accounts.throttle import DatabaseLoginThrottle, RedisLoginThrottle
from jesip_learn.core.columns import utcnow
from jesip_learn.core.input_errors import InputError
from jesip_learn.records.audit import record_event

ISSUER = "JESIP Learn"
STEP_SECONDS = 30
DRIFT_STEPS = 1
RECOVERY_CODE_COUNT = 10
# Ten letters and digits a person cannot confuse (no 0/o, 1/l/i): about 49 bits each.
RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"
RECOVERY_LENGTH = 10
# What waits on the server: a key until the app proves it, codes until the person saves them.
PENDING_KEY = "authenticator-key"
PENDING_CODES = "recovery-codes"
KEY_LIFETIME = timedelta(hours=1)
CODES_LIFETIME = timedelta(minutes=15)

WRONG_CODE = "The code is not right. Check your authenticator app and enter the current code."
CODE_USED = ("That code has already been used. Wait for your authenticator app to show a new "
             "code, then enter it.")
SET_UP_WRONG = ("The code is not right. Check the app shows JESIP Learn, then enter the 6-digit "
                "code it shows now.")
KEY_GONE = ("The key you scanned is no longer waiting to be set up: it has been used, or it ran "
            "out after an hour. Scan the QR code below (or type its key), then enter the code "
            "the app shows.")
MUST_USE = ("Administrators and managers must use two-step verification. To use a new phone, "
            "set it up again instead.")
OWN_RESET = ("You cannot reset your own two-step verification. To move it to a new phone, use "
             "“Set up two-step verification on a new phone” in your account’s two-step "
             "verification settings: it asks for your password and a code. If you have lost "
             "your phone and your recovery codes, another administrator must reset it.")


class TwoStepError(InputError, ValueError):
    def __init__(self, message: str, field: str = "code"):
        super().__init__(message)
        self.field = field


def new_secret() -> str:
    return pyotp.random_base32()


def provisioning_uri(secret: str, email: str, issuer: str = ISSUER) -> str:
    """The otpauth:// address an authenticator app reads from the QR code."""
    return pyotp.TOTP(secret).provisioning_uri(name=email, issuer_name=issuer)


def grouped(secret: str) -> str:
    """The secret in groups of four, for people who type it in rather than scan it."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def time_step(at: datetime) -> int:
    return int(at.timestamp()) // STEP_SECONDS


def code_for(secret: str, step: int) -> str:
    return pyotp.TOTP(secret).at(step * STEP_SECONDS)


def _normalised(code: str) -> str:
    """Spaces, hyphens and case do not matter; digits typed on a keyboard of another script
    (Arabic-Indic, full-width...) count as the digits they are."""
    code = "".join((code or "").split()).replace("-", "").lower()
    return "".join(str(unicodedata.decimal(c)) if c.isdecimal() else c for c in code)


def _matching_step(secret: str, code: str, now: datetime) -> int | None:
    # isascii too: isdigit() accepts "²", and compare_digest refuses non-ASCII strings.
    if len(code) != 6 or not (code.isascii() and code.isdigit()):
        return None
    current = time_step(now)
    for step in range(current - DRIFT_STEPS, current + DRIFT_STEPS + 1):
        if hmac.compare_digest(code_for(secret, step), code):
            return step
    return None


def _hash_code(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def _new_recovery_code() -> str:
    raw = "".join(secrets.choice(RECOVERY_ALPHABET) for _ in range(RECOVERY_LENGTH))
    return f"{raw[:5]}-{raw[5:]}"


def replace_recovery_codes(session: Session, user: User, *, address: str = "",
                           announce: bool = True, now: datetime | None = None) -> list[str]:
    """New codes, kept on the server until the person has seen and saved them
    (`recovery_codes_to_show`); every earlier code stops working."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = [_new_recovery_code() for _ in range(RECOVERY_CODE_COUNT)]
    session.add_all(RecoveryCode(user_id=user.id, code_hash=_hash_code(_normalised(code)))
                    for code in codes)
    _hold(session, user, PENDING_CODES, "\n".join(codes), CODES_LIFETIME, now or utcnow())
    if announce:
        record_event(session, "mfa.recovery_codes_replaced", actor=user, subject=user,
                     address=address)
    return codes


def recovery_codes_to_show(session: Session, user: User, *,
                           now: datetime | None = None) -> list[str]:
    """The codes just made, until the person says they have saved them or 15 minutes pass."""
    held = _waiting(session, user, PENDING_CODES, now or utcnow())
    return held.value.split("\n") if held else []


def recovery_codes_saved(session: Session, user: User) -> None:
    _forget(session, user, PENDING_CODES)


def recovery_codes_left(session: Session, user: User) -> int:
    return session.scalar(select(func.count()).where(RecoveryCode.user_id == user.id,
                                                     RecoveryCode.used_at.is_(None)))


def start_set_up(session: Session, user: User, *, now: datetime | None = None) -> str:
    """The key for the authenticator app being set up: the one already waiting (reloading
    the page keeps what was scanned), or a new one, kept on the server for an hour."""
    now = now or utcnow()
    waiting = _waiting(session, user, PENDING_KEY, now)
    if waiting is not None:
        return waiting.value
    _forget_expired(session, now)
    session.execute(delete(TwoStepPending).where(
        TwoStepPending.user_id == user.id, TwoStepPending.purpose == PENDING_KEY,
        TwoStepPending.expires_at <= now).execution_options(synchronize_session=False))
    # Two tabs opening the page at once: the first key made is the one both show.
    insert = (postgresql_insert if session.get_bind().dialect.name == "postgresql"
              else sqlite_insert)
    session.execute(insert(TwoStepPending).values(
        user_id=user.id, purpose=PENDING_KEY, value=new_secret(), created_at=now,
        expires_at=now + KEY_LIFETIME).on_conflict_do_nothing(
        index_elements=["user_id", "purpose"]))
    return _waiting(session, user, PENDING_KEY, now).value


def turn_on(session: Session, user: User, code: str, *, address: str = "",
            now: datetime | None = None) -> list[str]:
    """Keep the waiting key once a code from the app proves it was set up; return recovery
    codes. Of sessions proving the same key at once, the one that claims it wins."""
    now = now or utcnow()
    waiting = _waiting(session, user, PENDING_KEY, now)
    if waiting is None:
        raise TwoStepError(KEY_GONE)
    step = _matching_step(waiting.value, _normalised(code), now)
    if step is None:
        raise TwoStepError(SET_UP_WRONG)
    claimed = session.execute(delete(TwoStepPending).where(TwoStepPending.id == waiting.id)
                              .execution_options(synchronize_session=False)).rowcount
    if claimed != 1:
        raise TwoStepError(KEY_GONE)
    session.expunge(waiting)  # its row is gone
    user.mfa_secret = waiting.value
    user.mfa_enabled_at = now
    user.mfa_last_step = step
    record_event(session, "mfa.enabled", actor=user, subject=user, address=address)
    return replace_recovery_codes(session, user, announce=False, now=now)


def check_code(session: Session, user: User, code: str, *, now: datetime | None = None) -> None:
    """A fresh code from the app, to confirm a change to two-step settings."""
    now = now or utcnow()
    step = _matching_step(user.mfa_secret or "", _normalised(code), now)
    if step is None:
        raise TwoStepError(WRONG_CODE)
    if not _claim_step(session, user, step):
        raise TwoStepError(CODE_USED)


def turn_off(session: Session, actor: User, user: User, *, address: str = "") -> None:
    """By the person (only if their role does not need it) or by an administrator, for
    someone who has lost their phone and their codes: they set it up again at next sign-in."""
    if actor.id == user.id and user.mfa_required:
        raise TwoStepError(MUST_USE)
    if actor.id != user.id and not actor.is_admin:
        raise TwoStepError("Only an administrator can reset someone else's two-step "
                           "verification.")
    user.mfa_secret = None
    user.mfa_enabled_at = None
    user.mfa_last_step = None
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.execute(delete(TwoStepPending).where(TwoStepPending.user_id == user.id))
    action = "mfa.disabled" if actor.id == user.id else "mfa.reset"
    record_event(session, action, actor=actor, subject=user, address=address)


def reset(session: Session, admin: User, user: User, *, address: str = "") -> None:
    """An administrator's reset, for someone who has lost their phone and their recovery
    codes. Never their own: moving it to a new phone asks for their password and a code,
    which a session left open on someone else's screen cannot give."""
    if admin.id == user.id:
        raise TwoStepError(OWN_RESET)
    turn_off(session, admin, user, address=address)


def _claim_step(session: Session, user: User, step: int) -> bool:
    """Record the step as used unless it, or a later one, was used already."""
    claimed = session.execute(
        update(User).where(User.id == user.id, or_(User.mfa_last_step.is_(None),
                                                   User.mfa_last_step < step))
        .values(mfa_last_step=step).execution_options(synchronize_session=False)).rowcount
    if claimed == 1:
        set_committed_value(user, "mfa_last_step", step)
    return claimed == 1


def _claim_recovery_code(session: Session, code: RecoveryCode, now: datetime) -> bool:
    claimed = session.execute(
        update(RecoveryCode).where(RecoveryCode.id == code.id, RecoveryCode.used_at.is_(None))
        .values(used_at=now).execution_options(synchronize_session=False)).rowcount
    if claimed == 1:
        set_committed_value(code, "used_at", now)
    return claimed == 1


def _waiting(session: Session, user: User, purpose: str, now: datetime) -> TwoStepPending | None:
    return session.scalar(select(TwoStepPending).where(
        TwoStepPending.user_id == user.id, TwoStepPending.purpose == purpose,
        TwoStepPending.expires_at > now))


def _hold(session: Session, user: User, purpose: str, value: str, lifetime: timedelta,
          now: datetime) -> None:
    """Keep a secret on the server for a while, in place of any held for the same purpose."""
    _forget_expired(session, now)
    _forget(session, user, purpose)
    session.add(TwoStepPending(user_id=user.id, purpose=purpose, value=value, created_at=now,
                               expires_at=now + lifetime))


def _forget_expired(session: Session, now: datetime) -> None:
    """Everyone's secrets that have run out: they are not kept for people who never came back.
    Rows another transaction holds are left for the next time, so no one waits for them."""
    expired = (select(TwoStepPending.id).where(TwoStepPending.expires_at <= now)
               .with_for_update(skip_locked=True))
    session.execute(delete(TwoStepPending).where(TwoStepPending.id.in_(expired.scalar_subquery()))
                    .execution_options(synchronize_session=False))


def _forget(session: Session, user: User, purpose: str) -> None:
    session.execute(delete(TwoStepPending).where(TwoStepPending.user_id == user.id,
                                                 TwoStepPending.purpose == purpose)
                    .execution_options(synchronize_session=False))


@dataclass(frozen=True)
class SecondStep:
    user: User | None
    error: str = ""
    used_recovery_code: bool = False
    recovery_codes_left: int = 0


def complete_sign_in(
    session: Session,
    user: User,
    code: str,
    *,
    address: str,
    throttle: DatabaseLoginThrottle | RedisLoginThrottle,
    now: datetime | None = None,
) -> SecondStep:
    """The second step of signing in: a code from the app, or an unused recovery code.
    Wrong codes count towards the same per-account limit as wrong passwords."""
    now = now or utcnow()
    # Counted as a failure in the same atomic step that reads the count, so codes sent in
    # parallel cannot all be checked before the limit is reached; a right code takes it back.
    claim = throttle.claim(session, user.email, address, now)
    if claim.refusal:
        record_event(session, "sign_in.refused", subject=user, address=address,
                     details={"email": user.email, "step": "two-step"})
        return SecondStep(None, claim.refusal)
    entered = _normalised(code)
    step = _matching_step(user.mfa_secret or "", entered, now)
    recovery = None
    if step is not None:
        if not _claim_step(session, user, step):
            return _failed(session, user, address, CODE_USED)
    else:
        recovery = session.scalar(select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None),
            RecoveryCode.code_hash == _hash_code(entered)))
        if recovery is None or not _claim_recovery_code(session, recovery, now):
            return _failed(session, user, address, WRONG_CODE)
    throttle.release(session, claim)
    throttle.clear(session, user.email)
    user.last_sign_in_at = now
    record_event(session, "sign_in.succeeded", actor=user, subject=user, address=address,
                 details={"second_step": "recovery code" if recovery else "authenticator app"})
    if recovery is None:
        return SecondStep(user)
    session.flush()
    return SecondStep(user, used_recovery_code=True,
                      recovery_codes_left=recovery_codes_left(session, user))


def _failed(session, user, address, message) -> SecondStep:
    # The failure was counted when the attempt was claimed.
    record_event(session, "sign_in.two_step_failed", subject=user, address=address,
                 details={"email": user.email})
    return SecondStep(None, message)
