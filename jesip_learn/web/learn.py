"""Learners' pages: My training, a course, its reading modules, history and certificates.

Quizzes (web/quiz.py) and scenarios (web/scenario.py) have blueprints of their own; this
module gives them `load_item` and `item_url` so every item is found and linked one way.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, make_response, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm

from jesip_learn.content import Item
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.catalogue import ItemOutline
from jesip_learn.courses.models import CourseVersion
from jesip_learn.exercises import recorded as exercises
from jesip_learn.learning import attempt_lookup, certificates, progress
from jesip_learn.learning.certificates import CertificateDetails
from jesip_learn.learning.history import learning_history
from jesip_learn.web.edge import db, render_shared_page

blueprint = Blueprint("learn", __name__, url_prefix="/learn")

ITEM_ENDPOINTS = {"module": "learn.module", "quiz": "quiz.overview",
                  "scenario": "scenario.overview"}


def item_url(code: str, stored: ItemOutline) -> str:
    return url_for(ITEM_ENDPOINTS[stored.kind], code=code, slug=stored.slug)


def load_version(code: str) -> CourseVersion:
    version = courses.find_version(db(), code)
    if version is None:
        abort(404)
    return version


def load_item(code: str, slug: str, kind: str) -> tuple[CourseVersion, ItemOutline, Item]:
    """The published version, the item's outline and the parsed item, or 404."""
    version = load_version(code)
    return (version, *_item_of(version, slug, kind))


def _item_of(version: CourseVersion, slug: str, kind: str) -> tuple[ItemOutline, Item]:
    stored = next((i for i in courses.version_outline(version)
                   if i.slug == slug and i.kind == kind), None)
    if stored is None:
        abort(404)
    return stored, courses.version_item(version, slug)


def announce_completion(completion) -> None:
    """Tell the learner a course is complete; the web layer's part of completing an item."""
    if completion is not None:
        flash(f"You have completed {completion.version.title}. Your certificate is ready.",
              "success")


@blueprint.route("")
def my_training():
    return render_template("learn/my_training.html",
                           training=progress.my_training(db(), current_user),
                           exercises=exercises.exercises_of(db(), current_user))


@blueprint.route("/history")
def history():
    return render_template("learn/history.html",
                           histories=learning_history(db(), current_user))


@blueprint.route("/<code>")
def course(code: str):
    version = load_version(code)
    status = progress.course_status(db(), current_user, version.course,
                                    required=progress.is_required(db(), version, current_user))
    states = progress.item_states(db(), current_user, version)
    upcoming = progress.next_item(version, states)
    items = courses.version_outline(version)
    return render_template("learn/course.html", version=version, status=status, states=states,
                           upcoming=upcoming, items=items, item_url=item_url,
                           used_up=_used_up_quizzes(version, items, states))


def _used_up_quizzes(version: CourseVersion, items, states) -> set[str]:
    """The quizzes not yet passed whose every attempt is used: the learner cannot go on
    without more, so the page must not simply say "Continue"."""
    found = set()
    for item in items:
        if item.kind == "quiz" and states.get(item.slug) != "completed":
            quiz = courses.version_item(version, item.slug)
            if quiz.max_attempts is not None and attempt_lookup.quiz_standing(
                    db(), current_user, version.course, quiz).used_up:
                found.add(item.slug)
    return found


@blueprint.route("/<code>/modules/<slug>")
def module(code: str, slug: str):
    published = progress.published_item_state(db(), current_user, code, slug)
    if published is None:
        abort(404)
    done = published.state == "completed"
    # The page reads the same for every learner at this point of this version.
    return render_shared_page(
        (published.content_hash, published.code, slug, done), "learn/module.html",
        lambda: _module_page(db().get(CourseVersion, published.version_id), slug, done))


def _module_page(version: CourseVersion, slug: str, done: bool) -> dict:
    stored, item = _item_of(version, slug, "module")
    outline = courses.learner_outline(version)  # no links to exercises, run by a facilitator
    position = outline.index(stored)
    neighbours = (outline[position - 1] if position > 0 else None,
                  outline[position + 1] if position + 1 < len(outline) else None)
    return {"version": version, "item": item, "stored": stored, "done": done,
            "neighbours": neighbours, "item_url": item_url}


@blueprint.route("/<code>/modules/<slug>/complete", methods=["POST"])
def complete_module(code: str, slug: str):
    version, stored, _item = load_item(code, slug, "module")
    if FlaskForm().validate_on_submit():
        announce_completion(progress.complete_item(db(), current_user, version, slug))
    following = progress.next_item(version, progress.item_states(db(), current_user, version))
    if following is None:
        return redirect(url_for("learn.course", code=version.course.code))
    return redirect(item_url(version.course.code, following))


def _own_completion(code: str):
    version = load_version(code)
    completion = progress.latest_certificate(db(), current_user, version.course)
    if completion is None:
        abort(404)
    return completion


def _certificate_details(completion) -> CertificateDetails:
    return CertificateDetails(
        learner=current_user.name, organisation=current_user.organisation.name,
        course=completion.version.title, code=completion.course.code,
        version=completion.version.number, completed_at=completion.completed_at,
        expires_at=completion.expires_at, certificate_code=completion.certificate_code,
        verify_url=url_for("main.verify", certificate_code=completion.certificate_code,
                           _external=True))


@blueprint.route("/<code>/certificate")
def certificate(code: str):
    completion = _own_completion(code)
    status = progress.course_status(db(), current_user, completion.course)
    return render_template("learn/certificate.html", details=_certificate_details(completion),
                           status=status, completion=completion)


@blueprint.route("/<code>/certificate.pdf")
def certificate_pdf(code: str):
    completion = _own_completion(code)
    response = make_response(certificates.certificate_pdf(_certificate_details(completion)))
    response.headers["Content-Type"] = "application/pdf"
    response.headers["Content-Disposition"] = (
        f'attachment; filename="{completion.course.code}-certificate.pdf"')
    return response
