"""Trainers' area: the courses, and importing a course from a zip."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField

from jesip_learn import courses
from jesip_learn.content import parse_course_files
from jesip_learn.content.archive import ArchiveError, read_course_zip
from jesip_learn.models import Permission
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
