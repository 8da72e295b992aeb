"""Item analysis of quizzes: figures from seeded attempts with known answers (the expected
shares worked out by hand below), first attempts or every attempt, versions that add, remove
and re-key questions, discrimination on constructed cohorts, a number of queries that does
not grow with the attempts, and the module loading without Flask."""

from __future__ import annotations

import statistics
import subprocess
import sys
from datetime import timedelta

import pytest
from sqlalchemy import event

from jesip_learn import scoring
from jesip_learn.content.scenario_map import plain_text
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import item_analysis as analysis
from jesip_learn.learning.models import QuizAttempt
from tests.support.item_analysis import NOW, QUIZ_V2, publish


@pytest.fixture
def version(session):
    """The analysis course, published: not the fixture course of tests/conftest.py."""
    return publish(session)


def strength_quiz() -> str:
    """Five single-answer questions s1..s5, each with a right answer R and a wrong one W."""
    questions = "".join(f"\n## Question {n} {{#s{n}}}\n\n- [x] R\n- [ ] W\n" for n in range(1, 6))
    return f"---\ntitle: Strength\npass_mark: 60\n---\n{questions}"


def option_id(quiz, question_id, text):
    question = next(q for q in quiz.questions if q.id == question_id)
    return next(o.id for o in question.options if plain_text(o.html) == text)


def answer(quiz, **chosen):
    """{question id: option ids}, options named by their text."""
    return {qid: [option_id(quiz, qid, text) for text in texts] for qid, texts in chosen.items()}


def take(session, user, version, slug, answers, *, question_ids=None, at=NOW, submitted=True):
    """A submitted attempt with these answers, marked as attempts.submit_attempt marks it."""
    quiz = courses.version_item(version, slug)
    by_id = {q.id: q for q in quiz.questions}
    ids = question_ids or list(by_id)
    questions = [by_id[question_id] for question_id in ids]
    score = scoring.score_quiz(questions, answers, quiz.pass_mark)
    attempt = QuizAttempt(
        user_id=user.id, course_id=version.course_id, version_id=version.id, item_slug=slug,
        started_at=at, question_ids=ids,
        option_order={q.id: [o.id for o in q.options] for q in questions}, answers=answers,
        submitted_at=at if submitted else None,
        correct=score.correct if submitted else None, total=score.total if submitted else None,
        percent=score.percent if submitted else None, passed=score.passed if submitted else None)
    session.add(attempt)
    session.flush()
    return attempt


def by_text(question):
    return {plain_text(option.html): option for option in question.options}


# --- a quiz: the figures by hand ---------------------------------------------------------------


@pytest.fixture
def four_learners(session, version, people):
    """Four first attempts and one retake. Right answers marked with *:

        learner  first          stages                 order     score
        1        Co-locate*     Gather, Assess*        M E T*    3/3 pass
        2        Communicate    Gather                 E M T     0/3
        3        Co-locate*     Gather, Assess, Decl.  M T E     1/3
        4        Co-ordinate    Gather, Assess*        M E T*    2/3 pass
        1 again  Communicate    Declare                T M E     0/3 (a day later)
    """
    quiz = courses.version_item(version, "check")
    learners = people(4)
    rows = [
        ("Co-locate", ["Gather information", "Assess risks"], ["Major incident",
                                                                "Exact location",
                                                                "Type of incident"]),
        ("Communicate", ["Gather information"], ["Exact location", "Major incident",
                                                 "Type of incident"]),
        ("Co-locate", ["Gather information", "Assess risks", "Declare a major incident"],
         ["Major incident", "Type of incident", "Exact location"]),
        ("Co-ordinate", ["Gather information", "Assess risks"], ["Major incident",
                                                                  "Exact location",
                                                                  "Type of incident"]),
    ]
    for learner, (first, stages, order) in zip(learners, rows, strict=True):
        take(session, learner, version, "check",
             answer(quiz, first=[first], stages=stages, order=order))
    take(session, learners[0], version, "check",
         answer(quiz, first=["Communicate"], stages=["Declare a major incident"],
                order=["Type of incident", "Major incident", "Exact location"]),
         at=NOW + timedelta(days=1))
    return learners


def test_first_attempts_give_the_figures_worked_out_by_hand(session, version, four_learners):
    result = analysis.quiz_analysis(session, version.course_id, "check")
    assert result.title == "Check your understanding" and result.pass_mark == 50
    assert result.version_numbers == (1,) and result.basis == "first"
    assert result.submitted_attempts == 5 and result.learners == 4
    assert result.analysed_attempts == 4
    assert result.passed_attempts == 2 and result.pass_rate == 0.5
    assert result.learners_passed == 2
    assert result.mean_percent == pytest.approx((100 + 0 + 100 / 3 + 200 / 3) / 4)
    assert [q.id for q in result.questions] == ["first", "stages", "order"]

    first = result.question("first")
    assert (first.kind, first.shown, first.right, first.share_right) == ("single", 4, 2, 0.5)
    assert first.title == "Which principle comes first on arrival?"
    options = by_text(first)
    assert (options["Co-locate"].chosen, options["Co-locate"].share) == (2, 0.5)
    assert options["Co-locate"].correct and not options["Communicate"].correct
    assert options["Communicate"].share == 0.25 and options["Co-ordinate"].share == 0.25
    assert all(option.shown == 4 and option.current for option in first.options)

    stages = result.question("stages")
    assert (stages.right, stages.share_right) == (2, 0.5)  # learners 1 and 4: the exact set
    options = by_text(stages)
    assert options["Gather information"].share == 1.0
    assert options["Assess risks"].share == 0.75
    assert options["Declare a major incident"].share == 0.25

    order = result.question("order")
    assert (order.kind, order.right, order.share_right) == ("ordering", 2, 0.5)
    # The share that put each item in its right place: M by 1, 3, 4; E by 1, 4; T by 1, 2, 4.
    assert [(plain_text(o.html), o.position, o.share) for o in order.options] == [
        ("Major incident", 1, 0.75), ("Exact location", 2, 0.5), ("Type of incident", 3, 0.75)]
    assert not any(option.correct for option in order.options)

    # Four attempts are too few to judge discrimination.
    assert all(q.discrimination is None and q.discrimination_rating == "too-few"
               for q in result.questions)
    assert "fewer than 10" in first.discrimination_label


def test_every_attempt_counts_the_retake_too(session, version, four_learners):
    result = analysis.quiz_analysis(session, version.course_id, "check", basis="every")
    assert result.basis == "every"
    assert result.submitted_attempts == 5 and result.analysed_attempts == 5
    assert result.passed_attempts == 2 and result.pass_rate == pytest.approx(0.4)
    assert result.mean_percent == pytest.approx((100 + 0 + 100 / 3 + 200 / 3 + 0) / 5)
    first = result.question("first")
    assert (first.shown, first.right) == (5, 2)
    assert by_text(first)["Communicate"].share == pytest.approx(0.4)
    order = result.question("order")  # T M E puts nothing in its right place
    assert [o.chosen for o in order.options] == [3, 2, 3]
    assert by_text(result.question("stages"))["Declare a major incident"].chosen == 2


def test_a_question_counts_only_in_the_attempts_that_showed_it(session, version, people):
    quiz = courses.version_item(version, "check")
    one, two, three = people(3)
    take(session, one, version, "check", answer(quiz, first=["Co-locate"]),
         question_ids=["first"])
    take(session, two, version, "check",
         answer(quiz, first=["Communicate"], order=["Major incident", "Exact location",
                                                    "Type of incident"]),
         question_ids=["order", "first"])
    take(session, three, version, "check", answer(quiz, stages=["Assess risks"]),
         question_ids=["stages"])
    result = analysis.quiz_analysis(session, version.course_id, "check")
    assert [(q.id, q.shown, q.right) for q in result.questions] == [
        ("first", 2, 1), ("stages", 1, 0), ("order", 1, 1)]
    assert by_text(result.question("first"))["Co-locate"].share == 0.5
    assert by_text(result.question("stages"))["Assess risks"].share == 1.0
    assert {o.shown for o in result.question("stages").options} == {1}


def test_a_quiz_with_no_attempts_gives_empty_figures(session, version, people):
    quiz = courses.version_item(version, "check")
    learner, = people(1)
    take(session, learner, version, "check", answer(quiz, first=["Co-locate"]),
         submitted=False)  # an open attempt is not analysed
    result = analysis.quiz_analysis(session, version.course_id, "check")
    assert (result.submitted_attempts, result.learners, result.analysed_attempts) == (0, 0, 0)
    assert result.pass_rate is None and result.mean_percent is None
    assert len(result.questions) == 3
    for question in result.questions:
        assert (question.shown, question.right, question.share_right) == (0, 0, None)
        assert all(option.share is None and option.shown == 0 for option in question.options)
        assert question.discrimination is None


def test_an_unknown_quiz_gives_none(session, version):
    assert analysis.quiz_analysis(session, version.course_id, "no-such-quiz") is None
    assert analysis.quiz_analysis(session, version.course_id, "walk") is None  # a scenario
    assert analysis.quiz_analysis(session, version.course_id + 1000, "check") is None
    with pytest.raises(ValueError, match="basis"):
        analysis.quiz_analysis(session, version.course_id, "check", basis="best")


# --- versions ---------------------------------------------------------------------------------


def test_versions_that_remove_add_and_rekey_questions(session, version, people):
    v1 = version
    v2 = publish(session, quiz=QUIZ_V2)
    assert v2.number == 2
    quiz1, quiz2 = courses.version_item(v1, "check"), courses.version_item(v2, "check")
    one, two, three = people(3)
    # Co-locate is right in version 1 and wrong in version 2; Communicate the other way.
    take(session, one, v1, "check", answer(quiz1, first=["Co-locate"], stages=["Assess risks"],
                                           order=["Major incident", "Exact location",
                                                  "Type of incident"]))
    take(session, two, v2, "check", answer(quiz2, first=["Co-locate"],
                                           order=["Major incident", "Exact location",
                                                  "Type of incident"],
                                           who=["Only the police"]))
    take(session, three, v2, "check", answer(quiz2, first=["Communicate"],
                                             order=["Exact location", "Major incident",
                                                    "Type of incident"],
                                             who=["Any of the emergency services"]))

    every = analysis.quiz_analysis(session, v1.course_id, "check")
    assert every.version_numbers == (1, 2)
    assert every.attempts_by_version == ((1, 1), (2, 2))  # the versions attempts were on
    assert every.title == "Check your understanding again"  # the newest version's
    assert [(q.id, q.current, q.versions) for q in every.questions] == [
        ("first", True, (1, 2)), ("order", True, (1, 2)), ("who", True, (2,)),
        ("stages", False, (1,))]
    first = every.question("first")
    assert (first.shown, first.right) == (3, 2)  # each marked against its own version
    assert by_text(first)["Communicate"].correct  # as the newest version marks it
    assert by_text(first)["Co-locate"].share == pytest.approx(2 / 3)
    stages = every.question("stages")  # removed in version 2: shown only in version 1
    assert (stages.shown, stages.right) == (1, 0)
    who = every.question("who")
    assert (who.shown, who.right, who.share_right) == (2, 1, 0.5)
    assert (every.question("order").shown, every.question("order").right) == (3, 2)

    newest = analysis.quiz_analysis(session, v1.course_id, "check", version_id=v2.id)
    assert newest.version_numbers == (2,) and newest.submitted_attempts == 2
    assert [q.id for q in newest.questions] == ["first", "order", "who"]
    assert (newest.question("first").shown, newest.question("first").right) == (2, 1)

    oldest = analysis.quiz_analysis(session, v1.course_id, "check", version_id=v1.id)
    assert oldest.title == "Check your understanding" and oldest.submitted_attempts == 1
    assert [q.id for q in oldest.questions] == ["first", "stages", "order"]
    assert (oldest.question("first").right, oldest.question("who")) == (1, None)
    assert by_text(oldest.question("first"))["Co-locate"].correct


def test_an_option_dropped_by_a_newer_version_is_still_listed(session, version, people):
    changed = QUIZ_V2.replace("- [ ] Co-ordinate\n", "- [ ] Co-operate\n")
    v2 = publish(session, quiz=changed)
    learner, = people(1)
    take(session, learner, version, "check",
         answer(courses.version_item(version, "check"), first=["Co-ordinate"]),
         question_ids=["first"])
    first = analysis.quiz_analysis(session, v2.course_id, "check").question("first")
    options = by_text(first)
    assert list(options) == ["Co-locate", "Communicate", "Co-operate", "Co-ordinate"]
    assert not options["Co-ordinate"].current and options["Co-operate"].current
    assert (options["Co-ordinate"].shown, options["Co-ordinate"].chosen) == (1, 1)
    assert (options["Co-operate"].shown, options["Co-operate"].share) == (0, None)


# --- discrimination ---------------------------------------------------------------------------


@pytest.fixture
def strength(session, people):
    """Ten learners: five strong (right on s2, s3, s4), five weak (wrong on all three).
    s1 is right for the strong ones only; s5 for the weak ones only."""
    version = publish(session, extra={"03-strength.quiz.md": strength_quiz()})
    quiz = courses.version_item(version, "strength")
    for number, learner in enumerate(people(10)):
        strong = number < 5
        picks = {"s1": "R" if strong else "W", "s5": "W" if strong else "R"}
        picks.update({f"s{n}": "R" if strong else "W" for n in (2, 3, 4)})
        take(session, learner, version, "strength",
             {qid: [option_id(quiz, qid, text)] for qid, text in picks.items()})
    return version


def test_a_question_strong_learners_get_right_discriminates_positively(session, strength):
    result = analysis.quiz_analysis(session, strength.course_id, "strength")
    s1 = result.question("s1")
    assert s1.discrimination == pytest.approx(1.0)
    assert s1.discrimination_rating == "good" and s1.discrimination_attempts == 10
    assert s1.discrimination_label.startswith("Discriminates well")
    assert result.question("s3").discrimination > 0


def test_a_question_weak_learners_get_right_discriminates_negatively(session, strength):
    result = analysis.quiz_analysis(session, strength.course_id, "strength")
    s5 = result.question("s5")
    assert s5.discrimination == pytest.approx(-1.0)
    assert s5.discrimination_rating == "negative"
    assert "check which answer is marked right" in s5.discrimination_label
    assert "strong learners get right" in result.discrimination_help


def test_discrimination_is_the_correlation_with_the_rest_of_the_quiz(session, people):
    version = publish(session, extra={"03-strength.quiz.md": strength_quiz()})
    quiz = courses.version_item(version, "strength")
    # Each learner's right answers (1) on s1..s5: a mixed pattern, nothing constant.
    grid = ["11110", "10111", "01100", "11011", "00010",
            "10000", "01111", "11100", "00001", "10101", "01010", "11111"]
    for learner, row in zip(people(len(grid)), grid, strict=True):
        take(session, learner, version, "strength",
             {f"s{n}": [option_id(quiz, f"s{n}", "R" if right == "1" else "W")]
              for n, right in enumerate(row, start=1)})
    result = analysis.quiz_analysis(session, version.course_id, "strength")
    for n in range(1, 6):
        on_it = [int(row[n - 1]) for row in grid]
        rest = [(row.count("1") - int(row[n - 1])) / 4 for row in grid]
        expected = statistics.correlation(on_it, rest)
        assert result.question(f"s{n}").discrimination == pytest.approx(expected)
        assert result.question(f"s{n}").share_right == sum(on_it) / len(grid)
    # Corrected: the question itself is left out of the score it is compared with.
    s1_total = [row.count("1") for row in grid]
    assert result.question("s1").discrimination != pytest.approx(
        statistics.correlation([int(row[0]) for row in grid], s1_total))


def test_a_question_everyone_gets_right_cannot_discriminate(session, people):
    version = publish(session, extra={"03-strength.quiz.md": strength_quiz()})
    quiz = courses.version_item(version, "strength")
    for number, learner in enumerate(people(10)):
        picks = {"s1": "R", **{f"s{n}": "R" if number % n else "W" for n in (2, 3, 4, 5)}}
        take(session, learner, version, "strength",
             {qid: [option_id(quiz, qid, text)] for qid, text in picks.items()})
    result = analysis.quiz_analysis(session, version.course_id, "strength")
    s1 = result.question("s1")
    assert (s1.share_right, s1.discrimination, s1.discrimination_rating) == (
        1.0, None, "no-variation")
    assert s1.discrimination_label.startswith("Cannot say")
    assert result.question("s2").discrimination is not None


def test_discrimination_ratings_and_their_edges():
    assert analysis.discrimination([(1, 0.5), (0, 0.5)] * 6) == (None, "no-variation")
    assert analysis.discrimination([(1, 1.0), (0, 0.0)] * 4) == (None, "too-few")
    assert analysis.discrimination([(1, 1.0), (0, 0.0)] * 5) == (pytest.approx(1.0), "good")
    value, rating = analysis.discrimination([(1, 0.6), (0, 0.5), (1, 0.5), (0, 0.6)] * 3)
    assert value == pytest.approx(0.0) and rating == "poor"
    assert analysis.discrimination_rating(0.25) == "fair"
    assert analysis.discrimination_rating(0.30) == "good"
    assert analysis.discrimination_rating(-0.01) == "negative"


# --- efficiency -------------------------------------------------------------------------------


def count_statements(session, call):
    statements = []

    def record(conn, cursor, statement, parameters, context, executemany):
        statements.append(statement)

    engine = session.get_bind().engine
    event.listen(engine, "before_cursor_execute", record)
    try:
        call()
    finally:
        event.remove(engine, "before_cursor_execute", record)
    return statements


def test_the_number_of_queries_does_not_grow_with_the_attempts(session, version, people):
    quiz = courses.version_item(version, "check")
    learners = people(12)
    course_id = version.course_id

    def analyse():
        session.expire_all()  # nothing comes from the session's identity map
        return analysis.quiz_analysis(session, course_id, "check")

    take(session, learners[0], version, "check", answer(quiz, first=["Co-locate"]))
    session.flush()
    few = count_statements(session, analyse)
    for learner in learners[1:]:
        take(session, learner, version, "check", answer(quiz, first=["Communicate"]))
    session.flush()
    many = count_statements(session, analyse)
    assert len(few) == len(many) == 2
    assert analyse().analysed_attempts == 12
    scenario_queries = count_statements(
        session, lambda: analysis.scenario_analysis(session, course_id, "walk"))
    assert len(scenario_queries) == 2


# --- layers -----------------------------------------------------------------------------------


def test_the_analysis_imports_no_flask():
    probe = "import sys, jesip_learn.learning.item_analysis\nprint('flask' in sys.modules)"
    completed = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                               check=True)
    assert completed.stdout.strip() == "False"
