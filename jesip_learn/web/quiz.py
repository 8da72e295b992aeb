"""Quizzes: the overview (with the learner's attempts, newest first, ten to a page), an
attempt (all its questions on one page), and the result.

The attempt page is built from `attempt_answers.ShownQuestion`, which holds no answers and no
explanations: they reach the browser only on the result page of a submitted attempt, and
the right answers only as the quiz's `show_answers` allows (`attempt_results.attempt_review`).
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from jesip_learn.content import Quiz
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import CourseVersion
from jesip_learn.learning import (
    allowances,
    attempt_answers,
    attempt_lookup,
    attempt_results,
    attempts,
    progress,
)
from jesip_learn.learning.models import QuizAttempt
from jesip_learn.web.edge import db
from jesip_learn.web.forms import page_number
from jesip_learn.web.learn import announce_completion, item_url, load_item, load_version

blueprint = Blueprint("quiz", __name__, url_prefix="/learn/<code>/quizzes/<slug>")


def published_quiz(version: CourseVersion, slug: str) -> Quiz | None:
    item = courses.version_item(version, slug)
    return item if isinstance(item, Quiz) else None


def own_attempt(code: str, slug: str, attempt_id: int) -> tuple[CourseVersion, QuizAttempt]:
    """The published version and this learner's attempt at this quiz, or 404."""
    version = load_version(code)
    attempt = attempt_lookup.attempt_for(db(), current_user, attempt_id)
    if attempt is None or attempt.course_id != version.course_id or attempt.item_slug != slug:
        abort(404)
    return version, attempt


@blueprint.route("")
def overview(code: str, slug: str):
    version, _stored, quiz = load_item(code, slug, "quiz")
    standing = attempt_lookup.quiz_standing(db(), current_user, version.course, quiz)
    past = attempt_lookup.submitted_page(db(), current_user, version.course, quiz.slug,
                                         page_number(request.args.get("page")), standing=standing)
    helpers = (allowances.who_to_ask(db(), current_user, version.course)
               if standing.used_up else [])
    return render_template("learn/quiz_overview.html", version=version, quiz=quiz,
                           standing=standing, past=past, form=FlaskForm(), helpers=helpers,
                           answers_shown=attempt_results.shows_right_answers(quiz.show_answers,
                                                                             standing.passed))


@blueprint.route("/start", methods=["POST"])
def start(code: str, slug: str):
    version, _stored, quiz = load_item(code, slug, "quiz")
    if FlaskForm().validate_on_submit():
        try:
            attempt = attempts.start_attempt(db(), current_user, version, quiz)
        except attempts.AttemptRefused as refused:
            flash(refused.message)
        else:
            return redirect(url_for(".attempt", code=code, slug=slug, attempt_id=attempt.id))
    return redirect(url_for(".overview", code=code, slug=slug))


@blueprint.route("/attempts/<int:attempt_id>", methods=["GET", "POST"])
def attempt(code: str, slug: str, attempt_id: int):
    version, attempt = own_attempt(code, slug, attempt_id)
    result_url = url_for(".result", code=code, slug=slug, attempt_id=attempt_id)
    if attempt.submitted_at is not None:
        return redirect(result_url)
    form, values, problems = FlaskForm(), None, {}
    if form.validate_on_submit():
        values = request.form.to_dict(flat=False)
        if request.form.get("action") == "save":
            if attempts.save_answers(db(), attempt, values):
                flash("Your answers have been saved. Come back to the quiz to carry on.",
                      "success")
                return redirect(url_for(".overview", code=code, slug=slug))
            return redirect(result_url)
        submission = attempts.submit_attempt(db(), attempt, values)
        if submission.submitted:
            announce_completion(submission.completion)
            return redirect(result_url)
        problems = submission.problems
    return render_template(
        "learn/quiz_attempt.html", version=version, quiz=attempt_answers.attempt_quiz(attempt),
        attempt=attempt, number=attempt_lookup.attempt_number(db(), attempt), form=form,
        questions=attempt_answers.shown_questions(attempt, values, problems))


@blueprint.route("/attempts/<int:attempt_id>/result")
def result(code: str, slug: str, attempt_id: int):
    version, attempt = own_attempt(code, slug, attempt_id)
    if attempt.submitted_at is None:
        return redirect(url_for(".attempt", code=code, slug=slug, attempt_id=attempt_id))
    review = attempt_results.attempt_review(db(), current_user, attempt,
                                            published_quiz(version, slug))
    upcoming = helpers = None
    if review.result.passed:
        # Passed: "Continue" leads on to the next part of the course, not back to the quiz.
        upcoming = progress.next_item(version, progress.item_states(db(), current_user,
                                                                    version))
    elif review.standing is not None and review.standing.used_up:
        helpers = allowances.who_to_ask(db(), current_user, version.course)
    return render_template(
        "learn/quiz_result.html", version=version, quiz=attempt_answers.attempt_quiz(attempt),
        attempt=attempt, number=attempt_lookup.attempt_number(db(), attempt),
        result=review.result, standing=review.standing, form=FlaskForm(),
        upcoming=upcoming, helpers=helpers,
        next_url=item_url(version.course.code, upcoming) if upcoming else None)
