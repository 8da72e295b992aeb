"""Item analysis of scenarios: figures from seeded runs (passed, failed, in progress and
abandoned, worked out by hand below), no runs at all, and choices matched across versions
by their text and where they lead."""

from __future__ import annotations

import pytest

from jesip_learn.learning import item_analysis as analysis
from jesip_learn.learning.models import ScenarioRun
from tests.support.item_analysis import NOW, SCENARIO, publish


@pytest.fixture
def version(session):
    """The analysis course, published: not the fixture course of tests/conftest.py."""
    return publish(session)


# --- scenarios --------------------------------------------------------------------------------


def run(session, user, version, path, *, result=None, points=None, abandoned=False,
        at=NOW):
    finished = result is not None
    row = ScenarioRun(
        user_id=user.id, course_id=version.course_id, version_id=version.id, item_slug="walk",
        started_at=at, path=[list(entry) for entry in path], methane={},
        finished_at=at if finished else None, abandoned_at=at if abandoned else None,
        result=result, points=points, best_points=4 if finished else None)
    session.add(row)
    session.flush()
    return row


@pytest.fixture
def walked(session, version, people):
    """Four runs:
    1  call→Ask where, where→Share it, safe                          pass, 4 points
    2  call→Send anyone, wrong-bank→Look again (twice), →Call back,
       where→Wait, late                                               fail, 1 point
    3  call→Send anyone, wrong-bank→Call back, on where               in progress
    4  on call, left when learner 3 started again                     abandoned
    """
    one, two, three = people(3)
    run(session, one, version, [("call", "1"), ("where", "1"), ("safe", None)],
        result="pass", points=4)
    run(session, two, version, [("call", "2"), ("wrong-bank", "1"), ("wrong-bank", "1"),
                                ("wrong-bank", "2"), ("where", "2"), ("late", None)],
        result="fail", points=1)
    run(session, three, version, [("call", "2"), ("wrong-bank", "2"), ("where", None)])
    run(session, three, version, [("call", None)], abandoned=True)
    return version


def test_scenario_runs_give_the_figures_worked_out_by_hand(session, walked):
    result = analysis.scenario_analysis(session, walked.course_id, "walk")
    assert result.title == "Test walk" and result.version_numbers == (1,)
    assert (result.runs_started, result.runs_finished, result.runs_passed,
            result.runs_failed, result.runs_abandoned, result.runs_in_progress) == (
        4, 2, 1, 1, 1, 1)
    assert (result.learners, result.learners_passed) == (3, 1)
    assert result.pass_share == 0.25 and result.mean_points == 2.5
    assert result.best_points == 4
    assert [s.id for s in result.steps] == ["call", "where", "wrong-bank", "safe", "late"]

    call = result.step("call")
    assert (call.reached, call.share, call.unfinished_here) == (4, 1.0, 1)
    assert [(c.label, c.target, c.runs, c.share) for c in call.choices] == [
        ("Ask where", "where", 1, 0.25), ("Send anyone", "wrong-bank", 2, 0.5)]
    assert call.choices[0].score == 2 and call.choices[0].target_title == "Where exactly"

    where = result.step("where")
    assert (where.reached, where.share, where.unfinished_here) == (3, 0.75, 1)
    assert [(c.runs, c.share) for c in where.choices] == [(1, pytest.approx(1 / 3)),
                                                         (1, pytest.approx(1 / 3))]

    wrong = result.step("wrong-bank")
    assert (wrong.reached, wrong.share) == (2, 0.5)
    look, back = wrong.choices
    assert (look.runs, look.times, look.share) == (1, 2, 0.5)  # one run looked twice
    assert (back.runs, back.times, back.share) == (2, 2, 1.0)

    assert (result.step("safe").reached, result.step("safe").kind,
            result.step("safe").result) == (1, "end", "pass")
    assert result.step("late").reached == 1 and result.step("late").choices == ()


def test_a_scenario_with_no_runs_gives_empty_figures(session, version):
    result = analysis.scenario_analysis(session, version.course_id, "walk")
    assert (result.runs_started, result.learners, result.runs_finished) == (0, 0, 0)
    assert result.pass_share is None and result.mean_points is None
    assert all(step.reached == 0 and step.share is None for step in result.steps)
    assert all(c.share is None for step in result.steps for c in step.choices)
    assert analysis.scenario_analysis(session, version.course_id, "check") is None


def test_scenario_choices_are_matched_across_versions_by_text_and_target(session, walked,
                                                                        people):
    changed = SCENARIO.replace("[Send anyone](#wrong-bank)", "[Send the nearest crew](#wrong-bank)")
    changed = changed.replace("## Too late {#late .end result=fail}\n\nDone.\n", "")
    changed = changed.replace("- [Wait](#late)\n", "")
    v2 = publish(session, scenario=changed)
    learner, = people(1)
    run(session, learner, v2, [("call", "2"), ("wrong-bank", "2"), ("where", "1"),
                               ("safe", None)], result="pass", points=5)
    every = analysis.scenario_analysis(session, walked.course_id, "walk")
    assert every.version_numbers == (1, 2) and every.runs_started == 5
    assert every.runs_by_version == ((1, 4), (2, 1))
    call = every.step("call")
    assert [(c.label, c.current, c.runs) for c in call.choices] == [
        ("Ask where", True, 1), ("Send the nearest crew", True, 1), ("Send anyone", False, 2)]
    assert [s.id for s in every.steps][-1] == "late" and not every.step("late").current
    only_v2 = analysis.scenario_analysis(session, walked.course_id, "walk", version_id=v2.id)
    assert only_v2.runs_started == 1 and only_v2.step("late") is None
    assert only_v2.step("where").choices[0].share == 1.0
