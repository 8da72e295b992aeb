"""Trainers' area: the courses, and importing a course from a zip."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import func, select
from wtforms import BooleanField

from jesip_learn import analysis, courses
from jesip_learn.content import parse_course_files
from jesip_learn.content.archive import ArchiveError, read_course_zip
from jesip_learn.content.scenario_map import scenario_map
from jesip_learn.models import Completion, CourseVersion, Permission
from jesip_learn.web.edge import db
from jesip_learn.web.forms import show_error

blueprint = Blueprint("author", __name__, url_prefix="/author")


@blueprint.before_request
@login_required
def require_trainer():
    if not (current_user.is_admin or current_user.has_permission(Permission.TRAINER)):
        abort(403)


class ImportForm(FlaskForm):
    archive = FileField()
    needs_renewal = BooleanField()


@blueprint.route("/courses")
def course_list():
    return render_template("author/courses.html", courses=courses.list_courses(db()),
                           form=ImportForm())


@blueprint.route("/courses/import", methods=["GET", "POST"])
def course_import():
    form = ImportForm()
    problems: tuple[str, ...] = ()
    if form.validate_on_submit():
        upload = request.files.get("archive")
        if upload is None or not upload.filename:
            show_error(form, "archive", "Choose a zip file of the course folder")
        else:
            problems = _import_zip(form, upload)
            if problems is None:
                return redirect(url_for("author.course_list"))
    return render_template("author/import.html", form=form, problems=problems or ())


def _import_zip(form: ImportForm, upload) -> tuple[str, ...] | None:
    """Import the upload; None when it went in, otherwise the problems to show."""
    try:
        archive = read_course_zip(upload.read())
    except ArchiveError as error:
        show_error(form, "archive", str(error))
        return ()
    slug = archive.folder_name or upload.filename.rsplit("/", 1)[-1].removesuffix(".zip")
    result = parse_course_files(archive.files, display_root=slug)
    try:
        outcome, = courses.import_parsed(db(), [(slug, result)], actor=current_user,
                                         source="zip", needs_renewal=form.needs_renewal.data)
    except courses.ImportRefused as refused:
        show_error(form, "archive", "The course has problems: nothing was imported. Fix "
                   "them and upload it again.")
        return refused.problems
    if outcome.changed:
        flash(f"{outcome.code} was published as version {outcome.version_number}.", "success")
    else:
        flash(f"{outcome.code} has not changed since version {outcome.version_number}: "
              "nothing new was published.", "success")
    return None


# --- one course: its items, who has completed it, and how its items perform -----------------


def _published(code: str) -> CourseVersion:
    version = courses.find_version(db(), code)
    if version is None:
        abort(404)
    return version


@blueprint.route("/courses/<code>")
def course(code: str):
    version = _published(code)
    completed = db().execute(
        select(CourseVersion.number, func.count(Completion.id),
               func.count(func.distinct(Completion.user_id)))
        .join(Completion, Completion.version_id == CourseVersion.id)
        .where(CourseVersion.course_id == version.course_id)
        .group_by(CourseVersion.number).order_by(CourseVersion.number.desc())).all()
    learners = db().scalar(select(func.count(func.distinct(Completion.user_id)))
                           .where(Completion.course_id == version.course_id)) or 0
    return render_template("author/course.html", version=version,
                           items=courses.version_outline(version), completed=completed,
                           learners=learners)


def _item_of_kind(version: CourseVersion, slug: str, kind: str):
    item = next((item for item in courses.version_outline(version)
                 if item.slug == slug and item.kind == kind), None)
    if item is None:
        abort(404)
    return item


@blueprint.route("/courses/<code>/quizzes/<slug>/analysis")
def quiz_analysis(code: str, slug: str):
    version = _published(code)
    item = _item_of_kind(version, slug, "quiz")
    basis = "every" if request.args.get("basis") == "every" else "first"
    result = analysis.quiz_analysis(db(), version.course_id, slug, basis=basis)
    return render_template("author/quiz_analysis.html", version=version, item=item,
                           result=result, basis=basis)


@blueprint.route("/courses/<code>/scenarios/<slug>/analysis")
def scenario_analysis(code: str, slug: str):
    version = _published(code)
    item = _item_of_kind(version, slug, "scenario")
    return render_template(
        "author/scenario_analysis.html", version=version, item=item,
        result=analysis.scenario_analysis(db(), version.course_id, slug),
        map=scenario_map(courses.version_item(version, slug)))
