"""A learner's history, course by course: what the history page and a manager's view of a
person show. It builds on progress, attempts and runs, which do not import it."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import User
from jesip_learn.courses.models import Course
from jesip_learn.learning.attempt_lookup import attempt_history
from jesip_learn.learning.models import Completion
from jesip_learn.learning.progress import learner_completions, version_outline
from jesip_learn.learning.runs import run_history


@dataclass(frozen=True, slots=True)
class CourseHistory:
    course: Course
    completions: list
    attempts: list
    runs: list
    item_titles: dict  # item slug → title, from the published version


def learning_history(session: Session, user: User) -> list[CourseHistory]:
    """Everything the learner has done, course by course: completions, every quiz attempt
    and every scenario run, newest first."""
    histories = []
    completions_by_course: dict[int, list[Completion]] = {}
    for completion in learner_completions(session, user):
        completions_by_course.setdefault(completion.course_id, []).append(completion)
    for course in session.scalars(select(Course).order_by(Course.code)):
        completions = completions_by_course.get(course.id, [])
        titles = ({item.slug: item.title for item in version_outline(course.published_version)}
                  if course.published_version else {})
        entry = CourseHistory(course, completions, attempt_history(session, user, course),
                              run_history(session, user, course), titles)
        if entry.completions or entry.attempts or entry.runs:
            histories.append(entry)
    return histories
