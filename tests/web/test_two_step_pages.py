"""Two-step verification through the site: signing in, setting it up, recovery codes,
settings, the administrators' reset, and the rule for administrators and managers."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from jesip_learn.accounts import mfa
from jesip_learn.accounts.models import User
from jesip_learn.core.columns import utcnow
from jesip_learn.records.models import AuditEvent
from tests.support.factories import PASSWORD
from tests.support.web import TWO_STEP_PATH, code_from_set_up_page, two_step_code


def password_step(browser, email, url="/sign-in"):
    return browser.submit(url, {"email": email, "password": PASSWORD}, follow_redirects=False,
                          form_url="/sign-in")


def code(app, user) -> str:
    return two_step_code(app.extensions["database"], user.email)


def test_a_manager_needs_the_code_after_the_password(browser, make, organisation, app):
    manager = make.user(organisation=organisation, permissions={"manager"})
    response = password_step(browser, manager.email)
    assert response.headers["Location"].endswith(TWO_STEP_PATH)
    # Half signed in is not signed in.
    assert browser.client.get("/account").status_code == 302
    page = browser.get(TWO_STEP_PATH)
    assert page.h1 == "Enter your security code"
    wrong = browser.submit(TWO_STEP_PATH, {"code": "999999x"})
    assert wrong.errors == [mfa.WRONG_CODE]
    assert browser.submit(TWO_STEP_PATH, {"code": code(app, manager)}).h1 == "My training"
    assert browser.get("/account").h1 == "Your account"


def test_the_page_asked_for_first_is_where_the_code_leads(browser, make, organisation, app):
    manager = make.user(organisation=organisation, permissions={"manager"})
    password_step(browser, manager.email, url="/sign-in?next=/manage/compliance")
    page = browser.submit(TWO_STEP_PATH, {"code": code(app, manager)})
    assert page.h1 == "Training compliance"


def test_a_code_cannot_be_replayed_in_another_session(browser, client, make, organisation, app):
    manager = make.user(organisation=organisation, permissions={"manager"})
    password_step(browser, manager.email)
    used = code(app, manager)
    browser.submit(TWO_STEP_PATH, {"code": used})
    browser.sign_out()
    password_step(browser, manager.email)
    assert browser.submit(TWO_STEP_PATH, {"code": used}).errors == [mfa.CODE_USED]


def test_the_second_step_runs_out_after_five_minutes(browser, make, organisation, app):
    manager = make.user(organisation=organisation, permissions={"manager"})
    password_step(browser, manager.email)
    with browser.client.session_transaction() as session:
        pending = session["two_step"]
        pending["at"] -= 6 * 60
        session["two_step"] = pending
    page = browser.submit(TWO_STEP_PATH, {"code": code(app, manager)},
                          form_url="/sign-in")
    assert page.h1 == "Sign in to JESIP Learn"
    assert "the time to enter your code ran out" in " ".join(page.notifications)
    assert browser.client.get("/account").status_code == 302


def test_a_recovery_code_signs_in_and_says_how_many_are_left(browser, make, organisation):
    learner = make.user(organisation=organisation)
    browser.sign_in(learner.email)
    browser.set_up_two_step()
    codes = [li.get_text(strip=True) for li in
             browser.get("/account/two-step/recovery-codes").soup.select("#recovery-codes li")]
    assert len(codes) == mfa.RECOVERY_CODE_COUNT
    browser.submit("/account/two-step/recovery-codes", {})
    browser.sign_out()
    password_step(browser, learner.email)
    page = browser.submit(TWO_STEP_PATH, {"code": codes[3]})
    assert page.h1 == "My training"
    assert "You have 9 recovery codes left" in " ".join(page.notifications)
    # Shown once: the page of new codes is gone.
    assert browser.get("/account/two-step/recovery-codes").status == 404


def test_a_manager_without_it_can_do_nothing_until_it_is_set_up(browser, client, make,
                                                                 organisation):
    manager = make.user(organisation=organisation, permissions={"manager"}, two_step=False)
    response = password_step(browser, manager.email)
    assert client.get(response.headers["Location"]).headers["Location"].endswith(
        "/account/two-step/set-up")
    for path in ("/account", "/learn", "/manage/compliance"):
        assert client.get(path).headers["Location"].endswith("/account/two-step/set-up")
    token = browser.get("/account/two-step/set-up").csrf_token()
    refused = client.post("/manage/requirements", data={"csrf_token": token})
    assert refused.status_code == 302 and refused.headers["Location"].endswith("/set-up")

    page = browser.get("/account/two-step/set-up")
    assert page.h1 == "Set up two-step verification"
    assert page.soup.select_one("svg.app-qr-code[role=img][aria-label]") is not None
    assert page.soup.find("script", src=False) is None
    wrong = browser.submit("/account/two-step/set-up", {"code": "123"})
    assert wrong.errors and "not right" in wrong.errors[0]
    # The key shown after a failed attempt is the one to use (it is kept for the retry).
    done = browser.submit("/account/two-step/set-up", {"code": code_from_set_up_page(wrong)},
                          form_url=None)
    assert done.h1 == "Save your recovery codes"
    finished = browser.submit("/account/two-step/recovery-codes", {})
    assert finished.h1 == "Training compliance"
    assert browser.get("/account").h1 == "Your account"


def test_sign_out_works_while_setting_up(browser, client, make, organisation):
    admin = make.user(organisation=organisation, permissions={"admin"}, two_step=False)
    password_step(browser, admin.email)
    page = browser.submit("/sign-out", {}, form_url="/account/two-step/set-up")
    assert page.h1 == "Sign in to JESIP Learn"


def test_a_learner_can_turn_it_on_and_off(browser, make, organisation, app, session):
    learner = make.user(organisation=organisation)
    browser.sign_in(learner.email)
    assert "Two-step verification is off" in browser.get("/account/two-step").text
    browser.set_up_two_step()
    browser.submit("/account/two-step/recovery-codes", {})
    settings = browser.get("/account/two-step")
    assert "Two-step verification is on" in settings.text
    assert "10 unused recovery codes" in settings.text
    without_code = browser.submit("/account/two-step/turn-off", {"code": ""},
                                  form_url="/account/two-step")
    assert without_code.status == 400
    assert without_code.errors == ["Enter the code from your authenticator app"]
    page = browser.submit("/account/two-step/turn-off", {"code": code(app, learner)},
                          form_url="/account/two-step")
    assert "Two-step verification is off" in " ".join(page.notifications)
    assert session.get(User, learner.id, populate_existing=True).mfa_secret is None


def test_a_manager_has_no_way_to_turn_it_off(browser, make, organisation, app, session):
    manager = make.user(organisation=organisation, permissions={"manager"})
    browser.sign_in(manager.email)
    settings = browser.get("/account/two-step")
    assert "Turn off" not in settings.text
    page = browser.submit("/account/two-step/turn-off", {"code": code(app, manager)},
                          form_url="/account/two-step")
    assert page.status == 400 and "must use two-step verification" in page.errors[0]
    assert session.get(User, manager.id, populate_existing=True).mfa_enabled


def test_new_recovery_codes_need_a_code_and_replace_the_old(browser, make, organisation, app):
    manager = make.user(organisation=organisation, permissions={"manager"})
    browser.sign_in(manager.email)
    page = browser.submit("/account/two-step/new-recovery-codes", {"code": code(app, manager)},
                          form_url="/account/two-step")
    assert page.h1 == "Save your recovery codes"
    assert len(page.soup.select("#recovery-codes li")) == mfa.RECOVERY_CODE_COUNT


def test_an_administrator_resets_it_for_someone_who_lost_their_phone(
        browser, make, organisation, session):
    admin = make.user(organisation=organisation, permissions={"admin"})
    manager = make.user(organisation=organisation, permissions={"manager"})
    browser.sign_in(admin.email)
    assert "On since" in browser.get(f"/admin/users/{manager.id}").text
    page = browser.submit(f"/admin/users/{manager.id}/reset-two-step", {},
                          form_url=f"/admin/users/{manager.id}")
    assert "two-step verification has been reset" in " ".join(page.notifications)
    assert not session.get(User, manager.id, populate_existing=True).mfa_enabled
    assert session.scalar(select(AuditEvent.actor_id).where(
        AuditEvent.action == "mfa.reset", AuditEvent.subject_user_id == manager.id)) == admin.id
    browser.sign_out()
    # Next time: the password, then straight to setting it up again.
    response = password_step(browser, manager.email)
    assert not response.headers["Location"].endswith(TWO_STEP_PATH)


def test_ten_wrong_codes_lock_the_account(browser, make, organisation, app):
    manager = make.user(organisation=organisation, permissions={"manager"})
    password_step(browser, manager.email)
    for _ in range(10):
        browser.submit(TWO_STEP_PATH, {"code": "12345678"})
    page = browser.submit(TWO_STEP_PATH, {"code": code(app, manager)})
    assert "too many failed attempts" in page.errors[0]
    assert browser.client.get("/account").status_code == 302


def test_the_set_up_key_works_in_an_authenticator_app(browser, make, organisation):
    learner = make.user(organisation=organisation)
    browser.sign_in(learner.email)
    page = browser.get("/account/two-step/set-up")
    secret = page.soup.find(id="mfa-secret").get_text().replace(" ", "")
    assert len(secret) == 32
    now = mfa.time_step(utcnow())
    assert browser.submit("/account/two-step/set-up", {"code": mfa.code_for(secret, now)},
                          form_url=None).h1 == "Save your recovery codes"


def test_moving_to_a_new_phone_needs_the_password(browser, make, organisation, app, session):
    manager = make.user(organisation=organisation, permissions={"manager"})
    old_secret = manager.mfa_secret
    browser.sign_in(manager.email)
    page = browser.get("/account/two-step/set-up")
    no_password = browser.submit("/account/two-step/set-up",
                                 {"code": code_from_set_up_page(page)})
    assert no_password.errors == ["Enter your current password"]
    moved = browser.submit("/account/two-step/set-up", {"code": code_from_set_up_page(page),
                                                        "password": PASSWORD})
    assert moved.h1 == "Save your recovery codes"
    new_secret = session.get(User, manager.id, populate_existing=True).mfa_secret
    assert new_secret not in (None, old_secret)


def session_cookie(client) -> str:
    """What the browser holds: the session cookie's content, decoded as anyone can."""
    app = client.application
    cookie = client.get_cookie(app.config["SESSION_COOKIE_NAME"], domain="jesip.test")
    if cookie is None:
        return ""
    content = app.session_interface.get_signing_serializer(app).loads(cookie.value)
    return json.dumps(content) + cookie.value


def test_no_two_step_secret_is_ever_in_the_session_cookie(browser, make, organisation, app):
    learner = make.user(organisation=organisation)
    browser.sign_in(learner.email)
    page = browser.get("/account/two-step/set-up")
    key = page.soup.find(id="mfa-secret").get_text().replace(" ", "")
    assert len(key) == 32
    assert key not in session_cookie(browser.client)
    assert browser.get("/account/two-step/set-up").soup.find(id="mfa-secret").get_text(
    ).replace(" ", "") == key, "the key waits on the server while it is scanned"
    done = browser.submit("/account/two-step/set-up", {"code": code_from_set_up_page(page)},
                          form_url=None)
    codes = [li.get_text(strip=True) for li in done.soup.select("#recovery-codes li")]
    assert len(codes) == mfa.RECOVERY_CODE_COUNT
    cookie = session_cookie(browser.client).lower()
    assert key.lower() not in cookie
    assert not [code for code in codes if code in cookie or code.replace("-", "") in cookie]
    browser.submit("/account/two-step/recovery-codes", {})
    new = browser.submit("/account/two-step/new-recovery-codes", {"code": code(app, learner)},
                         form_url="/account/two-step")
    new_codes = [li.get_text(strip=True) for li in new.soup.select("#recovery-codes li")]
    assert len(new_codes) == mfa.RECOVERY_CODE_COUNT
    cookie = session_cookie(browser.client).lower()
    assert not [code for code in new_codes if code in cookie or code.replace("-", "") in cookie]


def test_an_administrator_cannot_reset_their_own_and_is_told_how_to_move_it(
        browser, make, organisation, session):
    admin = make.user(organisation=organisation, permissions={"admin"})
    browser.sign_in(admin.email)
    own_page = browser.get(f"/admin/users/{admin.id}")
    assert own_page.status == 200
    assert "Reset two-step verification" not in own_page.text
    assert own_page.soup.find("a", href="/account/two-step") is not None
    response = browser.submit(f"/admin/users/{admin.id}/reset-two-step", {},
                              follow_redirects=False, form_url=f"/admin/users/{admin.id}")
    assert response.status_code == 302
    page = browser.get(response.headers["Location"])
    assert page.status == 200 and page.h1 == f"Edit {admin.name}"
    assert page.notifications == [mfa.OWN_RESET]
    assert session.get(User, admin.id, populate_existing=True).mfa_enabled
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "mfa.reset",
                                                   AuditEvent.subject_user_id == admin.id)) is None


LONG = "1" * 5000
ENTER_CODE = "Enter the code from your authenticator app"


@pytest.mark.parametrize("typed, error", [
    ("²", mfa.WRONG_CODE), ("²²²²²²", mfa.WRONG_CODE), ("١٢٣٤٥٧", mfa.WRONG_CODE),
    ("", ENTER_CODE), ("   ", ENTER_CODE),
    (LONG, "Enter the 6-digit code from your authenticator app, or one of your recovery codes"),
])
def test_the_sign_in_code_page_answers_odd_input_with_its_form(browser, make, organisation,
                                                               typed, error):
    manager = make.user(organisation=organisation, permissions={"manager"})
    password_step(browser, manager.email)
    page = browser.submit(TWO_STEP_PATH, {"code": typed})
    assert page.status == 200 and page.h1 == "Enter your security code"
    assert page.errors == [error]
    assert page.error_links() == {error: "code"}


@pytest.mark.parametrize("typed, error", [
    ("²²²²²²", mfa.SET_UP_WRONG), ("١٢٣٤٥٧", mfa.SET_UP_WRONG), ("", ENTER_CODE),
    (LONG, "Enter the 6-digit code from your authenticator app"),
])
def test_the_set_up_page_answers_odd_input_with_its_form(browser, make, organisation, typed,
                                                         error):
    learner = make.user(organisation=organisation)
    browser.sign_in(learner.email)
    page = browser.submit("/account/two-step/set-up", {"code": typed})
    assert page.status == 200 and page.h1 == "Set up two-step verification"
    assert page.errors == [error]


def test_a_very_long_password_when_moving_phone_is_just_wrong(browser, make, organisation):
    manager = make.user(organisation=organisation, permissions={"manager"})
    browser.sign_in(manager.email)
    page = browser.get("/account/two-step/set-up")
    wrong = browser.submit("/account/two-step/set-up", {"code": code_from_set_up_page(page),
                                                        "password": "p" * 100_000})
    assert wrong.status == 200 and wrong.errors == ["Enter your current password"]


@pytest.mark.parametrize("action, typed, error", [
    ("new-recovery-codes", "²²²²²²", mfa.WRONG_CODE),
    ("new-recovery-codes", LONG, "Enter the 6-digit code from your authenticator app"),
    ("turn-off", "١٢٣٤٥٧", mfa.WRONG_CODE), ("turn-off", "   ", ENTER_CODE),
])
def test_the_settings_page_answers_odd_input_with_its_form(browser, make, organisation,
                                                           action, typed, error, app):
    learner = make.user(organisation=organisation, two_step=True)
    browser.sign_in(learner.email)
    page = browser.submit(f"/account/two-step/{action}", {"code": typed},
                          form_url="/account/two-step")
    assert page.status == 400 and page.h1 == "Two-step verification"
    assert page.errors == [error]
