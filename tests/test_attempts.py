"""Quiz attempts: drawing and shuffling, resuming, the attempt limit, saving, submitting
once, scoring, and completing the item and the course."""

import dataclasses
import random
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm.attributes import set_committed_value

from jesip_learn import scoring
from jesip_learn.core.columns import utcnow
from jesip_learn.courses import catalogue as courses
from jesip_learn.learning import (
    attempt_answers,
    attempt_lookup,
    attempt_results,
    attempts,
    progress,
)
from jesip_learn.learning.models import Completion, QuizAttempt
from tests.support.factories import make_user
from tests.support.quizzes import answer_values

VALID = Path(__file__).parent / "content" / "fixtures" / "valid-course"
NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def quiz(version):
    stored = next(item for item in version.items if item.kind == "quiz")
    return courses.version_item(version, stored.slug)


def start(session, learner, version, quiz, seed=1):
    return attempts.start_attempt(session, learner, version, quiz, random.Random(seed), NOW)


def questions_of(attempt):
    return attempt_answers.attempt_questions(attempt)


def submit(session, attempt, *, right=True):
    return attempts.submit_attempt(session, attempt,
                                   answer_values(questions_of(attempt), right=right), NOW)


def count(session, model, *conditions):
    return session.scalar(select(func.count()).select_from(model).where(*conditions))


# --- drawing and shuffling --------------------------------------------------------------


def test_an_attempt_draws_the_number_asked_for_with_options_shuffled(session, learner,
                                                                     version, quiz):
    two = dataclasses.replace(quiz, questions_per_attempt=2)
    attempt = start(session, learner, version, two)
    assert len(attempt.question_ids) == 2
    bank = {question.id: question for question in quiz.questions}
    assert set(attempt.question_ids) <= set(bank)
    assert set(attempt.option_order) == set(attempt.question_ids)
    for question_id, shown in attempt.option_order.items():
        assert sorted(shown) == sorted(o.id for o in bank[question_id].options)
    assert attempt.version_id == version.id and attempt.submitted_at is None


def test_draws_follow_the_random_generator(session, version, quiz):
    def draw(seed):
        attempt = start(session, make_user(session), version, quiz, seed)
        return attempt.question_ids, attempt.option_order

    assert draw(7) == draw(7)  # the same seed draws the same attempt
    draws = [draw(seed) for seed in range(8)]
    assert len({tuple(ids) for ids, _order in draws}) > 1  # questions in different orders
    first = quiz.questions[0].id
    assert len({tuple(order[first]) for _ids, order in draws}) > 1  # options shuffled


def test_ordering_items_are_never_shown_in_the_right_order(quiz):
    ordering = next(q for q in quiz.questions if q.kind == "ordering")
    two_items = dataclasses.replace(ordering, options=ordering.options[:2],
                                    correct_order=ordering.correct_order[:2])
    for question in (ordering, two_items):
        for seed in range(200):
            shown = attempts.shuffled_options(question, random.Random(seed))
            assert tuple(shown) != question.correct_order
            assert sorted(shown) == sorted(question.correct_order)


def test_starting_marks_the_quiz_in_progress(session, learner, version, quiz):
    start(session, learner, version, quiz)
    assert progress.item_states(session, learner, version, NOW)[quiz.slug] == "in-progress"


# --- resuming and the attempt limit -----------------------------------------------------


def test_an_open_attempt_is_resumed_instead_of_starting_another(session, learner, version,
                                                                quiz):
    first = start(session, learner, version, quiz, seed=1)
    again = start(session, learner, version, quiz, seed=2)
    assert again.id == first.id
    assert count(session, QuizAttempt, QuizAttempt.user_id == learner.id) == 1
    standing = attempt_lookup.quiz_standing(session, learner, version.course, quiz, NOW)
    assert standing.open_attempt.id == first.id and standing.used == 0


def test_max_attempts_is_enforced(session, learner, version, quiz):
    assert quiz.max_attempts == 3
    for seed in range(3):
        submit(session, start(session, learner, version, quiz, seed), right=False)
    standing = attempt_lookup.quiz_standing(session, learner, version.course, quiz, NOW)
    assert standing.used == 3 and standing.left == 0 and not standing.can_start
    assert standing.refusal == ("You have used all 3 attempts at this quiz, so you cannot "
                                "take it again.")
    with pytest.raises(attempts.AttemptRefused) as refused:
        start(session, learner, version, quiz, seed=9)
    assert refused.value.message == standing.refusal
    assert count(session, QuizAttempt, QuizAttempt.user_id == learner.id) == 3
    page = attempt_lookup.submitted_page(session, learner, version.course, quiz.slug, 1)
    assert [number for number, _a in page.attempts] == [3, 2, 1]


def test_attempts_and_a_pass_count_again_after_a_renewal(session, learner, version, quiz,
                                                        tmp_path):
    earlier = utcnow() - timedelta(days=1)
    for seed in range(3):
        attempt = attempts.start_attempt(session, learner, version, quiz, random.Random(seed),
                                         earlier)
        attempts.submit_attempt(session, attempt, answer_values(questions_of(attempt),
                                                                right=seed == 2), earlier)
    standing = attempt_lookup.quiz_standing(session, learner, version.course, quiz, earlier)
    assert standing.passed and standing.used == 3 and not standing.can_start
    copy = tmp_path / "valid-course"
    shutil.copytree(VALID, copy)
    (copy / "course.md").write_text((copy / "course.md").read_text() + "\nRenewed.\n")
    courses.import_parsed(session, courses.parse_folders(copy), needs_renewal=True)
    renewed = version.course.published_version
    standing = attempt_lookup.quiz_standing(session, learner, version.course, quiz)
    assert not standing.passed and standing.used == 0 and standing.can_start
    # the old attempts stay in the history
    assert attempt_lookup.submitted_page(session, learner, version.course, quiz.slug, 1).total == 3
    fresh = attempts.start_attempt(session, learner, renewed, quiz, random.Random(5))
    assert fresh.version_id == renewed.id


def test_unlimited_attempts(session, learner, version, quiz):
    unlimited = dataclasses.replace(quiz, max_attempts=None)
    for seed in range(4):
        submit(session, start(session, learner, version, unlimited, seed), right=False)
    standing = attempt_lookup.quiz_standing(session, learner, version.course, unlimited, NOW)
    assert standing.used == 4 and standing.left is None and standing.can_start


def test_the_standing_pages_submitted_attempts_newest_first(session, learner, version, quiz):
    unlimited = dataclasses.replace(quiz, max_attempts=None)
    for seed in range(12):
        moment = NOW + timedelta(minutes=seed)
        attempt = attempts.start_attempt(session, learner, version, unlimited,
                                         random.Random(seed), moment)
        attempts.submit_attempt(session, attempt, answer_values(
            questions_of(attempt), right=seed in (3, 7)), moment)
    open_one = attempts.start_attempt(session, learner, version, unlimited, random.Random(),
                                      NOW + timedelta(hours=1))
    standing = attempt_lookup.quiz_standing(session, learner, version.course, unlimited, NOW)

    def submitted_page(page, per_page):
        return attempt_lookup.submitted_page(session, learner, version.course, quiz.slug, page,
                                             per_page)

    first = submitted_page(1, per_page=5)
    assert [number for number, _a in first.attempts] == [12, 11, 10, 9, 8]  # 13 is open
    assert (first.page, first.pages, first.total, first.first, first.last) == (1, 3, 12, 1, 5)
    last = submitted_page(3, per_page=5)
    assert [number for number, _a in last.attempts] == [2, 1]
    assert (last.first, last.last) == (11, 12)
    assert submitted_page(0, per_page=5).page == 1
    assert submitted_page(40, per_page=5) == last
    assert all(a is not open_one for page in (1, 2, 3)
               for _n, a in submitted_page(page, per_page=5).attempts)
    assert standing.best.percent == 100 and standing.best.started_at == NOW + timedelta(
        minutes=3)  # the first of the two that scored highest


def test_a_learner_with_no_attempts_has_one_empty_page(session, learner, version, quiz):
    standing = attempt_lookup.quiz_standing(session, learner, version.course, quiz, NOW)
    page = attempt_lookup.submitted_page(session, learner, version.course, quiz.slug, 2)
    assert (page.attempts, page.page, page.pages, page.total, page.first) == ([], 1, 1, 0, 0)
    assert standing.best is None


# --- saving and submitting --------------------------------------------------------------


def test_answers_are_saved_partly_and_shown_again(session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    single = next(q for q in questions_of(attempt) if q.kind == "single")
    right = answer_values([single])
    assert attempts.save_answers(session, attempt, right)
    session.expire_all()
    attempt = session.get(QuizAttempt, attempt.id)
    assert attempt.answers[single.id] == right[single.id]
    shown = {q.id: q for q in attempt_answers.shown_questions(attempt)}
    assert shown[single.id].selected == frozenset(right[single.id])
    assert attempt.submitted_at is None


def ordering_of(attempt):
    return next(q for q in questions_of(attempt) if q.kind == "ordering")


def test_an_unfinished_ordering_is_saved_as_chosen(session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    ordering = ordering_of(attempt)
    first, second, third = ordering.correct_order
    partly = {f"{ordering.id}.{first}": ["1"], f"{ordering.id}.{second}": ["2"],
              f"{ordering.id}.{third}": [""]}
    assert attempts.save_answers(session, attempt, partly)
    session.expire_all()
    attempt = session.get(QuizAttempt, attempt.id)
    assert attempt.answers[ordering.id] == {first: 1, second: 2}
    shown = next(q for q in attempt_answers.shown_questions(attempt) if q.id == ordering.id)
    assert shown.positions == {first: "1", second: "2"}
    # Right so far, but never an answer that can be marked.
    assert attempt_answers.saved_answer(attempt, ordering) == []
    assert not scoring.is_correct(ordering, attempt_answers.saved_answer(attempt, ordering))
    assert attempt.submitted_at is None


def test_positions_used_twice_are_saved_as_chosen(session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    ordering = ordering_of(attempt)
    values = {f"{ordering.id}.{option.id}": ["2"] for option in ordering.options}
    attempts.save_answers(session, attempt, values)
    shown = next(q for q in attempt_answers.shown_questions(attempt) if q.id == ordering.id)
    assert shown.positions == {option.id: "2" for option in ordering.options}


def test_a_full_ordering_is_saved_as_the_order(session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    ordering = ordering_of(attempt)
    attempts.save_answers(session, attempt, answer_values([ordering], right=False))
    assert attempt.answers[ordering.id] == list(reversed(ordering.correct_order))
    shown = next(q for q in attempt_answers.shown_questions(attempt) if q.id == ordering.id)
    assert shown.positions == {oid: str(n) for n, oid in
                               enumerate(reversed(ordering.correct_order), start=1)}


def test_submitting_an_unfinished_ordering_marks_nothing_and_keeps_the_positions(
        session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    questions = questions_of(attempt)
    ordering = ordering_of(attempt)
    first, second, _third = ordering.correct_order
    values = answer_values([q for q in questions if q.kind != "ordering"])
    values |= {f"{ordering.id}.{first}": ["1"], f"{ordering.id}.{second}": ["2"]}
    attempts.save_answers(session, attempt, values)
    submission = attempts.submit_attempt(session, attempt, values, NOW)
    assert list(submission.problems) == [ordering.id]
    assert submission.problems[ordering.id] == "Give each item a different position, from 1 to 3"
    assert not submission.submitted and attempt.correct is None
    assert attempt.answers[ordering.id] == {first: 1, second: 2}  # kept, as a save keeps it
    with pytest.raises(ValueError):
        attempt_results.attempt_result(attempt, show_answers="always", passed=False)


def test_the_result_shows_the_order_submitted_not_the_one_saved(session, learner, version,
                                                                quiz):
    attempt = start(session, learner, version, quiz)
    ordering = ordering_of(attempt)
    first, second, _third = ordering.correct_order
    attempts.save_answers(session, attempt, {f"{ordering.id}.{first}": ["1"],
                                             f"{ordering.id}.{second}": ["2"]})
    submission = submit(session, attempt, right=False)
    assert submission.recorded and attempt.correct == 0
    assert attempt.answers[ordering.id] == list(reversed(ordering.correct_order))
    result = attempt_results.attempt_result(attempt, show_answers="always", passed=False)
    marked = next(q for q in result.questions if q.kind == "ordering")
    html = {option.id: option.html for option in ordering.options}
    assert marked.given_html == tuple(html[oid] for oid in reversed(ordering.correct_order))
    assert not marked.correct


def test_an_incomplete_submission_records_nothing(session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    single = next(q for q in questions_of(attempt) if q.kind == "single")
    submission = attempts.submit_attempt(session, attempt, answer_values([single]), NOW)
    assert not submission.submitted and not submission.recorded
    others = {q.id for q in questions_of(attempt)} - {single.id}
    assert set(submission.problems) == others
    assert "Select all the answers that apply" in submission.problems.values()
    assert "Give each item a different position, from 1 to 3" in submission.problems.values()
    session.expire_all()
    stored = session.get(QuizAttempt, attempt.id)
    assert stored.submitted_at is None and stored.correct is None and stored.passed is None
    assert progress.item_states(session, learner, version, NOW)[quiz.slug] == "in-progress"


def test_positions_used_twice_are_an_unanswered_ordering_question(session, learner, version,
                                                                  quiz):
    attempt = start(session, learner, version, quiz)
    values = answer_values(questions_of(attempt))
    ordering = next(q for q in questions_of(attempt) if q.kind == "ordering")
    for option in ordering.options:
        values[f"{ordering.id}.{option.id}"] = ["1"]
    submission = attempts.submit_attempt(session, attempt, values, NOW)
    assert list(submission.problems) == [ordering.id]
    shown = next(q for q in attempt_answers.shown_questions(attempt, values, submission.problems)
                 if q.id == ordering.id)
    assert set(shown.positions.values()) == {"1"} and shown.problem  # as the learner sent it


def test_wrong_answers_fail(session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    submission = submit(session, attempt, right=False)
    assert submission.recorded and submission.completion is None
    assert (attempt.correct, attempt.total, attempt.percent, attempt.passed) == (0, 3, 0.0,
                                                                                False)
    assert attempt.submitted_at == NOW
    result = attempt_results.attempt_result(attempt, show_answers="always", passed=False)
    assert not result.passed and not any(q.correct for q in result.questions)
    assert progress.item_states(session, learner, version, NOW)[quiz.slug] == "in-progress"


def test_one_wrong_answer_of_three_is_below_the_pass_mark(session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    questions = questions_of(attempt)
    values = {**answer_values(questions[:2]), **answer_values(questions[2:], right=False)}
    attempts.submit_attempt(session, attempt, values, NOW)
    assert attempt.correct == 2 and round(attempt.percent, 1) == 66.7 and not attempt.passed


def test_passing_completes_the_quiz(session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    submission = submit(session, attempt)
    assert submission.recorded and attempt.passed and attempt.correct == 3
    assert submission.completion is None  # the other items are not done yet
    assert progress.item_states(session, learner, version, NOW)[quiz.slug] == "completed"
    result = attempt_results.attempt_result(attempt, show_answers="always", passed=False)
    assert result.passed and all(q.correct for q in result.questions)
    ordering = next(q for q in result.questions if q.kind == "ordering")
    assert ordering.right_html == ("Major incident declared?", "Exact location",
                                   "Type of incident")
    assert all(q.explanation_html for q in result.questions)


def test_passing_the_last_item_completes_the_course(session, learner, version, quiz):
    for item in version.items:
        if item.slug != quiz.slug:
            progress.complete_item(session, learner, version, item.slug, NOW)
    submission = submit(session, start(session, learner, version, quiz))
    assert submission.completion is not None
    assert submission.completion.version_id == version.id
    assert count(session, Completion, Completion.user_id == learner.id) == 1


def test_a_replayed_submission_records_once(session, learner, version, quiz):
    for item in version.items:
        if item.slug != quiz.slug:
            progress.complete_item(session, learner, version, item.slug, NOW)
    attempt = start(session, learner, version, quiz)
    first = submit(session, attempt)
    recorded = (attempt.submitted_at, attempt.correct, attempt.passed, dict(attempt.answers))
    replay = submit(session, attempt, right=False)
    assert first.recorded and first.completion is not None
    assert replay.submitted and not replay.recorded and replay.completion is None
    assert not replay.problems
    empty = attempts.submit_attempt(session, attempt, {}, NOW)  # nothing sent at all
    assert empty.submitted and not empty.problems and not empty.recorded
    assert not attempts.save_answers(session, attempt, answer_values(questions_of(attempt),
                                                                     right=False))
    session.expire_all()
    stored = session.get(QuizAttempt, attempt.id)
    assert (stored.submitted_at, stored.correct, stored.passed, stored.answers) == recorded
    assert count(session, Completion, Completion.user_id == learner.id) == 1


def test_a_submission_found_already_recorded_by_someone_else_changes_nothing(
        session, learner, version, quiz):
    """Another request recorded the result after this one loaded the attempt."""
    attempt = start(session, learner, version, quiz)
    loaded_early = session.get(QuizAttempt, attempt.id)
    session.execute(attempts._unsubmitted(attempt).values(submitted_at=NOW, correct=1, total=3,
                                                          percent=33.3, passed=False))
    # As this request saw it before the other wrote: stale in memory, not a change to save.
    set_committed_value(loaded_early, "submitted_at", None)
    submission = attempts.submit_attempt(session, loaded_early,
                                         answer_values(questions_of(loaded_early)), NOW)
    assert submission.submitted and not submission.recorded
    assert loaded_early.correct == 1 and loaded_early.passed is False


# --- versions, ownership and history ----------------------------------------------------


def test_a_new_version_does_not_change_an_attempt_in_progress(session, learner, version, quiz,
                                                              tmp_path):
    attempt = start(session, learner, version, quiz)
    copy = tmp_path / "valid-course"
    shutil.copytree(VALID, copy)
    quiz_file = next(copy.glob("*.quiz.md"))
    quiz_file.write_text(quiz_file.read_text().replace("- [ ] Communicate\n",
                                                       "- [ ] Communicate clearly\n"))
    courses.import_parsed(session, courses.parse_folders(copy))
    assert version.course.published_version.number == 2
    shown = [o.html for q in attempt_answers.shown_questions(attempt) for o in q.options]
    assert "Communicate" in shown and "Communicate clearly" not in shown
    submission = submit(session, attempt)
    assert submission.recorded and attempt.passed and attempt.version_id == version.id
    published = version.course.published_version
    assert progress.item_states(session, learner, published, NOW)[quiz.slug] == "completed"


def test_an_attempt_belongs_to_its_learner(session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    other = make_user(session)
    assert attempt_lookup.attempt_for(session, learner, attempt.id) is attempt
    assert attempt_lookup.attempt_for(session, other, attempt.id) is None
    assert attempt_lookup.attempt_for(session, learner, attempt.id + 1000) is None


def test_history_lists_every_attempt_newest_first(session, learner, version, quiz):
    first = start(session, learner, version, quiz)
    submit(session, first, right=False)
    second = start(session, learner, version, quiz, seed=2)
    history = attempt_lookup.attempt_history(session, learner, version.course)
    assert [a.id for a in history] == [second.id, first.id]
    assert attempt_lookup.attempt_number(session, second) == 2
    assert attempt_lookup.attempt_history(session, make_user(session), version.course) == []


def test_the_page_of_an_open_attempt_holds_no_answers(session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    fields = {f.name for f in dataclasses.fields(attempt_answers.ShownQuestion)}
    assert not fields & {"correct", "correct_order", "explanation_html", "options_correct"}
    assert {f.name for f in dataclasses.fields(attempt_answers.ShownOption)} == {"id", "html"}
    with pytest.raises(ValueError):
        attempt_results.attempt_result(attempt, show_answers="always", passed=False)


# --- when the right answers are shown ------------------------------------------------------


@pytest.mark.parametrize(("setting", "before_a_pass", "after_a_pass"), [
    ("after-pass", False, True), ("always", True, True), ("never", False, False)])
def test_the_right_answers_are_shown_as_the_quiz_setting_says(setting, before_a_pass,
                                                              after_a_pass):
    assert attempt_results.shows_right_answers(setting, passed=False) is before_a_pass
    assert attempt_results.shows_right_answers(setting, passed=True) is after_a_pass


def test_a_result_without_the_right_answers_still_says_what_was_wrong_and_why(
        session, learner, version, quiz):
    attempt = start(session, learner, version, quiz)
    submit(session, attempt, right=False)
    result = attempt_results.attempt_result(attempt, show_answers="after-pass", passed=False)
    assert not result.right_answers_shown and result.show_answers == "after-pass"
    assert all(q.right_html == () for q in result.questions)
    assert [q.number for q in result.wrong] == [1, 2, 3]
    assert all(q.given_html and q.explanation_html for q in result.questions)
    shown = attempt_results.attempt_result(attempt, show_answers="after-pass", passed=True)
    assert shown.right_answers_shown and all(q.right_html for q in shown.questions)


def test_the_review_reads_whether_the_learner_passed_and_the_published_setting(
        session, learner, version, quiz):
    failed = start(session, learner, version, quiz)
    submit(session, failed, right=False)
    review = attempt_results.attempt_review(session, learner, failed, quiz, NOW)
    assert review.standing is not None and not review.standing.passed
    assert not review.result.right_answers_shown
    passed = start(session, learner, version, quiz, seed=2)
    submit(session, passed)
    review = attempt_results.attempt_review(session, learner, failed, quiz, NOW)
    assert review.result.right_answers_shown
    never = dataclasses.replace(quiz, show_answers="never")
    assert not attempt_results.attempt_review(session, learner, failed, never,
                                              NOW).result.right_answers_shown
    # A quiz no longer published: its own version's setting, and no standing to show.
    unpublished = attempt_results.attempt_review(session, learner, failed, None, NOW)
    assert unpublished.standing is None and unpublished.result.right_answers_shown
