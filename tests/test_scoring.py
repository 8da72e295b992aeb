"""Scoring, against the examples of content-format.md."""

from pathlib import Path

import pytest

from jesip_learn import scoring
from jesip_learn.content import parse_course_folder
from jesip_learn.scoring import PathStep

EXAMPLES = parse_course_folder(Path(__file__).parent / "content" / "fixtures" / "valid-course")
assert EXAMPLES.ok, EXAMPLES.problems


@pytest.fixture(scope="module")
def quiz():
    return EXAMPLES.course.item("check-your-understanding")


@pytest.fixture(scope="module")
def scenario():
    return EXAMPLES.course.item("flooding")


def option_id(question, text):
    return next(o.id for o in question.options if text in o.html)


def test_a_single_answer_question(quiz):
    question = quiz.questions[0]
    right = option_id(question, "Co-locate")
    wrong = option_id(question, "Communicate")
    assert scoring.is_correct(question, scoring.read_answer(question, {question.id: [right]}))
    assert not scoring.is_correct(question, scoring.read_answer(question, {question.id: [wrong]}))
    assert scoring.read_answer(question, {question.id: ["forged"]}) == []
    assert scoring.answer_problem(question, []) == "Select an answer"


def test_select_all_is_right_only_for_exactly_the_right_set(quiz):
    question = quiz.questions[1]
    right = [o.id for o in question.options if o.correct]
    wrong = next(o.id for o in question.options if not o.correct)
    assert scoring.is_correct(question, scoring.read_answer(question, {question.id: right}))
    assert not scoring.is_correct(question, scoring.read_answer(question, {question.id: right[:2]}))
    assert not scoring.is_correct(question, scoring.read_answer(
        question, {question.id: [*right, wrong]}))


def test_ordering_reads_one_position_per_item(quiz):
    question = quiz.questions[2]
    order = question.correct_order
    values = {scoring.Ordering.field(question, oid): [str(n)]
              for n, oid in enumerate(order, start=1)}
    answer = scoring.read_answer(question, values)
    assert answer == list(order) and scoring.is_correct(question, answer)
    swapped = dict(values)
    swapped[scoring.Ordering.field(question, order[0])] = ["2"]
    swapped[scoring.Ordering.field(question, order[1])] = ["1"]
    assert not scoring.is_correct(question, scoring.read_answer(question, swapped))
    repeated = {scoring.Ordering.field(question, oid): ["1"] for oid in order}
    assert scoring.read_answer(question, repeated) == []
    assert "different position" in scoring.answer_problem(question, [])


def test_ordering_positions_are_read_even_when_unfinished(quiz):
    question = quiz.questions[2]
    first, second, third = question.correct_order
    field = scoring.Ordering.field
    partly = {field(question, first): ["1"], field(question, second): ["2"]}
    assert scoring.Ordering.read_positions(question, partly) == {first: 1, second: 2}
    assert scoring.read_answer(question, partly) == []  # not an answer that can be marked
    shared = {field(question, first): ["2"], field(question, second): ["2"]}
    assert scoring.Ordering.read_positions(question, shared) == {first: 2, second: 2}
    odd = {field(question, first): ["0"], field(question, second): ["4"],
           field(question, third): ["\u00b2"]}  # out of range, and a digit int() refuses
    assert scoring.Ordering.read_positions(question, odd) == {}
    assert scoring.read_answer(question, odd) == []


def test_only_a_full_ordering_can_be_complete_or_right(quiz):
    question = quiz.questions[2]
    order = question.correct_order
    assert scoring.is_correct(question, list(order))
    assert scoring.answer_problem(question, list(order)) is None
    positions = {oid: n for n, oid in enumerate(order, start=1)}  # kept while unfinished
    assert not scoring.is_correct(question, positions)
    assert scoring.answer_problem(question, positions) is not None
    for unfinished in (list(order[:2]), [*order[:2], order[0]], [*order, "forged"]):
        assert not scoring.is_correct(question, unfinished)
        assert scoring.answer_problem(question, unfinished) is not None
    score = scoring.score_quiz([question], {question.id: positions}, 50)
    assert score.correct == 0 and not score.passed


def test_quiz_score_and_pass_mark(quiz):
    right = {q.id: ([o.id for o in q.options if o.correct] if q.kind != "ordering"
                    else list(q.correct_order)) for q in quiz.questions}
    assert scoring.score_quiz(quiz.questions, right, 80).passed
    two_of_three = dict(right, **{quiz.questions[0].id: []})
    score = scoring.score_quiz(quiz.questions, two_of_three, 80)
    assert (score.correct, score.total, round(score.percent)) == (2, 3, 67)
    assert not score.passed
    assert scoring.score_quiz(quiz.questions, two_of_three, 60).passed


def test_best_path_scores_of_the_example_scenario(scenario):
    # first-call (2) → exact-location (2) → methane-message (0) → rescue, the pass ending;
    # the detour by the wrong bank scores 0 + 1 and the wait ends in a fail.
    assert scoring.best_points(scenario) == 4


def test_a_pass_path_is_scored_and_tagged(scenario):
    first = scenario.step("first-call")
    good = next(c for c in first.choices if c.target == "exact-location")
    located = scenario.step("exact-location")
    path = [PathStep("first-call", good.id), PathStep("exact-location", None)]
    score = scoring.score_scenario(scenario, path)
    assert score.points == 2 and score.result is None
    assert "information" in score.stages_touched
    assert located is not None


def test_a_fail_ending_is_reported(scenario):
    located = scenario.step("exact-location")
    wait = next(c for c in located.choices if c.target == "delay")
    path = [PathStep("exact-location", wait.id), PathStep("delay", None)]
    score = scoring.score_scenario(scenario, path)
    assert score.result == "fail" and score.points == 0
    assert "communicate" in score.principles_missed


@pytest.mark.parametrize(("model", "written", "covered"), [
    ("14 Mill Lane, Riverside", "riverside, mill lane 14", True),
    ("14 Mill Lane, Riverside", "MILL LANE!!! 14", True),
    ("14 Mill Lane, Riverside", "somewhere near the river", False),
    ("not declared a major incident yet", "No major incident", True),
    ("fast-flowing water, electricity in flooded homes", "Electricity; flooded homes", True),
    ("one elderly resident unaccounted for", "", False),
    ("one elderly resident unaccounted for", "1 resident missing", True),
    ("fast-flowing water, electricity in flooded homes", "Fast flowing water, rising, dark",
     True),
    ("one fire appliance on scene, water rescue team requested",
     "1 ambulance here. Need fire water rescue and police", True),
    ("one fire appliance on scene, water rescue team requested", "ambulance here", False),
])
def test_methane_fields_are_compared_forgivingly(model, written, covered):
    result = scoring.compare_methane([model] * 7, [written] * 7)
    assert result[0].covered is covered and len(result) == 7
    assert [r.letter for r in result] == ["M", "E", "T", "H", "A", "N", "E"]
