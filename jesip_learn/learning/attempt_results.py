"""The result of a submitted attempt: each question marked, and the right answers only
when the quiz's `show_answers` setting allows them to this learner now.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.orm import Session

from jesip_learn import scoring
from jesip_learn.accounts.models import User
from jesip_learn.content import Quiz
from jesip_learn.learning.attempt_answers import attempt_questions, attempt_quiz, saved_answer
from jesip_learn.learning.attempt_lookup import QuizStanding, quiz_standing
from jesip_learn.learning.models import QuizAttempt
from jesip_learn.scoring import QuizScore


def shows_right_answers(show_answers: str, passed: bool) -> bool:
    """Whether a learner sees the right answers of a quiz with this `show_answers` setting:
    "always" after any attempt, "after-pass" once they have passed it (in this round of
    training, as the quiz's overview says), "never" not at all. Whether each answer was
    right, and the explanations, are shown whatever the setting."""
    return show_answers == "always" or (show_answers == "after-pass" and passed)


@dataclass(frozen=True, slots=True)
class MarkedQuestion:
    number: int
    kind: str
    title_html: str
    stem_html: str
    given_html: tuple[str, ...]  # the learner's answer, as option HTML in their order
    right_html: tuple[str, ...]  # the right answer; empty when it is not to be shown
    correct: bool
    explanation_html: str

    @property
    def anchor(self) -> str:
        return f"question-{self.number}"


@dataclass(frozen=True, slots=True)
class AttemptResult:
    score: QuizScore
    questions: list[MarkedQuestion]
    # The quiz's show_answers setting, and whether the right answers are shown under it now.
    show_answers: str
    right_answers_shown: bool

    @property
    def passed(self) -> bool:
        return self.score.passed

    @property
    def wrong(self) -> list[MarkedQuestion]:
        return [question for question in self.questions if not question.correct]


def attempt_result(attempt: QuizAttempt, *, show_answers: str, passed: bool) -> AttemptResult:
    """The marked attempt: only for one that has been submitted. The right answers are in
    it only when `show_answers` allows them to a learner who has `passed` the quiz or not
    (see shows_right_answers)."""
    if attempt.submitted_at is None:
        raise ValueError("an attempt's answers are shown only once it is submitted")
    show_right_answers = shows_right_answers(show_answers, passed)
    quiz = attempt_quiz(attempt)
    questions = attempt_questions(attempt, quiz)
    marked = []
    for number, question in enumerate(questions, start=1):
        html = {option.id: option.html for option in question.options}
        shown = attempt.option_order.get(question.id, [])
        answer = saved_answer(attempt, question)
        if question.kind == "ordering":
            given, right = answer, list(question.correct_order)
        else:  # choices listed in the order the learner saw them
            given = [oid for oid in shown if oid in set(answer)]
            right = [oid for oid in shown if oid in question.correct_option_ids]
        marked.append(MarkedQuestion(
            number=number, kind=question.kind, title_html=question.title_html,
            stem_html=question.stem_html,
            given_html=tuple(html[oid] for oid in given if oid in html),
            right_html=tuple(html[oid] for oid in right if oid in html)
            if show_right_answers else (),
            correct=scoring.is_correct(question, answer),
            explanation_html=question.explanation_html))
    score = QuizScore(correct=attempt.correct or 0, total=attempt.total or len(questions),
                      pass_mark=quiz.pass_mark)
    return AttemptResult(score=score, questions=marked, show_answers=show_answers,
                         right_answers_shown=show_right_answers)


@dataclass(frozen=True, slots=True)
class AttemptReview:
    """What the result page of a submitted attempt shows: the marked attempt, and where the
    learner stands with the quiz (None when the quiz is no longer published)."""

    result: AttemptResult
    standing: QuizStanding | None


def attempt_review(session: Session, user: User, attempt: QuizAttempt,
                   published: Quiz | None, now: datetime | None = None) -> AttemptReview:
    """The learner's own submitted attempt, marked, with its right answers only when the
    quiz's `show_answers` allows them now. The published quiz's setting applies (to earlier
    attempts too: a trainer who stops showing the answers stops it everywhere); the
    attempt's own version's when the quiz is no longer published."""
    quiz = published or attempt_quiz(attempt)
    standing = quiz_standing(session, user, attempt.version.course, quiz, now)
    result = attempt_result(attempt, show_answers=quiz.show_answers, passed=standing.passed)
    return AttemptReview(result=result, standing=standing if published else None)
