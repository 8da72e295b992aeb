"""Quiz attempts: starting (or resuming) one, saving answers, and submitting it once.

An attempt fixes, when it starts, the questions drawn and the order their options are
shown in; it is always read against the version it started on (`attempt.version`), so
publishing a new version never changes an attempt in progress.

A submission is recorded by one conditional UPDATE (`... WHERE submitted_at IS NULL`), so a
double click, a second tab or a replayed POST records one result: the later ones find the
attempt already submitted and simply show that result again. Answers are saved the same
way, so a late save can never change the answers of a submitted attempt.

Nothing here ever gives the answers or explanations of an attempt that is not submitted:
the page of an open attempt is built from `ShownQuestion`, which holds neither.

`QuizAttempt.answers` maps each question id to the learner's answer as marked: option ids
(in their order, for an ordering question). While the attempt is open, an ordering
question whose positions are not yet all different holds the positions chosen so far
instead, `{option id: position}`, so that saving and coming back shows them as they were
left; such a mapping is never an answer that can be marked (`saved_answer` reads it as
none), and submitting replaces every answer with what was sent.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Row, and_, case, func, select, update
from sqlalchemy.orm import Session, load_only

from jesip_learn import scoring
from jesip_learn.accounts.models import User
from jesip_learn.content import Question, Quiz
from jesip_learn.core.columns import utcnow
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.learning import progress
from jesip_learn.learning.models import Completion, QuizAllowance, QuizAttempt
from jesip_learn.scoring import FormValues, QuizScore
from jesip_learn.xapi import outbox as xapi_outbox
from jesip_learn.xapi import statements as xapi_statements


class AttemptRefused(Exception):
    """No attempt can be started; `message` says why, in words for the learner."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# --- looking attempts up -----------------------------------------------------------------


def attempt_for(session: Session, user: User, attempt_id: int) -> QuizAttempt | None:
    """The attempt, or None when there is none or it is someone else's."""
    attempt = session.get(QuizAttempt, attempt_id)
    if attempt is None or attempt.user_id != user.id:
        return None
    return attempt


# What lists of attempts show: never the questions drawn, their order or the answers (JSON
# that grows with the quiz), so a learner with hundreds of attempts costs what one with a
# few costs.
SUMMARY_COLUMNS = (QuizAttempt.id, QuizAttempt.user_id, QuizAttempt.course_id,
                   QuizAttempt.version_id, QuizAttempt.item_slug, QuizAttempt.started_at,
                   QuizAttempt.submitted_at, QuizAttempt.correct, QuizAttempt.total,
                   QuizAttempt.percent, QuizAttempt.passed)
SUMMARY = load_only(*SUMMARY_COLUMNS)


def attempt_history(session: Session, user: User, course: Course,
                    slug: str | None = None) -> list[QuizAttempt]:
    """Every attempt of this learner at the course's quizzes (or one quiz), newest first,
    without their questions and answers."""
    query = select(QuizAttempt).options(SUMMARY).where(QuizAttempt.user_id == user.id,
                                                       QuizAttempt.course_id == course.id)
    if slug is not None:
        query = query.where(QuizAttempt.item_slug == slug)
    return list(session.scalars(query.order_by(QuizAttempt.started_at.desc(),
                                               QuizAttempt.id.desc())))


def open_attempt(session: Session, user: User, course: Course, slug: str) -> QuizAttempt | None:
    """The learner's unsubmitted attempt at this quiz, if there is one."""
    return session.scalar(select(QuizAttempt).where(
        QuizAttempt.user_id == user.id, QuizAttempt.course_id == course.id,
        QuizAttempt.item_slug == slug, QuizAttempt.submitted_at.is_(None))
        .order_by(QuizAttempt.id.desc()).limit(1))


def attempts_used(session: Session, user: User, course: Course, slug: str,
                  now: datetime | None = None) -> int:
    """Submitted attempts that count against `max_attempts`: those of the current cycle."""
    query = select(func.count()).select_from(QuizAttempt).where(
        QuizAttempt.user_id == user.id, QuizAttempt.course_id == course.id,
        QuizAttempt.item_slug == slug, QuizAttempt.submitted_at.is_not(None))
    start = progress.cycle_start(session, user, course, now or utcnow())
    if start is not None:
        query = query.where(QuizAttempt.submitted_at > start)
    return session.scalar(query) or 0


def attempt_number(session: Session, attempt: QuizAttempt) -> int:
    """1 for the learner's first attempt at this quiz, 2 for the next, and so on."""
    return session.scalar(select(func.count()).select_from(QuizAttempt).where(
        QuizAttempt.user_id == attempt.user_id, QuizAttempt.course_id == attempt.course_id,
        QuizAttempt.item_slug == attempt.item_slug, QuizAttempt.id <= attempt.id)) or 1


def extra_attempts(session: Session, user: User, course: Course, slug: str,
                   now: datetime | None = None) -> int:
    """Attempts granted beyond `max_attempts` in this round of training (a grant made
    before the round began no longer counts)."""
    allowance = session.scalar(select(QuizAllowance).where(
        QuizAllowance.user_id == user.id, QuizAllowance.course_id == course.id,
        QuizAllowance.item_slug == slug))
    if allowance is None or allowance.granted_at is None:
        return 0
    start = progress.cycle_start(session, user, course, now or utcnow())
    if start is not None and allowance.granted_at <= start:
        return 0
    return allowance.extra_attempts


def attempt_limit(session: Session, user: User, course: Course, quiz: Quiz,
                  now: datetime | None = None) -> int | None:
    """How many attempts the learner may submit in this round: the quiz's `max_attempts`
    and any granted to them; None when the quiz has no limit."""
    if quiz.max_attempts is None:
        return None
    return quiz.max_attempts + extra_attempts(session, user, course, quiz.slug, now)


ATTEMPTS_PER_PAGE = 10


@dataclass(frozen=True, slots=True)
class AttemptsPage:
    """One page of a learner's submitted attempts at a quiz, numbered, newest first."""

    attempts: list[tuple[int, Row]]  # rows of SUMMARY_COLUMNS
    page: int  # from 1
    pages: int  # at least 1
    total: int  # submitted attempts on every page
    first: int  # the place of the page's first attempt in the list (from 1), 0 when none
    last: int


@dataclass(frozen=True, slots=True)
class QuizStanding:
    """Where a learner stands with a quiz: attempts used and left in this cycle, whether
    they passed in it and their best attempt in it, and the open attempt. Worked out by the
    database, so it costs the same however many attempts the learner has made; the list of
    attempts is read a page at a time (`submitted_page`)."""

    used: int
    limit: int | None  # None: unlimited
    passed: bool
    open_attempt: QuizAttempt | None
    # The highest score of this cycle (the first, if tied): a row of SUMMARY_COLUMNS.
    best: Row | None = None
    started: int = 0  # attempts ever started at the quiz, open ones too
    submitted: int = 0  # attempts ever submitted, in any cycle
    extra: int = 0  # attempts granted beyond the quiz's own limit, included in `limit`

    @property
    def left(self) -> int | None:
        return None if self.limit is None else max(0, self.limit - self.used)

    @property
    def can_start(self) -> bool:
        return self.open_attempt is not None or self.left is None or self.left > 0

    @property
    def used_up(self) -> bool:
        """Every attempt used without a pass: the learner needs more to finish the course."""
        return not self.can_start and not self.passed

    @property
    def refusal(self) -> str | None:
        if self.can_start:
            return None
        return refusal_message(self.limit)


def refusal_message(limit: int) -> str:
    noun = "attempt" if limit == 1 else "attempts"
    return f"You have used all {limit} {noun} at this quiz, so you cannot take it again."


def _quiz_attempts(user: User, course: Course, slug: str):
    return (QuizAttempt.user_id == user.id, QuizAttempt.course_id == course.id,
            QuizAttempt.item_slug == slug)


def quiz_standing(session: Session, user: User, course: Course, quiz: Quiz,
                  now: datetime | None = None) -> QuizStanding:
    start = progress.cycle_start(session, user, course, now or utcnow())
    mine = _quiz_attempts(user, course, quiz.slug)
    submitted = QuizAttempt.submitted_at.is_not(None)
    in_cycle = submitted if start is None else and_(submitted, QuizAttempt.submitted_at > start)
    # Counted from the index of attempts by quiz, never reading an attempt's answers: the
    # same cost, near enough, however many attempts there are.
    started, ever_submitted, used, passed, open_id = session.execute(
        select(func.count(), func.count(QuizAttempt.submitted_at),
               func.count(case((in_cycle, 1))),
               func.count(case((and_(in_cycle, QuizAttempt.passed.is_(True)), 1))),
               func.max(case((QuizAttempt.submitted_at.is_(None), QuizAttempt.id))))
        .where(*mine)).one()
    best = None
    if used:
        best_id = (select(QuizAttempt.id).where(*mine, in_cycle)
                   .order_by(func.coalesce(QuizAttempt.percent, 0.0).desc(),
                             QuizAttempt.started_at, QuizAttempt.id)
                   .limit(1).scalar_subquery())
        best = session.execute(select(*SUMMARY_COLUMNS).where(QuizAttempt.id == best_id)).one()
    extra = (extra_attempts(session, user, course, quiz.slug, now)
             if quiz.max_attempts is not None else 0)
    return QuizStanding(used=used, extra=extra,
                        limit=None if quiz.max_attempts is None else quiz.max_attempts + extra,
                        passed=bool(passed),
                        open_attempt=session.get(QuizAttempt, open_id) if open_id else None,
                        best=best, started=started, submitted=ever_submitted)


def submitted_page(session: Session, user: User, course: Course, slug: str, page: int,
                   per_page: int = ATTEMPTS_PER_PAGE, *,
                   standing: QuizStanding | None = None) -> AttemptsPage:
    """Page `page` of the learner's submitted attempts at the quiz, newest first, each
    numbered among all their attempts (1 for the first started); a page number out of range
    gives the nearest page there is. `standing`, the quiz's, saves counting again."""
    if standing is not None:
        everyone, total = standing.started, standing.submitted
    else:
        everyone, total = session.execute(
            select(func.count(), func.count(QuizAttempt.submitted_at))
            .where(*_quiz_attempts(user, course, slug))).one()
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    start = (page - 1) * per_page
    shown = []
    if total:
        newest_first = (QuizAttempt.started_at.desc(), QuizAttempt.id.desc())
        # The page's ids from the index alone, then only those rows read.
        on_page = (select(QuizAttempt.id)
                   .where(*_quiz_attempts(user, course, slug),
                          QuizAttempt.submitted_at.is_not(None))
                   .order_by(*newest_first).limit(per_page).offset(start))
        rows = session.execute(select(*SUMMARY_COLUMNS)
                               .where(QuizAttempt.id.in_(on_page.scalar_subquery()))
                               .order_by(*newest_first)).all()
        # Numbered among every attempt, open ones too (there is one at most, as a rule).
        unsubmitted = session.execute(
            select(QuizAttempt.started_at, QuizAttempt.id)
            .where(*_quiz_attempts(user, course, slug), QuizAttempt.submitted_at.is_(None))
        ).all() if everyone > total else []
        for index, row in enumerate(rows):
            newer_open = sum((started_at, id_) > (row.started_at, row.id)
                             for started_at, id_ in unsubmitted)
            shown.append((everyone - (start + index + newer_open), row))
    return AttemptsPage(attempts=shown, page=page, pages=pages, total=total,
                        first=start + 1 if shown else 0, last=start + len(shown))


# --- starting ----------------------------------------------------------------------------


def start_attempt(session: Session, user: User, version: CourseVersion, quiz: Quiz,
                  rng: random.Random | None = None, now: datetime | None = None) -> QuizAttempt:
    """The learner's open attempt at this quiz, or a new one with questions drawn and their
    options shuffled; refuses (AttemptRefused) when no attempt is left in this cycle."""
    now = now or utcnow()
    rng = rng or random.SystemRandom()
    # One learner starting from two tabs at once: the second waits here for the first, and
    # then finds its attempt.
    progress.lock_learner_course(session, user.id, version.course_id)
    course = version.course
    existing = open_attempt(session, user, course, quiz.slug)
    if existing is not None:
        return existing
    limit = attempt_limit(session, user, course, quiz, now)
    if limit is not None and attempts_used(session, user, course, quiz.slug, now) >= limit:
        raise AttemptRefused(refusal_message(limit))
    drawn = rng.sample(list(quiz.questions), quiz.questions_drawn)
    attempt = QuizAttempt(
        user_id=user.id, course_id=course.id, version_id=version.id, item_slug=quiz.slug,
        started_at=now, question_ids=[question.id for question in drawn],
        option_order={question.id: shuffled_options(question, rng) for question in drawn},
        answers={})
    session.add(attempt)
    session.flush()
    progress.start_item(session, user, version, quiz.slug, now)
    xapi_outbox.record(session, lambda settings: xapi_statements.quiz_attempted(
        settings, user, attempt, quiz, now))
    return attempt


def shuffled_options(question: Question, rng: random.Random) -> list[str]:
    """The question's option ids in a random order; for an ordering question of more than
    one item, never the right order (that would give the answer away)."""
    order = [option.id for option in question.options]
    rng.shuffle(order)
    if question.kind == "ordering" and len(order) > 1:
        while tuple(order) == tuple(question.correct_order):
            rng.shuffle(order)
    return order


# --- reading an attempt against its own version -----------------------------------------


def attempt_quiz(attempt: QuizAttempt) -> Quiz:
    """The quiz as it was in the version the attempt started on."""
    return courses.version_item(attempt.version, attempt.item_slug)


def attempt_questions(attempt: QuizAttempt, quiz: Quiz | None = None) -> list[Question]:
    """The attempt's questions, in the order they were drawn."""
    quiz = quiz or attempt_quiz(attempt)
    by_id = {question.id: question for question in quiz.questions}
    return [by_id[question_id] for question_id in attempt.question_ids if question_id in by_id]


def read_answers(questions: Sequence[Question], values: FormValues) -> dict[str, list[str]]:
    return {question.id: scoring.read_answer(question, values) for question in questions}


SavedAnswer = list[str] | dict[str, int]  # see the module docstring


def draft_answers(questions: Sequence[Question], values: FormValues) -> dict[str, SavedAnswer]:
    """The answers to keep for an open attempt: each as it would be marked, except an
    unfinished ordering, kept as the positions chosen so far."""
    answers: dict[str, SavedAnswer] = {}
    for question in questions:
        answer = scoring.read_answer(question, values)
        if question.kind == "ordering" and not answer:
            positions = scoring.Ordering.read_positions(question, values)
            answers[question.id] = positions or []
        else:
            answers[question.id] = answer
    return answers


def saved_answer(attempt: QuizAttempt, question: Question) -> list[str]:
    """The stored answer to a question, as it would be marked; [] for none, and for the
    unfinished positions of an ordering question."""
    answer = attempt.answers.get(question.id)
    if not isinstance(answer, list):
        return []
    return [value for value in answer if isinstance(value, str)]


def saved_positions(attempt: QuizAttempt, question: Question) -> dict[str, str]:
    """An ordering question's stored positions, option id → "2", as its selects show
    them: from a full answer or from the positions chosen so far."""
    stored = attempt.answers.get(question.id)
    count = len(question.options)
    known = {option.id for option in question.options}
    if isinstance(stored, dict):
        return {oid: str(position) for oid, position in stored.items()
                if oid in known and isinstance(position, int)
                and not isinstance(position, bool) and 1 <= position <= count}
    return {oid: str(index) for index, oid in enumerate(saved_answer(attempt, question),
                                                            start=1) if oid in known}


def answer_problems(questions: Sequence[Question],
                    answers: Mapping[str, list[str]]) -> dict[str, str]:
    """Question id → why its answer cannot be marked yet, for every such question."""
    problems = {}
    for question in questions:
        problem = scoring.answer_problem(question, answers.get(question.id, []))
        if problem is not None:
            problems[question.id] = problem
    return problems


# --- what the page of an open attempt shows (never the answers) ------------------------


@dataclass(frozen=True, slots=True)
class ShownOption:
    id: str
    html: str


@dataclass(frozen=True, slots=True)
class ShownQuestion:
    """A question as the learner sees it before submitting: no answer, no explanation."""

    number: int
    id: str
    kind: str
    title_html: str
    stem_html: str
    options: tuple[ShownOption, ...]  # in the order this attempt shows them
    selected: frozenset[str]  # option ids chosen (single and select-all questions)
    positions: Mapping[str, str] = field(default_factory=dict)  # ordering: option id → "2"
    problem: str | None = None

    @property
    def field_id(self) -> str:
        """The id of the question's first control, which the error summary links to."""
        return f"question-{self.number}"

    def field_name(self, option_id: str) -> str:
        """The name of an ordering question's position select for one item (the name
        scoring.Ordering reads)."""
        return f"{self.id}.{option_id}"


def shown_questions(attempt: QuizAttempt, values: FormValues | None = None,
                    problems: Mapping[str, str] | None = None) -> list[ShownQuestion]:
    """The attempt's questions for its page, filled in with the saved answers, or with the
    values just sent (`values`) when the page is shown again with `problems`."""
    problems = problems or {}
    shown = []
    for number, question in enumerate(attempt_questions(attempt), start=1):
        by_id = {option.id: option for option in question.options}
        order = [oid for oid in attempt.option_order.get(question.id, []) if oid in by_id]
        options = tuple(ShownOption(oid, by_id[oid].html) for oid in order)
        if question.kind == "ordering":
            if values is not None:
                positions = {oid: (values.get(scoring.Ordering.field(question, oid)) or [""])[0]
                             for oid in order}
            else:
                positions = saved_positions(attempt, question)
            selected = frozenset()
        else:
            answer = (scoring.read_answer(question, values) if values is not None
                      else saved_answer(attempt, question))
            positions, selected = {}, frozenset(answer)
        shown.append(ShownQuestion(
            number=number, id=question.id, kind=question.kind, title_html=question.title_html,
            stem_html=question.stem_html, options=options, selected=selected,
            positions=positions, problem=problems.get(question.id)))
    return shown


# --- saving and submitting --------------------------------------------------------------


def _unsubmitted(attempt: QuizAttempt):
    return update(QuizAttempt).where(QuizAttempt.id == attempt.id,
                                     QuizAttempt.submitted_at.is_(None))


def save_answers(session: Session, attempt: QuizAttempt, values: FormValues) -> bool:
    """Keep the answers sent as they are, finished or not (some may be missing); False
    when the attempt was already submitted, in which case nothing changes."""
    answers = draft_answers(attempt_questions(attempt), values)
    return _write(session, attempt, _unsubmitted(attempt).values(answers=answers))


def _write(session: Session, attempt: QuizAttempt, statement) -> bool:
    result = session.execute(statement, execution_options={"synchronize_session": False})
    session.refresh(attempt)  # what the database now holds, whoever wrote it
    return result.rowcount == 1


@dataclass(frozen=True, slots=True)
class Submission:
    """What submitting did. `problems` (question id → message) is set when some question
    was unanswered: no result was recorded. `recorded` is True only for the request that
    recorded the result; a repeated one finds it already submitted. `completion` is set
    when passing the quiz completed the course."""

    attempt: QuizAttempt
    problems: dict[str, str]
    recorded: bool = False
    completion: Completion | None = None

    @property
    def submitted(self) -> bool:
        return self.attempt.submitted_at is not None


def submit_attempt(session: Session, attempt: QuizAttempt, values: FormValues,
                   now: datetime | None = None) -> Submission:
    """Save the answers, then mark and record the attempt once, if every question has an
    answer."""
    if attempt.submitted_at is not None:
        return Submission(attempt, problems={})
    # Before the attempt's row, like every change to the learner's progress in the course.
    progress.lock_learner_course(session, attempt.user_id, attempt.course_id)
    now = now or utcnow()
    quiz = attempt_quiz(attempt)
    questions = attempt_questions(attempt, quiz)
    answers = read_answers(questions, values)
    problems = answer_problems(questions, answers)
    if problems:  # kept as a save would keep them; nothing is marked
        _write(session, attempt, _unsubmitted(attempt).values(
            answers=draft_answers(questions, values)))
        return Submission(attempt, problems={} if attempt.submitted_at else problems)
    score = scoring.score_quiz(questions, answers, quiz.pass_mark)
    recorded = _write(session, attempt, _unsubmitted(attempt).values(
        answers=answers, submitted_at=now, correct=score.correct, total=score.total,
        percent=score.percent, passed=score.passed))
    completion = None
    if recorded:
        xapi_outbox.record(session, lambda settings: xapi_statements.quiz_submitted(
            settings, session.get(User, attempt.user_id), attempt, quiz, questions, answers,
            score, now))
    if recorded and score.passed:
        completion = _complete_quiz(session, attempt, now)
    return Submission(attempt, problems={}, recorded=recorded, completion=completion)


def _complete_quiz(session: Session, attempt: QuizAttempt, now: datetime) -> Completion | None:
    return progress.complete_published_item(session, attempt.user_id, attempt.course_id,
                                            attempt.item_slug, now)


# --- the result, once submitted ----------------------------------------------------------


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
