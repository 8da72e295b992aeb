"""Scenario runs: resuming, choices only from the current step, replays that change nothing,
METHANE messages, endings that complete the item (or not), starting again, the debrief."""

import shutil
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select, update

from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import progress, runs
from jesip_learn.learning.models import ItemProgress, ScenarioRun
from tests.support.factories import make_user

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
SLUG = "flooding"
GOOD_MESSAGE = [
    "No, not declared yet", "14 Mill Lane Riverside", "Residential properties flooding",
    "Fast flowing water and electricity", "Mill Lane closed, use Station Road",
    "One elderly resident",
    "One fire appliance on scene; water rescue team requested",
]


@pytest.fixture
def scenario(version):
    return courses.version_item(version, SLUG)


def step_of(run):
    return run.path[-1][0]


def walk(session, run, scenario, *choices):
    """Choose each choice id in turn from whatever step the run is on."""
    move = None
    for choice_id in choices:
        move = runs.choose(session, run, scenario, choice_id, step_of(run), NOW)
        assert move.advanced
    return move


def test_a_run_starts_at_the_first_step_and_marks_the_item_started(session, learner, version,
                                                                    scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    assert run.path == [["first-call", None]]
    assert run.version_id == version.id and run.item_slug == SLUG
    assert progress.item_states(session, learner, version, NOW)[SLUG] == "in-progress"


def test_starting_again_later_resumes_the_open_run(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1")
    session.commit()
    session.expire_all()

    again = runs.start_run(session, learner, version, scenario, NOW + timedelta(hours=1))
    assert again.id == run.id
    assert again.path == [["first-call", "1"], ["exact-location", None]]
    assert len(runs.run_history(session, learner, version.course)) == 1


def test_another_learner_gets_a_run_of_their_own(session, learner, version, scenario):
    mine = runs.start_run(session, learner, version, scenario, NOW)
    someone = make_user(session)
    theirs = runs.start_run(session, someone, version, scenario, NOW)
    assert theirs.id != mine.id
    assert runs.run_for(session, someone, mine.id) is None
    assert runs.run_for(session, learner, mine.id) is mine


def test_only_a_choice_of_the_current_step_is_accepted(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    for wrong in ("9", "", "exact-location"):
        with pytest.raises(runs.RunError, match="Select one of the choices"):
            runs.choose(session, run, scenario, wrong, "first-call", NOW)
    assert run.path == [["first-call", None]]


def test_a_replayed_choice_does_not_advance_twice(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    first = runs.choose(session, run, scenario, "1", "first-call", NOW)
    assert first.advanced
    replay = runs.choose(session, run, scenario, "1", "first-call", NOW)
    assert not replay.advanced and replay.run is run
    # "2" at exact-location would end the run in failure: the replay must not reach it.
    replay = runs.choose(session, run, scenario, "2", "first-call", NOW)
    assert not replay.advanced
    assert run.path == [["first-call", "1"], ["exact-location", None]]
    assert run.finished_at is None


def test_a_different_choice_on_a_step_already_answered_is_told_apart(session, learner,
                                                                     version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1")
    replay = runs.choose(session, run, scenario, "1", "first-call", NOW)
    assert not replay.advanced and not replay.answered_elsewhere
    other_tab = runs.choose(session, run, scenario, "2", "first-call", NOW)
    assert not other_tab.advanced and other_tab.answered_elsewhere
    unknown = runs.choose(session, run, scenario, "1", "no-such-step", NOW)
    assert not unknown.advanced and not unknown.answered_elsewhere
    assert run.path == [["first-call", "1"], ["exact-location", None]]


def test_a_move_worked_out_from_an_old_path_is_not_saved(session, learner, version, scenario):
    """What a second worker that read the run before the first saved its move would do, if
    it got past the lock: the move is saved only onto the path it was worked out from."""
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1")
    session.execute(update(ScenarioRun).where(ScenarioRun.id == run.id).values(
        path=[["first-call", "1"], ["exact-location", "1"], ["methane-message", None]]),
        execution_options={"synchronize_session": False})  # the object keeps the old path
    assert run.path[-1] == ["exact-location", None]
    step = scenario.step("exact-location")
    move = runs._advance(session, run, scenario, step.choices[1], NOW)
    assert not move.advanced and move.answered_elsewhere
    assert run.path[-1] == ["methane-message", None]
    assert run.finished_at is None and run.result is None


def test_choose_refuses_the_methane_step(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "1")
    assert step_of(run) == "methane-message"
    with pytest.raises(runs.RunError, match="METHANE"):
        runs.choose(session, run, scenario, "1", "methane-message", NOW)
    assert step_of(run) == "methane-message"


def test_a_methane_message_is_stored_trimmed_and_moves_on(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "1")
    texts = ["  not declared  ", "14 Mill Lane", "", "", "", "", ""]
    move = runs.submit_methane(session, run, scenario, texts, "methane-message", NOW)
    assert move.advanced
    assert run.methane == {"methane-message": ["not declared", "14 Mill Lane", "", "", "", "",
                                               ""]}
    assert run.path[-2:] == [["methane-message", "1"], ["rescue", None]]
    assert run.finished_at == NOW and run.result == "pass"


def test_an_empty_methane_message_is_refused(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "1")
    with pytest.raises(runs.RunError, match="at least one part") as refused:
        runs.submit_methane(session, run, scenario, ["", "  ", "\n", "", "", "", ""],
                            "methane-message", NOW)
    assert refused.value.field_errors == {}
    assert run.methane == {} and step_of(run) == "methane-message"


def test_a_methane_field_over_500_characters_is_refused(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "1")
    texts = ["fine", "x" * 501, "", "", "", "", "y" * 500]
    with pytest.raises(runs.RunError) as refused:
        runs.submit_methane(session, run, scenario, texts, "methane-message", NOW)
    assert set(refused.value.field_errors) == {1}
    assert "500 characters or fewer" in refused.value.field_errors[1]
    assert run.methane == {} and step_of(run) == "methane-message"


def test_a_methane_message_is_refused_on_a_choice_step(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    with pytest.raises(runs.RunError, match="does not ask"):
        runs.submit_methane(session, run, scenario, GOOD_MESSAGE, "first-call", NOW)


def test_a_replayed_methane_message_changes_nothing(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "1")
    runs.submit_methane(session, run, scenario, GOOD_MESSAGE, "methane-message", NOW)
    replay = runs.submit_methane(session, run, scenario, ["other"] * 7, "methane-message",
                                 NOW + timedelta(minutes=1))
    assert not replay.advanced
    assert run.methane["methane-message"] == GOOD_MESSAGE and run.finished_at == NOW


def test_a_pass_ending_finishes_the_run_and_completes_the_item(session, learner, version,
                                                               scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "1")
    move = runs.submit_methane(session, run, scenario, GOOD_MESSAGE, "methane-message", NOW)
    assert (run.result, run.points, run.best_points) == ("pass", 4, 4)
    assert move.completion is None  # the other items are not done yet
    assert progress.item_states(session, learner, version, NOW)[SLUG] == "completed"
    row = session.scalar(select(ItemProgress).where(ItemProgress.user_id == learner.id,
                                                    ItemProgress.item_slug == SLUG))
    assert row.completed_version_id == version.id


def test_passing_the_last_item_completes_the_course(session, learner, version, scenario):
    for item in version.items:
        if item.slug != SLUG:
            progress.complete_item(session, learner, version, item.slug, NOW)
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "1")
    move = runs.submit_methane(session, run, scenario, GOOD_MESSAGE, "methane-message", NOW)
    assert move.completion is not None and move.completion.version_id == version.id


def test_a_fail_ending_finishes_the_run_without_completing(session, learner, version,
                                                           scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    move = walk(session, run, scenario, "1", "2")
    assert move.completion is None
    assert step_of(run) == "delay"
    assert (run.result, run.points, run.best_points) == ("fail", 2, 4)
    assert run.finished_at == NOW
    assert progress.item_states(session, learner, version, NOW)[SLUG] == "in-progress"
    with pytest.raises(runs.RunError, match="ended"):
        runs.choose(session, run, scenario, "1", "delay", NOW)


def test_a_finished_run_is_not_resumed(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "2")
    fresh = runs.start_run(session, learner, version, scenario, NOW + timedelta(minutes=5))
    assert fresh.id != run.id and fresh.path == [["first-call", None]]


def test_start_again_keeps_the_old_run_in_history(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1")
    fresh = runs.start_again(session, run, NOW + timedelta(minutes=1))
    assert fresh.id != run.id and fresh.path == [["first-call", None]]
    assert run.abandoned_at == NOW + timedelta(minutes=1) and run.finished_at is None
    assert run.path == [["first-call", "1"], ["exact-location", None]]  # kept as it was
    history = runs.run_history(session, learner, version.course, SLUG)
    assert [r.id for r in history] == [fresh.id, run.id]
    with pytest.raises(runs.RunError, match="started this walkthrough again"):
        runs.choose(session, run, scenario, "1", "exact-location", NOW)
    # Pressing "Start again" a second time on the old page resumes the new run.
    assert runs.start_again(session, run, NOW + timedelta(minutes=2)).id == fresh.id


def test_start_again_after_an_ending_leaves_the_result_alone(session, learner, version,
                                                             scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "2")
    fresh = runs.start_again(session, run, NOW + timedelta(minutes=1))
    assert run.abandoned_at is None and run.result == "fail"
    assert fresh.id != run.id


def test_a_run_keeps_its_version_when_a_new_one_is_published(session, learner, version,
                                                             scenario, tmp_path):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1")
    changed = tmp_path / "valid-course"
    shutil.copytree(VALID, changed)
    page = changed / "06-flooding.scenario.md"
    page.write_text(page.read_text().replace("## Location confirmed", "## Address found"))
    courses.import_parsed(session, courses.parse_folders(changed))
    session.expire_all()
    newer = courses.find_version(session, version.course.code)
    assert newer.number == 2

    again = runs.start_run(session, learner, newer, courses.version_item(newer, SLUG), NOW)
    assert again.id == run.id and again.version_id == version.id
    assert runs.current_step(again, runs.scenario_for(again)).title == "Location confirmed"
    fresh = runs.start_again(session, again, NOW)
    assert fresh.version_id == newer.id


def test_debrief_of_the_best_path(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "1")
    runs.submit_methane(session, run, scenario, GOOD_MESSAGE, "methane-message", NOW)

    report = runs.debrief(run, runs.scenario_for(run))
    assert (report.points, report.best, report.result, report.passed) == (4, 4, "pass", True)
    assert [s.step_title for s in report.path] == [
        "02:10, the first call", "Location confirmed", "Tell the other control rooms"]
    assert [s.points for s in report.path] == [2, 2, 0]
    assert "exact location" in report.path[0].choice_html
    assert "first things every service needs" in report.path[0].feedback_html
    assert report.path[2].methane
    assert report.ending.id == "rescue"
    assert report.stages_touched == ("information",)
    assert report.principles_touched == ("communicate",)
    assert report.stages_missed == () and report.principles_missed == ()
    message, = report.methane
    assert message.step_id == "methane-message"
    assert [f.letter for f in message.fields] == list("METHANE")
    assert [f.written for f in message.fields] == GOOD_MESSAGE
    assert all(f.covered for f in message.fields), [f for f in message.fields if not f.covered]
    assert message.fields[1].model == "14 Mill Lane, Riverside"


def test_debrief_of_a_fail_path_shows_what_was_missed(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "2", "1", "2")
    report = runs.debrief(run, scenario)
    assert (report.points, report.best, report.result, report.passed) == (1, 4, "fail", False)
    assert [s.step_title for s in report.path] == [
        "02:10, the first call", "The wrong bank", "Location confirmed"]
    assert "wrong bank of the river" in report.path[0].feedback_html
    assert report.ending.id == "delay"
    assert report.stages_touched == ("information",)
    assert report.principles_missed == ("communicate",)
    assert report.methane == []


def test_debrief_marks_missed_methane_fields(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, run, scenario, "1", "1")
    texts = ["NOT DECLARED", "riverside, mill lane 14", "", "", "", "", "police on scene"]
    runs.submit_methane(session, run, scenario, texts, "methane-message", NOW)
    message, = runs.debrief(run, scenario).methane
    assert [f.covered for f in message.fields] == [True, True, False, False, False, False,
                                                   False]
    assert message.covered == 2


def test_debrief_of_a_run_in_progress(session, learner, version, scenario):
    run = runs.start_run(session, learner, version, scenario, NOW)
    report = runs.debrief(run, scenario)
    assert report.path == [] and report.result is None and report.ending is None
    assert report.points == 0 and report.best == 4


def test_history_lists_every_run_of_the_course(session, learner, version, scenario):
    first = runs.start_run(session, learner, version, scenario, NOW)
    walk(session, first, scenario, "1", "2")
    second = runs.start_run(session, learner, version, scenario, NOW + timedelta(minutes=3))
    assert [r.id for r in runs.run_history(session, learner, version.course)] == [
        second.id, first.id]
    assert runs.run_history(session, learner, version.course, "no-such-slug") == []
    assert session.scalar(select(ScenarioRun).where(ScenarioRun.id == first.id)).result == "fail"


def test_runs_import_without_flask():
    code = ("import sys, jesip_learn.learning.runs\n"
            "print(','.join(m for m in ('flask', 'flask_login', 'flask_wtf') "
            "if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True)
    assert result.stdout.strip() == ""
