"""Item-writing flaws (content/item_writing.py): each check on small courses, flagged and
not, and the warnings they give the validator, which never block a course."""

from __future__ import annotations

import pytest

from jesip_learn.content import parse_course_files
from jesip_learn.content.item_writing import (
    best_choices_first,
    catch_all_options,
    longest_best_choices,
    longest_right_answers,
    much_longer_right_answer,
    question_flaws,
    stem_echoes,
    unstressed_negative,
)
from tests.content.helpers import COURSE_MD, page

QUIZ_HEAD = "title: A quiz\npass_mark: 80"
SCENARIO_HEAD = "title: A scenario\nstart: s1"


def single(title: str, right: str, *wrong: str) -> str:
    return f"\n## {title}\n\n- [x] {right}\n" + "".join(f"- [ ] {w}\n" for w in wrong)


def parsed_quiz(body: str, head: str = QUIZ_HEAD):
    result = parse_course_files({"course.md": COURSE_MD, "01-q.quiz.md": page(head, body)})
    assert result.ok, result.problems
    return result, result.course.items[0]


def question(body: str):
    _result, quiz = parsed_quiz(body)
    return quiz.questions[0]


def line_of(result, text: str) -> int:
    """The line of the quiz page holding `text` (the page starts with its front matter)."""
    lines = result.sources["01-q.quiz.md"].decode().splitlines()
    return next(number for number, line in enumerate(lines, start=1) if text in line)


# --- the right answer is the longest ---------------------------------------------------------


def bank(longest: int, others: int) -> str:
    """Single-answer questions: in `longest` of them the right answer is the longest option,
    in `others` a wrong one is; never twice as long, so only the bank's share can show."""
    body = ""
    for n in range(longest):
        body += single(f"Pick {n}?", f"Kestrel heron {n}", f"Wren finch {n}", f"Crow lark {n}")
    for n in range(others):
        body += single(f"Choose {n}?", f"Wren finch {n}", f"Kestrel heron {n}", f"Crow lark {n}")
    return body


def test_a_bank_whose_right_answers_are_mostly_the_longest_is_flagged():
    _result, quiz = parsed_quiz(bank(longest=3, others=2))
    flaw = longest_right_answers(quiz)
    assert flaw is not None and flaw.line == 1
    assert "the right answer is the longest option in 3 of 5 single-answer questions" in \
        flaw.message
    assert all(much_longer_right_answer(q) is None for q in quiz.questions)


@pytest.mark.parametrize(("longest", "others"), [(2, 3), (4, 6), (4, 0)],
                         ids=["40% of 5", "40% of 10", "a bank too small to judge"])
def test_a_bank_at_or_below_the_share_or_too_small_is_not_flagged(longest, others):
    _result, quiz = parsed_quiz(bank(longest, others))
    assert longest_right_answers(quiz) is None


def test_select_all_questions_do_not_count_in_the_bank_share():
    body = bank(longest=2, others=3) + "".join(
        f"\n## Which {n}?\n\n- [x] Kestrel heron {n}\n- [x] Wren finch {n}\n- [ ] Crow {n}\n"
        for n in range(4))
    _result, quiz = parsed_quiz(body)
    assert longest_right_answers(quiz) is None


def test_a_right_answer_twice_as_long_as_every_wrong_one_is_flagged_at_its_line():
    result, quiz = parsed_quiz(single("Who leads?", "The commander named in the joint plan",
                                      "The first crew", "A bystander"))
    flaw = much_longer_right_answer(quiz.questions[0])
    assert flaw is not None
    assert flaw.line == line_of(result, "The commander named")
    assert "much longer than every wrong one (37 characters against at most 14)" in flaw.message


@pytest.mark.parametrize("body", [
    single("Who leads?", "The commander on duty", "The first crew", "A bystander"),
    single("Ready?", "Yes, go", "No"),  # more than twice as long, but only by a few letters
    "\n## Which lead?\n\n- [x] The commander named in the joint plan\n- [x] Crew\n- [ ] Cat\n",
], ids=["less than twice", "short answers", "select all"])
def test_right_answers_not_much_longer_are_not_flagged(body):
    assert much_longer_right_answer(question(body)) is None


# --- all of the above, none of the above ----------------------------------------------------------


@pytest.mark.parametrize(("option", "said"), [
    ("All of the above", "All of the above"),
    ("None of the above.", "None of the above"),
    ("Both of the above", "Both of the above"),
    ("None of these", "None of these"),
])
def test_catch_all_answers_are_flagged(option, said):
    result, quiz = parsed_quiz(single("Which?", "Wren", "Crow", option))
    flaws = catch_all_options(quiz.questions[0])
    assert [flaw.line for flaw in flaws] == [line_of(result, option)]
    assert flaws[0].message.startswith(f"“{said}” as an answer")


@pytest.mark.parametrize("option", ["None of these crews has the training",
                                    "Above the weir", "All crews wait at the rendezvous"])
def test_answers_that_only_contain_the_words_are_not_flagged(option):
    assert catch_all_options(question(single("Which?", "Wren", "Crow", option))) == []


# --- negative questions -----------------------------------------------------------------------


@pytest.mark.parametrize(("heading", "word"), [
    ("Which of these is not a principle?", "not"),
    ("The road is open. Which service would never attend?", "never"),
    ("Which can't a commander delegate?", "can't"),
    ("All of these are stages EXCEPT which one? Which is least useful?", "least"),
])
def test_an_unstressed_negative_in_the_question_is_flagged(heading, word):
    result, quiz = parsed_quiz(single(heading, "Wren", "Crow"))
    flaw = unstressed_negative(quiz.questions[0])
    assert flaw is not None and flaw.line == line_of(result, heading)
    assert f"asks with “{word}” without stressing it" in flaw.message


@pytest.mark.parametrize("heading", [
    "Which of these is **not** a principle?",
    "Which of these is *never* done?",
    "Which of these is NOT a principle?",
    "What does the rule \"talk not tell\" ask of you?",
    "The caller cannot see the river. What do you ask first?",
    "Which incident needs at least two crews?",
])
def test_stressed_quoted_or_scene_setting_negatives_are_not_flagged(heading):
    assert unstressed_negative(question(single(heading, "Wren", "Crow"))) is None


def test_a_question_asked_in_the_stem_is_read_too():
    body = "\n## Question four\n\nWhich of these should you not do?\n\n- [x] Wren\n- [ ] Crow\n"
    assert unstressed_negative(question(body)) is not None
    scene = "\n## Question four\n\nThe crew is not there yet.\n\n- [x] Wren\n- [ ] Crow\n"
    assert unstressed_negative(question(scene)) is None


def test_ordering_questions_are_checked_for_negatives_only():
    body = ("\n## Which order is not right?\n\n1. All of the above\n"
            "2. A very much longer item than the other one\n3. Short\n")
    flaws = question_flaws(question(body))
    assert len(flaws) == 1 and "without stressing it" in flaws[0].message


# --- the right answer repeats the question ------------------------------------------------------


def test_a_right_answer_echoing_the_question_is_flagged_with_the_words():
    result, quiz = parsed_quiz(single(
        "Where do arriving appliances gather?", "At the rendezvous for arriving appliances",
        "At the forward command post", "Beside the inner cordon"))
    flaws = stem_echoes(quiz.questions[0])
    assert [flaw.line for flaw in flaws] == [line_of(result, "At the rendezvous")]
    assert "repeats “appliances”, “arriving” from the question" in flaws[0].message


@pytest.mark.parametrize("wrongs", [
    ("Wherever arriving appliances find space", "At the forward command post"),
    ("Along the arriving route", "Beside the appliances already there"),
], ids=["one wrong answer", "between them"])
def test_an_echo_the_wrong_answers_share_is_no_cue(wrongs):
    body = single("Where do arriving appliances gather?",
                  "At the rendezvous for arriving appliances", *wrongs)
    assert stem_echoes(question(body)) == []


def test_common_words_are_no_cue():
    body = single("Which commander leads the incident?", "The incident commander",
                  "The first crew", "A bystander")
    assert stem_echoes(question(body)) == []


# --- scenarios ---------------------------------------------------------------------------


def decision(step: str, target: str, *choices: tuple[str, int]) -> str:
    lines = "".join(f"- [{label}](#{target}){{score={score}}}\n" for label, score in choices)
    return f"\n## Step {step} {{#{step}}}\n\nWhat now?\n\n{lines}"


END = "\n## Done {#done .end result=pass}\n\nAll safe.\n"


def parsed_scenario(*steps: str):
    body = "".join(steps) + END
    result = parse_course_files({"course.md": COURSE_MD,
                                 "01-s.scenario.md": page(SCENARIO_HEAD, body)})
    assert result.ok, result.problems
    return result.course.items[0]


def test_best_choices_longest_at_more_than_half_the_decisions_are_flagged():
    scenario = parsed_scenario(
        decision("s1", "s2", ("Wait", 0), ("Share the call with every control room", 2)),
        decision("s2", "done", ("Ask for the exact location", 2), ("Guess", 0)))
    flaw = longest_best_choices(scenario)
    assert flaw is not None and flaw.line == 1
    assert "the best choice is the longest at 2 of 2 decision points" in flaw.message
    assert "steps on lines 6 and 13" in flaw.message


@pytest.mark.parametrize("steps", [
    (decision("s1", "s2", ("Wait for the first crew to report", 0), ("Share now", 2)),
     decision("s2", "done", ("Ask for the exact location", 2), ("Guess", 0))),
    (decision("s1", "done", ("Wait", 0), ("Share the call with every control room", 2)),),
], ids=["half of them", "one decision only"])
def test_best_choices_longest_at_half_or_fewer_are_not_flagged(steps):
    assert longest_best_choices(parsed_scenario(*steps)) is None


def test_best_choices_always_first_are_flagged():
    scenario = parsed_scenario(
        decision("s1", "s2", ("Share now", 2), ("Wait for the first crew", 0)),
        decision("s2", "s3", ("Ask where", 2), ("Guess the place from the map", 1)),
        # every choice scores the same: not a decision, so it does not break the pattern
        decision("s3", "done", ("Go on foot", 1), ("Go by road", 1)))
    flaw = best_choices_first(scenario)
    assert flaw is not None and flaw.line == 1
    assert "the best choice comes first at every decision point (2 of 2)" in flaw.message


def test_best_choices_not_always_first_are_not_flagged():
    scenario = parsed_scenario(
        decision("s1", "s2", ("Share now", 2), ("Wait for the first crew", 0)),
        decision("s2", "done", ("Guess the place from the map", 0), ("Ask where", 2)))
    assert best_choices_first(scenario) is None


# --- what the validator does with them ----------------------------------------------------------


def test_flaws_are_warnings_with_file_and_line_and_never_problems():
    body = single("Which is not a principle?", "Wren", "Crow", "All of the above")
    result = parse_course_files({"course.md": COURSE_MD, "01-q.quiz.md": page(QUIZ_HEAD, body)},
                                display_root="my-course")
    assert result.ok and result.course is not None and result.problems == ()
    shown = [str(warning) for warning in result.warnings]
    assert shown == [
        "my-course/01-q.quiz.md:6: the question asks with “not” without stressing it: learners "
        "read past a negative. Write it as **not** or in capitals, or ask the question the "
        "positive way round",
        "my-course/01-q.quiz.md:10: “All of the above” as an answer: a learner who spots two "
        "right answers picks it without knowing the rest. Write an answer that stands on its "
        "own",
    ]


def test_warnings_are_found_in_a_course_that_has_problems_too():
    body = single("Which is not a principle?", "Wren", "Crow") + "\n## Empty\n"
    result = parse_course_files({"course.md": COURSE_MD, "01-q.quiz.md": page(QUIZ_HEAD, body)})
    assert not result.ok
    assert len(result.warnings) == 1
