"""Live exercises, the domain: a session made from the shipped marauding-attack script, its
clock, its event log numbered one after another, who sees what, shares, messages, M/ETHANE
messages, joint decisions, the refusals that change nothing, the debrief and the record
written at the end."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from jesip_learn.compliance.person_status import person_statuses
from jesip_learn.compliance.report_filters import ReportFilters, today_in_london
from jesip_learn.core.columns import utcnow
from jesip_learn.exercises import recorded as exercises
from jesip_learn.exercises.live import actions, debrief, feed, sessions
from jesip_learn.exercises.live.log import LiveError, entries
from jesip_learn.exercises.live.models import LiveEvent
from jesip_learn.exercises.models import ExerciseRequirement
from jesip_learn.records.models import AuditEvent
from tests.support.factories import make_organisation, make_user
from tests.support.live import live_world

METHANE = ["Yes, major incident and Operation Plato declared",
           "Quay Bridge and Quay Street, Kingsford", "Marauding terrorist attack, van and knives",
           "Attackers still active, van on fire", "From the north-west over Castle Hill",
           "Several injured on Quay Bridge and in The Anchor", "Police armed officers en route"]


@pytest.fixture
def world(session):
    return live_world(session)


def _as(world, role_id):
    return actions.acting_as(world.live, world.people[role_id])


def _seen(session, world, role_id):
    return [(i.kind, i.heading) for i in feed.feed(session, world.live, role_id)]


def test_the_clock_runs_pauses_and_releases_timed_events_once(session, world):
    live, start = world.live, utcnow()
    sessions.start(session, world.facilitator, live, now=start)
    assert [e.seq for e in entries(session, live)] == list(range(1, live.last_seq + 1))
    # At 00:00 only police control hears of the first calls.
    released = [e.event_ref for e in entries(session, live, kinds=("release",))]
    assert released == ["first-calls"]
    sessions.bring_up_to_date(session, live, now=start + timedelta(seconds=95))
    released = [e.event_ref for e in entries(session, live, kinds=("release",))]
    assert released == ["first-calls", "ambulance-calls", "van-fire", "talk-group"]
    sessions.pause(session, world.facilitator, live, now=start + timedelta(seconds=100))
    # Paused: an hour later nothing more is due.
    assert not sessions.bring_up_to_date(session, live, now=start + timedelta(hours=1))
    sessions.resume(session, world.facilitator, live, now=start + timedelta(hours=1))
    sessions.bring_up_to_date(session, live, now=start + timedelta(hours=1, seconds=81))
    plato = next(e for e in entries(session, live, kinds=("release",)) if e.event_ref == "plato")
    assert plato.clock == 180
    seqs = [e.seq for e in entries(session, live)]
    assert seqs == sorted(set(seqs)) and seqs == list(range(1, len(seqs) + 1))


def test_nobody_sees_what_has_not_reached_their_role(session, world):
    sessions.start(session, world.facilitator, world.live)
    assert ("release", "22:10, calls from Quay Bridge") in _seen(session, world, "police-control")
    for role in ("fire-control", "ambulance-control"):
        assert all(kind != "release" for kind, _ in _seen(session, world, role))
    everything = feed.feed(session, world.live, None)
    assert any(i.kind == "release" for i in everything)


def test_a_shared_fact_reaches_the_talk_group_and_counts_in_the_debrief(session, world):
    live, start = world.live, utcnow()
    sessions.start(session, world.facilitator, live, now=start)
    sessions.bring_up_to_date(session, live, now=start + timedelta(seconds=181))
    police = _as(world, "police-control")
    actions.share(session, live, police, item="fact:plato-declared", target="inter-control",
                  now=start + timedelta(seconds=200))
    fire_items = feed.feed(session, live, "fire-control")
    assert any(i.kind == "share" and "Operation Plato" in i.facts[0][1] for i in fire_items)
    # Fire did not receive the Plato event itself, so it cannot share it on.
    with pytest.raises(LiveError):
        actions.share(session, live, _as(world, "fire-control"), item="event:plato",
                      target="ambulance-control")
    sessions.end(session, live, world.facilitator, now=start + timedelta(seconds=300))
    report = debrief.build(session, live)
    plato = [a for a in report.facts if a.fact_id == "plato-declared"]
    assert {a.role_id for a in plato} == {"fire-control", "ambulance-control"}
    assert all(a.arrived_at == 200 and a.in_time for a in plato)
    assert all("Police control room supervisor" in a.through for a in plato)
    never = next(a for a in report.facts if a.fact_id == "casualty-locations")
    assert never.arrived_at is None and never.in_time is False


def test_methane_message_is_marked_against_the_model(session, world):
    live, start = world.live, utcnow()
    sessions.start(session, world.facilitator, live, now=start)
    actions.methane(session, live, _as(world, "police-control"), texts=METHANE,
                    target="inter-control", now=start + timedelta(seconds=250))
    assert any(i.kind == "methane" for i in feed.feed(session, live, "ambulance-control"))
    sessions.end(session, live, world.facilitator, now=start + timedelta(seconds=400))
    check, = debrief.build(session, live).methane
    assert check.sent is not None and check.in_time and check.due_by == 540
    assert check.covered >= 5


def test_a_joint_decision_is_agreed_when_all_choose_the_same_option(session, world):
    live, start = world.live, utcnow()
    sessions.start(session, world.facilitator, live, now=start)
    with pytest.raises(LiveError, match="not been asked"):
        actions.decide(session, live, _as(world, "police-control"), decision_id="talk-group",
                       option_id="1", reason="Early")
    sessions.bring_up_to_date(session, live, now=start + timedelta(seconds=91))
    for role in ("police-control", "fire-control", "ambulance-control"):
        actions.decide(session, live, _as(world, role), decision_id="talk-group",
                       option_id="1", reason=f"{role} wants one picture",
                       now=start + timedelta(seconds=120))
    with pytest.raises(LiveError, match="already answered"):
        actions.decide(session, live, _as(world, "fire-control"), decision_id="talk-group",
                       option_id="2", reason="Changed my mind")
    outcome = entries(session, live, kinds=("outcome",))[0]
    assert outcome.data == {"agreed": True, "option": "1"}
    sessions.end(session, live, world.facilitator)
    decision = next(d for d in debrief.build(session, live).decisions
                    if d.event_id == "talk-group")
    assert decision.agreed and len(decision.answers) == 3
    assert "Manchester Arena" in decision.option("1").feedback_html


def test_bad_input_is_refused_and_changes_nothing(session, world):
    live = world.live
    police = _as(world, "police-control")
    with pytest.raises(LiveError, match="not started"):
        actions.message(session, live, police, text="Hello", target="fire-control")
    sessions.start(session, world.facilitator, live)
    before = live.last_seq
    with pytest.raises(LiveError, match="no role or talk group"):
        actions.message(session, live, police, text="Hello", target="coastguard")
    with pytest.raises(LiveError, match="own role"):
        actions.acting_as(live, world.people["fire-control"], "police-control")
    with pytest.raises(LiveError):
        actions.message(session, live, police, text="x" * 501, target="fire-control")
    with pytest.raises(LiveError):
        actions.message(session, live, police, text="bell\x07", target="fire-control")
    actions.message(session, live, police, text="<b>Hello</b>", target="fire-control",
                    nonce="form-1")
    with pytest.raises(LiveError, match="already been sent"):
        actions.message(session, live, police, text="<b>Hello</b>", target="fire-control",
                        nonce="form-1")
    assert live.last_seq == before + 1
    sessions.end(session, live, world.facilitator)
    with pytest.raises(LiveError, match="ended"):
        actions.message(session, live, police, text="Late", target="fire-control")
    with pytest.raises(LiveError, match="ended"):
        sessions.end(session, live, world.facilitator)


def test_messages_are_rate_limited(session, world):
    sessions.start(session, world.facilitator, world.live)
    police = _as(world, "police-control")
    for number in range(actions.MESSAGES_PER_MINUTE):
        actions.message(session, world.live, police, text=f"Update {number}",
                        target="fire-control")
    with pytest.raises(LiveError, match="too fast"):
        actions.message(session, world.live, police, text="One more", target="fire-control")


def test_join_codes_are_long_single_session_and_expire(session, world):
    code = sessions.make_join_code(session, world.facilitator, world.live)
    assert len(code.replace("-", "")) >= 20
    other = live_world(session, suffix=" 2")
    newcomer = make_user(session, organisation=make_organisation(session))
    joined = sessions.join_with_code(session, newcomer, code)
    assert joined.id == world.live.id and joined.id != other.live.id
    with pytest.raises(LiveError, match="expired"):
        sessions.join_with_code(session, newcomer, code, now=utcnow() + timedelta(hours=13))
    with pytest.raises(LiveError):
        sessions.join_with_code(session, newcomer, "AAAA-BBBB-CCCC-DDDD-EEEE")


def test_roles_warn_when_the_service_does_not_match(session, world):
    live = sessions.create_session(session, world.facilitator, world.live.version_id,
                                   world.live.item_slug)
    police_person = world.people["police-control"]
    participant = sessions.invite(session, world.facilitator, live, police_person)
    warning = sessions.assign_role(session, world.facilitator, live, participant,
                                   "fire-control")
    assert "fire role" in warning
    assert sessions.assign_role(session, world.facilitator, live, participant,
                                "police-control") == ""
    # Only people the facilitator (a police trainer) may see can be invited.
    with pytest.raises(LiveError):
        sessions.invite(session, world.facilitator, live, world.people["fire-control"])
    assert [r.id for r in sessions.untaken_roles(live)] == ["fire-control", "ambulance-control"]


def test_the_facilitator_plays_the_roles_nobody_takes(session):
    world = live_world(session, assign=False)
    live = world.live
    sessions.start(session, world.facilitator, live)
    as_fire = actions.acting_as(live, world.facilitator, "fire-control")
    actions.message(session, live, as_fire, text="Fire control here", target="police-control")
    with pytest.raises(LiveError):
        actions.acting_as(live, world.people["fire-control"])  # no role given yet


def test_ending_writes_the_exercise_record_that_counts_in_compliance(session, world):
    live = world.live
    sessions.start(session, world.facilitator, live)
    sessions.end(session, live, world.facilitator)
    record = live.exercise
    assert record is not None and record.kind == "command-post"
    assert {o.name for o in record.organisations} == {
        "Kingsford Police", "Kingsford Fire", "Kingsford Ambulance"}
    assert all(p.confirmed_at and p.confirmed_by_id == world.facilitator.id
               for p in record.participants)
    assert {p.user_id for p in record.participants} == {p.id for p in world.people.values()}
    mine = exercises.exercises_of(session, world.people["fire-control"])
    assert [p.exercise_id for p in mine] == [record.id]
    session.add(ExerciseRequirement(months=12))
    session.flush()
    row = next(row for row in person_statuses(
        session, world.people["fire-control"], ReportFilters(as_of=today_in_london()))
        if row.course_code == "EXERCISE-12")
    assert row.state == "in-date"
    actions_audited = set(session.scalars(select(AuditEvent.action).where(
        AuditEvent.action.like("live.%"))))
    assert {"live.created", "live.started", "live.ended", "live.role_assigned"} <= actions_audited


def test_no_entry_is_ever_changed_or_numbered_twice(session, world):
    sessions.start(session, world.facilitator, world.live)
    rows = session.scalars(select(LiveEvent.seq).where(
        LiveEvent.session_id == world.live.id)).all()
    assert len(rows) == len(set(rows))


def test_every_shipped_script_runs_to_its_end_by_the_clock(session, world):
    from jesip_learn.courses import catalogue as courses

    version = world.live.version
    scripts = [i.slug for i in courses.version_outline(version) if i.kind == "exercise"]
    assert len(scripts) >= 2
    for slug in scripts:
        live = sessions.create_session(session, world.facilitator, version.id, slug)
        start = utcnow()
        sessions.start(session, world.facilitator, live, now=start)
        for waiting in sessions.manual_waiting(session, live):
            sessions.release_manual(session, world.facilitator, live, waiting.id,
                                    now=start + timedelta(seconds=1))
        sessions.bring_up_to_date(session, live, now=start + timedelta(hours=3))
        assert live.state == "ended" and live.exercise is not None
        report = debrief.build(session, live)
        assert report.timeline[-1].text == "ended"
        assert feed.feed(session, live, None)
