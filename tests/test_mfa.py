"""Two-step verification in the domain: codes, replay, drift, recovery codes, throttling."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from jesip_learn.accounts import mfa
from jesip_learn.accounts.models import RecoveryCode, TwoStepPending
from jesip_learn.accounts.sign_in import authenticate
from jesip_learn.accounts.throttle import DatabaseLoginThrottle, ThrottlePolicy
from jesip_learn.core.columns import utcnow
from jesip_learn.records.models import AuditEvent
from tests.support.factories import PASSWORD, make_user

THROTTLE = DatabaseLoginThrottle(ThrottlePolicy(failures_per_account=10,
                                                failures_per_address=50))


def actions(session, user) -> list[str]:
    return list(session.scalars(select(AuditEvent.action)
                                .where(AuditEvent.subject_user_id == user.id)
                                .order_by(AuditEvent.id)))


def enrolled(session, **kwargs):
    user = make_user(session, two_step=False, **kwargs)
    secret = mfa.start_set_up(session, user)
    codes = mfa.turn_on(session, user, mfa.code_for(secret, mfa.time_step(utcnow())))
    session.flush()
    return user, codes


def sign_in_code(session, user, code, now=None):
    return mfa.complete_sign_in(session, user, code, address="192.0.2.1", throttle=THROTTLE,
                                now=now)


def test_turning_on_needs_a_right_code_and_gives_ten_single_use_recovery_codes(session):
    user = make_user(session, two_step=False)
    secret = mfa.start_set_up(session, user)
    with pytest.raises(mfa.TwoStepError):
        mfa.turn_on(session, user, mfa.code_for(secret, mfa.time_step(utcnow()) + 60))
    assert not user.mfa_enabled and user.mfa_secret is None
    codes = mfa.turn_on(session, user, mfa.code_for(secret, mfa.time_step(utcnow())))
    session.flush()
    assert user.mfa_enabled and user.mfa_secret == secret
    assert len(codes) == len(set(codes)) == mfa.RECOVERY_CODE_COUNT
    stored = set(session.scalars(select(RecoveryCode.code_hash)
                                 .where(RecoveryCode.user_id == user.id)))
    assert not stored & set(codes), "recovery codes are kept only as hashes"
    assert "mfa.enabled" in actions(session, user)


def test_a_password_alone_does_not_sign_in_someone_who_uses_two_step(session):
    user, _ = enrolled(session)
    result = authenticate(session, user.email, PASSWORD, address="192.0.2.1",
                          throttle=THROTTLE)
    assert result.user is user and result.needs_second_step
    assert user.last_sign_in_at is None
    assert actions(session, user)[-1] == "sign_in.password_accepted"


def test_a_code_signs_in_once_and_never_again(session):
    user, _ = enrolled(session)
    now = utcnow() + timedelta(seconds=mfa.STEP_SECONDS * 3)
    code = mfa.code_for(user.mfa_secret, mfa.time_step(now))
    assert sign_in_code(session, user, code, now).user is user
    assert user.last_sign_in_at == now
    replay = sign_in_code(session, user, code, now)
    assert replay.user is None and replay.error == mfa.CODE_USED
    assert actions(session, user)[-2:] == ["sign_in.succeeded", "sign_in.two_step_failed"]


@pytest.mark.parametrize("steps_away, accepted", [(-2, False), (-1, True), (1, True),
                                                   (2, False)])
def test_a_clock_one_step_out_is_allowed_for_and_no_more(session, steps_away, accepted):
    user, _ = enrolled(session)
    now = utcnow() + timedelta(minutes=10)
    code = mfa.code_for(user.mfa_secret, mfa.time_step(now) + steps_away)
    assert (sign_in_code(session, user, code, now).user is not None) is accepted


def test_each_recovery_code_works_once_and_says_how_many_are_left(session):
    user, codes = enrolled(session)
    first = sign_in_code(session, user, codes[0].upper().replace("-", " "))
    assert first.user is user and first.used_recovery_code
    assert first.recovery_codes_left == mfa.RECOVERY_CODE_COUNT - 1
    again = sign_in_code(session, user, codes[0])
    assert again.user is None and again.error == mfa.WRONG_CODE


def test_new_recovery_codes_replace_the_old_ones(session):
    user, old = enrolled(session)
    new = mfa.replace_recovery_codes(session, user)
    session.flush()
    assert sign_in_code(session, user, old[1]).user is None
    assert sign_in_code(session, user, new[1]).user is user


def test_wrong_codes_count_towards_the_account_lock_out(session):
    user, _ = enrolled(session)
    for _ in range(10):
        assert sign_in_code(session, user, "not a code").error == mfa.WRONG_CODE
    now = utcnow()
    locked = sign_in_code(session, user, mfa.code_for(user.mfa_secret, mfa.time_step(now) + 1),
                          now)
    assert locked.user is None and "too many failed attempts" in locked.error
    assert actions(session, user)[-1] == "sign_in.refused"
    # The password step is refused too: the count is per account, on every path.
    refused = authenticate(session, user.email, PASSWORD, address="198.51.100.7",
                           throttle=THROTTLE)
    assert refused.user is None and "too many failed attempts" in refused.error


def test_administrators_and_managers_cannot_turn_it_off_for_themselves(session):
    manager, _ = enrolled(session, permissions={"manager"})
    with pytest.raises(mfa.TwoStepError, match="must use two-step"):
        mfa.turn_off(session, manager, manager)
    assert manager.mfa_enabled


def test_anyone_else_can_turn_it_off_and_their_recovery_codes_go(session):
    learner, _ = enrolled(session)
    mfa.turn_off(session, learner, learner)
    session.flush()
    assert not learner.mfa_enabled and learner.mfa_secret is None
    assert mfa.recovery_codes_left(session, learner) == 0
    assert "mfa.disabled" in actions(session, learner)


def test_only_an_administrator_resets_someone_elses(session):
    manager, _ = enrolled(session, permissions={"manager"})
    colleague = make_user(session, permissions={"manager"})
    with pytest.raises(mfa.TwoStepError, match="Only an administrator"):
        mfa.turn_off(session, colleague, manager)
    admin = make_user(session, permissions={"admin"})
    mfa.turn_off(session, admin, manager)
    session.flush()
    assert not manager.mfa_enabled
    assert "mfa.reset" in actions(session, manager)


def test_changing_settings_needs_a_fresh_code(session):
    user, _ = enrolled(session)
    now = utcnow() + timedelta(minutes=5)
    code = mfa.code_for(user.mfa_secret, mfa.time_step(now))
    mfa.check_code(session, user, code, now=now)
    with pytest.raises(mfa.TwoStepError, match="already been used"):
        mfa.check_code(session, user, code, now=now)
    with pytest.raises(mfa.TwoStepError, match="not right"):
        mfa.check_code(session, user, "12345", now=now)


def test_the_app_is_given_the_site_and_the_person(session):
    uri = mfa.provisioning_uri("JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP", "sam@example.org")
    assert uri.startswith("otpauth://totp/JESIP%20Learn:sam%40example.org?")
    assert "secret=JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP" in uri and "issuer=JESIP%20Learn" in uri
    assert mfa.grouped("JBSWY3DPEHPK3PXP") == "JBSW Y3DP EHPK 3PXP"


def test_the_key_being_set_up_waits_on_the_server_for_an_hour(session):
    user = make_user(session, two_step=False)
    now = utcnow()
    key = mfa.start_set_up(session, user, now=now)
    assert mfa.start_set_up(session, user, now=now + timedelta(minutes=59)) == key
    later = now + mfa.KEY_LIFETIME + timedelta(seconds=1)
    with pytest.raises(mfa.TwoStepError, match="no longer waiting"):
        mfa.turn_on(session, user, mfa.code_for(key, mfa.time_step(later)), now=later)
    new_key = mfa.start_set_up(session, user, now=later)
    assert new_key != key
    assert session.scalars(select(TwoStepPending.value)
                           .where(TwoStepPending.user_id == user.id)).all() == [new_key]


def test_a_set_up_code_turns_it_on_once(session):
    user = make_user(session, two_step=False)
    key = mfa.start_set_up(session, user)
    code = mfa.code_for(key, mfa.time_step(utcnow()))
    mfa.turn_on(session, user, code)
    with pytest.raises(mfa.TwoStepError, match="no longer waiting"):
        mfa.turn_on(session, user, code)
    session.flush()
    assert mfa.recovery_codes_left(session, user) == mfa.RECOVERY_CODE_COUNT
    assert actions(session, user).count("mfa.enabled") == 1


def test_new_recovery_codes_are_shown_until_saved_or_for_fifteen_minutes(session):
    user, codes = enrolled(session)
    assert mfa.recovery_codes_to_show(session, user) == codes
    mfa.recovery_codes_saved(session, user)
    assert mfa.recovery_codes_to_show(session, user) == []
    now = utcnow()
    new = mfa.replace_recovery_codes(session, user, now=now)
    assert mfa.recovery_codes_to_show(session, user, now=now + timedelta(minutes=14)) == new
    later = now + mfa.CODES_LIFETIME
    assert mfa.recovery_codes_to_show(session, user, now=later) == []
    # Run out, they are deleted the next time anyone's secret is kept.
    other = make_user(session, two_step=False)
    mfa.start_set_up(session, other, now=later)
    session.flush()
    assert session.scalar(select(TwoStepPending).where(TwoStepPending.user_id == user.id)) is None


@pytest.mark.parametrize("typed", ["²²²²²²", "١٢٣٤٥٦", "１２３４５x", "12345²", "\x00" * 6,
                                   "9" * 5000, "", "   "])
def test_codes_that_are_not_codes_are_wrong_codes(session, typed):
    user, _ = enrolled(session)
    now = utcnow() + timedelta(minutes=5)
    while "123456" in (mfa.code_for(user.mfa_secret, mfa.time_step(now) + drift)
                       for drift in (-1, 0, 1)):  # what "١٢٣٤٥٦" means (one in 333,000)
        now += timedelta(minutes=5)
    result = sign_in_code(session, user, typed, now)
    assert result.user is None and result.error == mfa.WRONG_CODE
    with pytest.raises(mfa.TwoStepError, match="not right"):
        mfa.check_code(session, user, typed, now=now)
    mfa.start_set_up(session, user, now=now)  # moving to a new phone
    with pytest.raises(mfa.TwoStepError, match="not right"):
        mfa.turn_on(session, user, typed, now=now)


def test_digits_typed_in_another_script_are_the_digits_they_are(session):
    user, _ = enrolled(session)
    now = utcnow() + timedelta(minutes=5)
    code = mfa.code_for(user.mfa_secret, mfa.time_step(now))
    arabic_indic = "".join(chr(0x0660 + int(digit)) for digit in code)
    assert sign_in_code(session, user, arabic_indic, now).user is user


def test_an_administrator_cannot_reset_their_own(session):
    admin, _ = enrolled(session, permissions={"admin"})
    with pytest.raises(mfa.TwoStepError, match="cannot reset your own"):
        mfa.reset(session, admin, admin)
    assert admin.mfa_enabled
    other, _ = enrolled(session, permissions={"manager"})
    mfa.reset(session, admin, other)
    assert not other.mfa_enabled
