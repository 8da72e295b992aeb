"""Trainers' area: the courses they may edit, each course's history, differences between
versions, restoring an old version, zip downloads and uploads, and who edits a course.

Who may do what is decided by `jesip_learn.courses.authoring`: every trainer and administrator
reaches the area, but a course opens only for those who may edit it (403), and an unknown
code is 404. The draft editor is another blueprint; its pages are linked only once it is
registered (`editor_ready` in the templates), so these pages work with or without it.

Importing a zip as a new course makes its draft, owned by the importer, and publishes
nothing: nothing reaches learners until someone presses Publish, whether the course was
typed in the browser or uploaded.
"""

from __future__ import annotations

import io

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    send_file,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import func, select
from wtforms import HiddenField, RadioField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from jesip_learn.accounts import details as account_details
from jesip_learn.accounts.models import User
from jesip_learn.content.scenario_map import scenario_map
from jesip_learn.courses import authoring
from jesip_learn.courses import catalogue as courses
from jesip_learn.courses.models import Course, CourseVersion
from jesip_learn.courses.packaging import FORMATS as PACKAGE_FORMATS
from jesip_learn.courses.packaging import PLAYABLE_KINDS, PackageRefused
from jesip_learn.courses.packaging.versions import package_version, site_address
from jesip_learn.learning import allowances
from jesip_learn.learning import item_analysis as analysis
from jesip_learn.learning.models import Completion
from jesip_learn.web.edge import (
    abandon_changes,
    content_parse_seconds,
    db,
    reads_before_writing,
    writes_on_get,
)
from jesip_learn.web.forms import choices, int_or_none, show_error

blueprint = Blueprint("author", __name__, url_prefix="/author")


@blueprint.context_processor
def _editor_links():
    views = current_app.view_functions
    return {"editor_ready": "editor.draft" in views,
            "course_creation_ready": "editor.create_course" in views}


def _course(code: str) -> Course:
    """The course with this code, if the user may edit it (404 unknown, 403 not theirs)."""
    course = authoring.course_by_code(db(), code)
    if course is None:
        abort(404)
    if not authoring.can_edit(db(), current_user, course):
        abort(403)
    return course


class UploadForm(FlaskForm):
    archive = FileField()


class DraftUploadForm(UploadForm):
    revision = HiddenField()


class RestoreForm(FlaskForm):
    needs_renewal = RadioField(
        choices=choices([("yes", "Yes, everyone must complete it again"),
                         ("no", "No, earlier completions still count")]),
        validators=[InputRequired("Select whether everyone must complete the course again")])
    note = TextAreaField(validators=[Length(max=500, message="Write the note in 500 "
                                            "characters or fewer")])


class AddEditorForm(FlaskForm):
    email = StringField(validators=[InputRequired("Enter the email address of a trainer")])
    role = RadioField(choices=choices([(authoring.EDITOR, "Editor"),
                                       (authoring.OWNER, "Owner")]),
                      default=authoring.EDITOR,
                      validators=[InputRequired("Select editor or owner")])


class RemoveEditorForm(FlaskForm):
    user_id = HiddenField()


# --- the courses the trainer may edit, and new courses from zips ----------------------------


@blueprint.route("/courses")
def course_list():
    return render_template("author/courses.html",
                           courses=authoring.trainer_courses(db(), current_user))


@blueprint.route("/courses/import", methods=["GET", "POST"])
@reads_before_writing
def course_import():
    form = UploadForm()
    problems = ()
    if form.validate_on_submit():
        upload = _upload(form)
        if upload is not None:
            try:
                result = authoring.import_zip_as_new_course(
                    db(), current_user, upload.read(), filename=upload.filename,
                    seconds=content_parse_seconds())
            except authoring.AuthoringError as error:
                abandon_changes()  # the refusal may have come after a flush
                show_error(form, "archive", error.message)
                problems = getattr(error, "problems", ())
            else:
                flash(_imported_message(result), "success")
                target = ("editor.draft" if "editor.draft" in current_app.view_functions
                          else "author.course")
                return redirect(url_for(target, code=result.course.code))
    return render_template("author/import.html", form=form, problems=problems)


def _upload(form: UploadForm):
    upload = request.files.get("archive")
    if upload is None or not upload.filename:
        show_error(form, "archive", "Choose a zip file of the course folder")
        return None
    return upload


def _imported_message(result: authoring.ZipImport) -> str:
    count = len(result.problems)
    problems = (f" It has {count} problem{'s' if count != 1 else ''} to fix before it can "
                "be published." if count else " It can be published when you are ready.")
    warned = len(result.warnings)
    warnings = (f" See its {warned} warning{'s' if warned != 1 else ''} about how questions "
                "or choices are written." if warned else "")
    return (f"{result.course.code} was imported as a draft: learners will not see it until "
            f"it is published.{problems}{warnings}")


# --- one course -------------------------------------------------------------------------


@blueprint.route("/courses/<code>")
def course(code: str):
    course = _course(code)
    version = course.published_version
    completed, learners = _completions(course.id)
    return render_template(
        "author/course.html", course=course, version=version,
        items=courses.version_outline(version) if version else (), completed=completed,
        learners=learners, draft=authoring.draft_view(db(), current_user, course),
        can_manage=authoring.can_manage_editors(db(), current_user, course),
        stuck=allowances.stuck_learners(db(), current_user, course),
        package_formats=PACKAGE_FORMATS, playable_kinds=PLAYABLE_KINDS)


def _completions(course_id: int):
    """(version number, completions, people) newest first, and the people in all."""
    completed = db().execute(
        select(CourseVersion.number, func.count(Completion.id),
               func.count(func.distinct(Completion.user_id)))
        .join(Completion, Completion.version_id == CourseVersion.id)
        .where(CourseVersion.course_id == course_id)
        .group_by(CourseVersion.number).order_by(CourseVersion.number.desc())).all()
    learners = db().scalar(select(func.count(func.distinct(Completion.user_id)))
                           .where(Completion.course_id == course_id)) or 0
    return completed, learners


def _published(course: Course) -> CourseVersion:
    if course.published_version is None:
        abort(404)
    return course.published_version


def _item_of_kind(version: CourseVersion, slug: str, kind: str):
    item = next((item for item in courses.version_outline(version)
                 if item.slug == slug and item.kind == kind), None)
    if item is None:
        abort(404)
    return item


@blueprint.route("/courses/<code>/quizzes/<slug>/analysis")
def quiz_analysis(code: str, slug: str):
    version = _published(_course(code))
    item = _item_of_kind(version, slug, "quiz")
    basis = "every" if request.args.get("basis") == "every" else "first"
    result = analysis.quiz_analysis(db(), version.course_id, slug, basis=basis)
    return render_template("author/quiz_analysis.html", version=version, item=item,
                           result=result, basis=basis,
                           warnings=analysis.item_warnings(courses.version_item(version, slug)))


@blueprint.route("/courses/<code>/scenarios/<slug>/analysis")
def scenario_analysis(code: str, slug: str):
    version = _published(_course(code))
    item = _item_of_kind(version, slug, "scenario")
    scenario = courses.version_item(version, slug)
    return render_template(
        "author/scenario_analysis.html", version=version, item=item,
        result=analysis.scenario_analysis(db(), version.course_id, slug),
        map=scenario_map(scenario), warnings=analysis.item_warnings(scenario))


# --- history, differences and restoring --------------------------------------------------


@blueprint.route("/courses/<code>/history")
def history(code: str):
    course = _course(code)
    return _history_page(course, old=int_or_none(request.args.get("old")),
                         new=int_or_none(request.args.get("new")))


def _history_page(course: Course, error: str = "", old: int | None = None,
                  new: int | None = None):
    versions = authoring.version_history(db(), current_user, course)
    if old is None and new is None and len(versions) > 1:
        old, new = versions[1].number, versions[0].number
    return render_template("author/history.html", course=course, versions=versions,
                           error=error, old=old, new=new)


@blueprint.route("/courses/<code>/diff")
def diff(code: str):
    course = _course(code)
    old, new = int_or_none(request.args.get("old")), int_or_none(request.args.get("new"))
    if old is None or new is None:
        return _history_page(course, "Choose two versions to compare", old, new)
    if old == new:
        return _history_page(course, "Choose two different versions to compare", old, new)
    try:
        result = authoring.diff_versions(db(), current_user, course, old, new)
    except authoring.NotFound as error:
        return _history_page(course, error.message, old, new)
    return render_template("author/diff.html", course=course, diff=result)


@blueprint.route("/courses/<code>/versions/<int:number>/restore", methods=["GET", "POST"])
@reads_before_writing
def restore(code: str, number: int):
    course = _course(code)
    version = courses.find_version(db(), course.code, number)
    if version is None:
        abort(404)
    form = RestoreForm()
    problems = ()
    if form.validate_on_submit():
        try:
            outcome = authoring.restore_version(
                db(), current_user, course, number,
                needs_renewal=form.needs_renewal.data == "yes", note=form.note.data.strip(),
                seconds=content_parse_seconds())
        except authoring.PublishRefused as refused:
            abandon_changes()
            show_error(form, "needs_renewal", refused.message)
            problems = refused.problems
        else:
            if outcome.changed:
                flash(f"Version {number} was published again as version "
                      f"{outcome.version_number}.", "success")
            else:
                flash(f"Version {number} holds the same content as the published version "
                      f"{outcome.version_number}: nothing new was published.", "success")
            return redirect(url_for("author.history", code=course.code))
    return render_template("author/restore.html", course=course, version=version, form=form,
                           problems=problems)


# --- zips ------------------------------------------------------------------------------


def _zip_response(course_zip: authoring.CourseZip):
    response = send_file(io.BytesIO(course_zip.data), mimetype="application/zip",
                         as_attachment=True, download_name=course_zip.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.route("/courses/<code>/versions/<int:number>.zip")
def export_version(code: str, number: int):
    course = _course(code)
    try:
        return _zip_response(authoring.export_version_zip(db(), current_user, course, number))
    except authoring.NotFound:
        abort(404)


@blueprint.route("/courses/<code>/package/<package_format>.zip")
@writes_on_get
def package(code: str, package_format: str):
    """The published version as a SCORM or cmi5 package (audited)."""
    course = _course(code)
    version = _published(course)
    if package_format not in PACKAGE_FORMATS:
        abort(404)
    site_url = site_address(current_app.config)
    try:
        built = package_version(db(), course.code, package_format=package_format,
                                number=version.number, site_url=site_url,
                                actor=current_user)
    except PackageRefused:
        abort(404)
    response = send_file(io.BytesIO(built.data), mimetype="application/zip",
                         as_attachment=True, download_name=built.filename)
    response.headers["Cache-Control"] = "private, no-store"
    return response


@blueprint.route("/courses/<code>/draft.zip")
def export_draft(code: str):
    course = _course(code)
    return _zip_response(authoring.export_draft_zip(db(), current_user, course))


@blueprint.route("/courses/<code>/import", methods=["GET", "POST"])
@reads_before_writing
def import_draft(code: str):
    course = _course(code)
    form = DraftUploadForm()
    problems = ()
    if form.validate_on_submit():
        upload = _upload(form)
        revision = int_or_none(form.revision.data)
        if upload is not None and revision is not None:
            try:
                result = authoring.import_zip_as_draft(db(), current_user, course,
                                                       upload.read(), expected_revision=revision,
                                                       seconds=content_parse_seconds())
            except authoring.AuthoringError as error:
                abandon_changes()
                show_error(form, "archive", error.message)
                problems = getattr(error, "problems", ())
            else:
                return render_template("author/import_result.html", course=course,
                                       result=result, page_paths=_problem_pages(result))
        elif upload is not None:
            show_error(form, "archive", "The page was out of date: look at the draft again "
                       "before uploading.")
    draft = authoring.draft_view(db(), current_user, course)
    form.revision.data = str(draft.revision)
    return render_template("author/import_draft.html", course=course, form=form, draft=draft,
                           problems=problems)


def _problem_pages(result: authoring.ZipImport) -> set[str]:
    """The pages a problem of the imported zip can link to in the editor."""
    return {problem.file for problem in result.problems if problem.file.endswith(".md")}


# --- who edits a course -----------------------------------------------------------------


@blueprint.route("/courses/<code>/editors", methods=["GET", "POST"])
def editors(code: str):
    course = _course(code)
    can_manage = authoring.can_manage_editors(db(), current_user, course)
    form = AddEditorForm()
    if request.method == "POST":
        if not can_manage:
            abort(403)
        if form.validate_on_submit():
            person = account_details.find_user_by_email(db(), form.email.data)
            if person is None:
                show_error(form, "email", "There is no account with that email address")
            else:
                try:
                    authoring.add_editor(db(), current_user, course, person, form.role.data)
                except authoring.AuthoringError as error:
                    abandon_changes()
                    show_error(form, "role" if error.field == "role" else "email",
                               error.message)
                else:
                    flash(f"{person.name} can now edit {course.code} as "
                          f"{'an owner' if form.role.data == authoring.OWNER else 'an editor'}.",
                          "success")
                    return redirect(url_for("author.editors", code=course.code))
    return render_template("author/editors.html", course=course, form=form,
                           can_manage=can_manage, remove_form=RemoveEditorForm(),
                           rows=authoring.course_editors(db(), current_user, course))


@blueprint.route("/courses/<code>/editors/remove", methods=["POST"])
def remove_editor(code: str):
    course = _course(code)
    if not authoring.can_manage_editors(db(), current_user, course):
        abort(403)
    form = RemoveEditorForm()
    if not form.validate_on_submit():
        abort(400)
    user_id = int_or_none(form.user_id.data)
    person = db().get(User, user_id) if user_id is not None else None
    if person is None or not any(row.user_id == person.id for row in
                                 authoring.course_editors(db(), current_user, course)):
        abort(404)
    try:
        authoring.remove_editor(db(), current_user, course, person)
    except authoring.NotAllowed as refusal:
        flash(refusal.message, "warning")
    else:
        flash(f"{person.name} no longer edits {course.code}.", "success")
    return redirect(url_for("author.editors", code=course.code))
