"""The retention purge and erasure: they anonymise exactly the people they should, remove
their personal rows and leave every figure as it was; the retention period is a setting,
read by the purge command, which has a dry run; erasure on request is recorded."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from jesip_learn.accounts.administration import AccountChanges, update_account
from jesip_learn.accounts.details import AccountError
from jesip_learn.accounts.models import (
    LoginFailure,
    OneTimeToken,
    PreviousMembership,
    RecoveryCode,
    TokenPurpose,
    TwoStepPending,
    User,
)
from jesip_learn.core.columns import utcnow
from jesip_learn.exercises.live import actions, debrief, feed, sessions
from jesip_learn.exercises.live.erasure import REMOVED
from jesip_learn.exercises.live.log import entries
from jesip_learn.learning.models import Completion, ScenarioRun
from jesip_learn.notifications.models import NotificationPreference
from jesip_learn.records import personal_data as records
from jesip_learn.records.audit import record_event
from jesip_learn.records.models import Anonymisation, AuditEvent
from tests.support.factories import make_organisation, make_user
from tests.support.live import live_world
from tests.support.records import NOW, complete, matrix_counts, since

# --- the retention purge ---------------------------------------------------------------------


def _leaver(session, organisation, course, *, joined, left, name):
    person = make_user(session, organisation=organisation, name=name)
    since(person, joined)
    complete(session, person, course, joined + timedelta(days=30))
    if left is not None:
        person.is_active, person.deactivated_at = False, left
    session.flush()
    return person


def _personal_rows(session, person, course):
    session.add_all([
        RecoveryCode(user_id=person.id, code_hash="a" * 64),
        TwoStepPending(user_id=person.id, purpose="authenticator-key", value="JBSWY3DPEHPK3PXP",
                       expires_at=NOW + timedelta(hours=1)),
        OneTimeToken(purpose=TokenPurpose.PASSWORD_RESET, token_hash=f"{person.id:064d}",
                     user_id=person.id, expires_at=NOW),
        LoginFailure(email=person.email, address="192.0.2.1"),
        NotificationPreference(user_id=person.id, expiry_reminders=False),
        ScenarioRun(user_id=person.id, course_id=course.id,
                    version_id=course.published_version_id, item_slug="s", path=[],
                    methane={"m": ["Major incident declared by Sergeant Bloggs"] + [""] * 6},
                    result="pass", points=7),
    ])
    record_event(session, "sign_in.failed", subject=person, details={"email": person.email})
    # Refused sign-ins name no account, only the address typed.
    record_event(session, "sign_in.refused", details={"email": person.email})
    person.mfa_secret, person.mfa_enabled_at = "JBSWY3DPEHPK3PXP", NOW - timedelta(days=3000)


def test_the_purge_anonymises_exactly_the_leavers_past_retention_and_no_figure_changes(
        session, course):
    police = make_organisation(session)
    years_ago = {n: NOW - timedelta(days=365 * n + 2) for n in range(12)}
    old_leaver = _leaver(session, police, course, joined=years_ago[11], left=years_ago[7],
                         name="Olive Oldleaver")
    just_inside = _leaver(session, police, course, joined=years_ago[11],
                          left=NOW - timedelta(days=365 * 6 - 5), name="Ivy Inside")
    recent = _leaver(session, police, course, joined=years_ago[9], left=years_ago[2],
                     name="Rita Recent")
    staying = _leaver(session, police, course, joined=years_ago[10], left=None,
                      name="Stan Staying")
    refused = make_user(session, organisation=police, name="Rex Refused")
    refused.created_at, refused.approved_at, refused.is_active = years_ago[8], None, False
    mover = _leaver(session, police, course, joined=years_ago[11], left=years_ago[8],
                    name="Mona Moved")
    session.add(PreviousMembership(user_id=mover.id, organisation_id=police.id,
                                   command_role="staff", started_at=years_ago[11],
                                   ended_at=years_ago[10]))
    for person in (old_leaver, refused, recent):
        _personal_rows(session, person, course)
    old_email = old_leaver.email
    session.flush()
    past_retention = {old_leaver.id, refused.id, mover.id}
    dates = [years_ago[n].date() for n in (10, 9, 8, 7, 3, 1)] + [NOW.date()]
    before = {as_of: matrix_counts(session, None, as_of) for as_of in dates}
    assert any(before.values())

    dry = records.purge(session, now=NOW, years=6, dry_run=True)
    assert {leaver.user_id for leaver in dry.leavers} == past_retention
    assert session.scalar(select(func.count()).select_from(Anonymisation)) == 0
    assert old_leaver.name == "Olive Oldleaver"

    result = records.purge(session, now=NOW, years=6)
    session.flush()
    session.expire_all()
    assert {leaver.user_id for leaver in result.leavers} == past_retention
    anonymised = set(session.scalars(select(Anonymisation.user_id)))
    assert anonymised == past_retention
    for person in (just_inside, recent, staying):
        assert not person.name.startswith("Former user")
    assert {as_of: matrix_counts(session, None, as_of) for as_of in dates} == before

    old = session.get(User, old_leaver.id)
    assert old.name == f"Former user {old.id}"
    assert old.email == f"former-user-{old.id}@anonymised.invalid"
    assert old.password_hash == "" and old.mfa_secret is None and old.mfa_enabled_at is None
    for model in (RecoveryCode, TwoStepPending, OneTimeToken, NotificationPreference):
        assert session.scalar(select(func.count()).select_from(model)
                              .where(model.user_id == old.id)) == 0
    assert session.scalar(select(func.count()).select_from(LoginFailure).where(
        LoginFailure.email == old_email)) == 0
    assert session.scalar(select(func.count()).select_from(Completion)
                          .where(Completion.user_id == old.id)) == 1
    run = session.scalar(select(ScenarioRun).where(ScenarioRun.user_id == old.id))
    assert run.methane == {"m": [""] * 7} and run.points == 7 and run.result == "pass"
    everything_logged = json.dumps([(e.summary, e.details) for e in session.scalars(
        select(AuditEvent))])
    assert "Olive" not in everything_logged and "Rex Refused" not in everything_logged
    assert old_email not in everything_logged and recent.email in everything_logged
    # The others' details are untouched.
    assert session.scalar(select(func.count()).select_from(RecoveryCode)
                          .where(RecoveryCode.user_id == recent.id)) == 1
    assert session.scalar(select(func.count()).select_from(LoginFailure)
                          .where(LoginFailure.email == recent.email)) == 1
    purged = session.scalar(select(AuditEvent).where(AuditEvent.action == "records.purged"))
    assert purged.details["count"] == 3 and sorted(purged.details["user_ids"]) == sorted(
        past_retention)
    # Once done, nothing is left to purge.
    assert records.purge(session, now=NOW, years=6, dry_run=True).leavers == []


def test_the_retention_period_is_a_setting(session, course):
    police = make_organisation(session)
    person = _leaver(session, police, course, joined=NOW - timedelta(days=4000),
                     left=NOW - timedelta(days=365 * 3), name="Three Years")
    assert records.purge(session, now=NOW, years=6, dry_run=True).leavers == []
    assert [leaver.user_id for leaver in records.purge(
        session, now=NOW, years=2, dry_run=True).leavers] == [person.id]
    with pytest.raises(ValueError):
        records.retention_cutoff(NOW, 0)


# --- erasure on request ------------------------------------------------------------------------


def test_erasure_on_request_anonymises_and_is_recorded(session, course):
    police = make_organisation(session)
    admin = make_user(session, organisation=police, permissions={"admin"})
    person = make_user(session, organisation=police, name="Erin Erase")
    complete(session, person, course, NOW - timedelta(days=10))
    with pytest.raises(records.ErasureError, match="reason"):
        records.erase_on_request(session, admin, person, reason="  ")
    with pytest.raises(records.ErasureError, match="The reason must not contain control"):
        records.erase_on_request(session, admin, person, reason="Asked\x1b[2J by letter")
    with pytest.raises(records.ErasureError, match="your own"):
        records.erase_on_request(session, admin, admin, reason="asked")
    records.refuse_erasure(session, admin, person, reason="Still employed: the force must "
                           "show the training")
    assert person.name == "Erin Erase"
    records.erase_on_request(session, admin, person, reason="Left the service; asked by letter")
    session.flush()
    assert person.name == f"Former user {person.id}" and not person.is_active
    assert person.deactivated_at is not None
    done = session.scalar(select(Anonymisation).where(Anonymisation.user_id == person.id))
    assert (done.grounds, done.actor_id) == ("request", admin.id)
    actions = set(session.scalars(select(AuditEvent.action)
                                  .where(AuditEvent.subject_user_id == person.id)))
    assert {"records.erasure_refused", "records.anonymised"} <= actions
    assert session.scalar(select(func.count()).select_from(Completion)
                          .where(Completion.user_id == person.id)) == 1
    with pytest.raises(records.ErasureError, match="already"):
        records.erase_on_request(session, admin, person, reason="again")
    # Nor can an administrator bring the nameless account back into the figures.
    with pytest.raises(AccountError, match="anonymised"):
        update_account(session, admin, person, AccountChanges(
            name="Erin Erase", organisation_id=police.id, command_role="operational",
            permissions=set(), is_active=True))
    assert not person.is_active


def test_erasure_removes_what_the_person_wrote_in_live_exercises_and_keeps_the_timeline(
        session):
    world = live_world(session)
    live, start = world.live, utcnow()
    pam, fred, fay = world.people["police-control"], world.people["fire-control"], \
        world.facilitator
    police, fire = (actions.acting_as(live, person) for person in (pam, fred))
    sessions.start(session, fay, live, now=start)
    sessions.bring_up_to_date(session, live, now=start + timedelta(seconds=91))
    actions.message(session, live, police, text="Pam here: Sergeant Bloggs is hurt",
                    target="fire-control", now=start + timedelta(seconds=100))
    actions.message(session, live, fire, text="Fred here: received", target="police-control",
                    now=start + timedelta(seconds=105))
    actions.methane(session, live, police, target="inter-control",
                    texts=["Major incident declared by Pam", "Quay Bridge, Kingsford",
                           "Marauding terrorist attack, van and knives",
                           "Attackers still active, van on fire",
                           "From the north-west over Castle Hill",
                           "Several injured on Quay Bridge and in The Anchor",
                           "Police armed officers en route"],
                    now=start + timedelta(seconds=110))
    for role in ("police-control", "fire-control", "ambulance-control"):
        actions.decide(session, live, actions.acting_as(live, world.people[role]),
                       decision_id="talk-group", option_id="1", reason=f"{role}: one picture",
                       now=start + timedelta(seconds=120))
    actions.send_extra(session, live, fay, title="Fay's inject", text="Fay: a bystander films",
                       roles=["fire-control"], now=start + timedelta(seconds=130))
    sessions.end(session, live, fay, now=start + timedelta(seconds=400))
    session.flush()

    def shape():
        return [(e.seq, e.kind, e.clock, e.created_at, e.actor_id, e.actor_role, e.target,
                 e.audience, e.event_ref, e.fact_ref) for e in entries(session, live)]

    def others():
        return [(e.seq, e.text, e.data) for e in entries(session, live)
                if e.actor_id not in (pam.id, fay.id)]

    shape_before, others_before = shape(), others()
    report = debrief.build(session, live)
    covered_before = [r.covered for r in report.methane[0].fields]
    assert sum(covered_before) >= 5 and report.decisions[0].agreed
    admin = make_user(session, organisation=pam.organisation, permissions={"admin"})
    for person in (pam, fay):
        records.erase_on_request(session, admin, person, reason="Asked by letter")
    session.flush()
    session.expire_all()

    assert shape() == shape_before and others() == others_before
    theirs = {e.kind: e for e in entries(session, live) if e.actor_id in (pam.id, fay.id)
              and e.kind in ("message", "methane", "answer", "extra")}
    assert {kind: e.text for kind, e in theirs.items()} == dict.fromkeys(theirs, REMOVED)
    assert theirs["methane"].data["fields"] == [""] * 7
    assert theirs["answer"].data["option"] == "1" and "title" not in theirs["extra"].data
    written = json.dumps([(e.text, e.data) for e in entries(session, live)])
    for words in ("Pam", "Bloggs", "Fay"):
        assert words not in written
    # The others' timeline: the entry is where it was, from the same role, without its words.
    seen = {i.seq: i for i in feed.feed(session, live, "fire-control")}
    message = seen[theirs["message"].seq]
    assert (message.source, message.text) == ("Police control room supervisor", REMOVED)
    assert seen[theirs["methane"].seq].fields == () and seen[theirs["methane"].seq].text == \
        REMOVED
    assert seen[theirs["extra"].seq].heading == "An event"
    # The debrief's figures stay; its rows name the author as the erased person.
    after = debrief.build(session, live)
    assert [r.covered for r in after.methane[0].fields] == covered_before
    assert (after.principles, after.jdm_stages) == (report.principles, report.jdm_stages)
    rows = {row[0]: row for row in debrief.csv_rows(after)}
    assert rows[theirs["message"].seq][5:] == (
        f"Former user {pam.id}", "fire-control", "fire-control, police-control", "", "",
        REMOVED)
    assert rows[theirs["extra"].seq][-1] == REMOVED
    assert rows[theirs["methane"].seq][-1] == REMOVED


def test_the_purge_command_has_a_dry_run_and_reads_the_retention_setting(app, session, make,
                                                                        organisation):
    leaver = make.user(organisation=organisation, name="Cleo Command")
    leaver.is_active, leaver.deactivated_at = False, NOW - timedelta(days=365 * 4)
    session.commit()
    runner = app.test_cli_runner()
    moment = NOW.isoformat()
    result = runner.invoke(args=["records", "purge", "--dry-run", "--now", moment])
    assert result.exit_code == 0 and "0 people left before 2025-06-01" in result.output
    app.config["RECORDS_RETENTION_YEARS"] = "3"
    result = runner.invoke(args=["records", "purge", "--dry-run", "--now", moment])
    assert f"account {leaver.id}\t" in result.output and "would be anonymised" in result.output
    session.expire_all()
    assert session.get(User, leaver.id).name == "Cleo Command"
    result = runner.invoke(args=["records", "purge", "--now", moment])
    assert result.exit_code == 0 and "1 person who left before 2028-06-01 anonymised" \
        in result.output
    session.expire_all()
    assert session.get(User, leaver.id).name == f"Former user {leaver.id}"
    app.config["RECORDS_RETENTION_YEARS"] = "0"
    result = runner.invoke(args=["records", "purge", "--dry-run"])
    assert result.exit_code != 0 and "at least 1" in result.output
