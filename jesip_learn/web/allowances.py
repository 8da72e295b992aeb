"""Giving a learner more attempts at a quiz they have used up: for trainers of the course,
managers of the person and administrators (`jesip_learn.learning.allowances` decides who)."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField

from jesip_learn.accounts.models import User
from jesip_learn.courses import authoring
from jesip_learn.learning import allowances, attempt_lookup
from jesip_learn.web.edge import db
from jesip_learn.web.forms import choices, int_or_none

blueprint = Blueprint("allowances", __name__, url_prefix="/people")


class GrantForm(FlaskForm):
    number = RadioField("How many more attempts?",
                        choices=choices((n, str(n))
                                        for n in range(1, allowances.MAX_GRANT + 1)),
                        default="1")
    seen = HiddenField()


@blueprint.route("/<int:user_id>/quizzes/<code>/<slug>/attempts", methods=["GET", "POST"])
def grant(user_id: int, code: str, slug: str):
    learner = db().get(User, user_id)
    course = authoring.course_by_code(db(), code)
    # Nobody learns, by trying ids, of a person or course they may not help with.
    if (learner is None or course is None
            or not allowances.can_grant_attempts(db(), current_user, learner, course)):
        abort(404)
    quiz = allowances.published_quiz(course, slug)
    if quiz is None:
        abort(404)
    form = GrantForm()
    if form.validate_on_submit():
        seen, number = int_or_none(form.seen.data), int_or_none(form.number.data)
        try:
            done = allowances.grant_attempts(db(), current_user, learner, course, slug,
                                             number or 0, -1 if seen is None else seen)
        except allowances.GrantRefused as refused:
            flash(refused.message)
        else:
            if done.granted:
                noun = "attempt" if number == 1 else "attempts"
                flash(f"{learner.name} has {number} more {noun} at {quiz.title}.", "success")
            else:
                flash("Those attempts had already been given: nothing has changed.")
        return redirect(url_for(".grant", user_id=user_id, code=course.code, slug=slug))
    standing = attempt_lookup.quiz_standing(db(), learner, course, quiz)
    form.seen.data = str(allowances.grants_seen(db(), learner, course, slug))
    return render_template("allowances/grant.html", learner=learner, course=course, quiz=quiz,
                           standing=standing, form=form)
