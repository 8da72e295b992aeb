"""Writing courses in the browser: a trainer's draft, its pages, files and publishing.

The authoring package does the work and the checks; these views read forms, call it once
and show what it says, keeping everything the trainer typed when it refuses.
"""

from __future__ import annotations

import re

from flask import (
    Blueprint,
    abort,
    flash,
    make_response,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import BooleanField, HiddenField, RadioField, StringField, TextAreaField

from jesip_learn.content import FileUrls
from jesip_learn.content.scenario_map import scenario_map
from jesip_learn.courses import authoring
from jesip_learn.courses.authoring.gift_import import add_gift_questions
from jesip_learn.courses.models import Course
from jesip_learn.web.edge import (
    content_parse_seconds,
    db,
    reads_before_writing,
    stop_writing,
)
from jesip_learn.web.forms import choices, int_or_none, show_error

blueprint = Blueprint("editor", __name__, url_prefix="/author")

DRAFT = "/courses/<code>/draft"
PAGE = DRAFT + "/pages/<path:path>"


def _course(code: str) -> Course:
    """The course, if the trainer may edit it: 404 when there is none, 403 when not theirs."""
    course = authoring.course_by_code(db(), code)
    if course is None:
        abort(404)
    if not authoring.can_edit(db(), current_user, course):
        abort(403)
    return course


def _to_draft(code: str, anchor: str | None = None):
    return redirect(url_for("editor.draft", code=code, _anchor=anchor))


def _flash_change(change: authoring.DraftChange, done: str) -> None:
    flash(done, "success")
    for warning in change.warnings:
        flash(warning, "warning")


# --- forms ------------------------------------------------------------------------------------


class CreateForm(FlaskForm):
    title = StringField()
    code = StringField()
    summary = TextAreaField()


class AddItemForm(FlaskForm):
    kind = RadioField(choices=choices(authoring.KIND_LABELS.items()), validate_choice=False)
    title = StringField()


class PageForm(FlaskForm):
    text = TextAreaField()
    base_sha256 = HiddenField()


class RenameForm(FlaskForm):
    title = StringField()
    slug = StringField()
    base_sha256 = HiddenField()


class ShaForm(FlaskForm):
    base_sha256 = HiddenField()


class UploadForm(FlaskForm):
    file = FileField()


class GiftForm(FlaskForm):
    bank = FileField()
    category = StringField()


class PublishForm(FlaskForm):
    needs_renewal = RadioField(choices=choices([("yes", "Yes"), ("no", "No")]),
                               validate_choice=False)
    note = TextAreaField()
    replace_newer = BooleanField()


# --- a new course -------------------------------------------------------------------------------


@blueprint.route("/new", methods=["GET", "POST"])
def create_course():
    if not authoring.can_create_courses(current_user):
        abort(403)
    form = CreateForm()
    if form.validate_on_submit():
        try:
            course = authoring.create_course(db(), current_user, title=form.title.data or "",
                                             code=form.code.data or "",
                                             summary=form.summary.data or "")
        except authoring.AuthoringError as error:
            show_error(form, error.field or "title", error.message)
        else:
            flash(f"{course.code} was created. Learners will see it once you publish it.",
                  "success")
            return _to_draft(course.code)
    return render_template("editor/create.html", form=form, has_errors=bool(form.errors))


# --- the draft ---------------------------------------------------------------------------------


@blueprint.route(DRAFT)
def draft(code: str):
    return _draft_page(_course(code))


def _draft_page(course: Course, *, add_form: AddItemForm | None = None,
                upload_form: UploadForm | None = None, status: int = 200):
    view = authoring.draft_view(db(), current_user, course)
    validation = authoring.validate_draft(db(), current_user, course,
                                          seconds=content_parse_seconds())
    add_form = add_form or AddItemForm(formdata=None)
    upload_form = upload_form or UploadForm(formdata=None)
    has_errors = bool(add_form.errors or upload_form.errors)
    return render_template("editor/draft.html", view=view, validation=validation,
                           page_paths=_page_paths(view), add_form=add_form,
                           upload_form=upload_form, sha_form=ShaForm(formdata=None),
                           has_errors=has_errors, kind_labels=authoring.KIND_LABELS,
                           max_upload_bytes=authoring.MAX_UPLOAD_BYTES), status


def _page_paths(view: authoring.DraftView) -> set[str]:
    paths = {item.path for item in view.items}
    paths.update(f.path for f in view.files if f.kind == "page")
    if view.course_page is not None:
        paths.add(view.course_page.path)
    return paths


@blueprint.route(DRAFT + "/items", methods=["POST"])
def add_item(code: str):
    course = _course(code)
    form = AddItemForm()
    if form.validate_on_submit():
        if not form.kind.data:
            show_error(form, "kind", "Choose a reading module, a quiz or a scenario")
        else:
            try:
                change = authoring.add_item(db(), current_user, course, kind=form.kind.data,
                                            title=form.title.data or "")
            except authoring.AuthoringError as error:
                show_error(form, error.field or "title", error.message)
            else:
                _flash_change(change, f"{change.path} was added to the draft.")
                return redirect(url_for("editor.edit_page", code=code, path=change.path))
    return _draft_page(course, add_form=form, status=400)


@blueprint.route(PAGE + "/move", methods=["POST"])
def move_item(code: str, path: str):
    course = _course(code)
    if not FlaskForm().validate_on_submit():
        abort(400)
    steps = -1 if request.form.get("direction") == "up" else 1
    try:
        change = authoring.move_item_by(db(), current_user, course, path, steps)
    except authoring.DraftConflict as conflict:
        flash(conflict.message, "warning")
        return _to_draft(code)
    if change.changed:
        flash(f"{path} moved {'up' if steps < 0 else 'down'}.", "success")
    return _to_draft(code, "items")


@blueprint.route(PAGE + "/rename", methods=["GET", "POST"])
def rename_item(code: str, path: str):
    course = _course(code)
    item = next((item for item in authoring.draft_view(db(), current_user, course).items
                 if item.path == path), None)
    if item is None:
        abort(404)
    form = RenameForm(data={"title": item.title, "slug": item.slug,
                            "base_sha256": item.sha256} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            change = authoring.rename_item(db(), current_user, course, path,
                                           base_sha256=form.base_sha256.data or "",
                                           title=form.title.data or "",
                                           slug=form.slug.data or "")
        except authoring.DraftConflict as conflict:
            flash(conflict.message, "warning")
            return _to_draft(code)
        except authoring.AuthoringError as error:
            show_error(form, error.field or "title", error.message)
        else:
            _flash_change(change, f"{path} is now {change.path}." if change.renamed
                          else f"{change.path} was saved." if change.changed
                          else "Nothing changed.")
            return _to_draft(code, "items")
    return render_template("editor/rename.html", course=course, item=item, form=form,
                           has_errors=bool(form.errors))


@blueprint.route(PAGE + "/delete", methods=["GET", "POST"])
def delete_item(code: str, path: str):
    course = _course(code)
    item = next((item for item in authoring.draft_view(db(), current_user, course).items
                 if item.path == path), None)
    if item is None:
        abort(404)
    form = ShaForm(data={"base_sha256": item.sha256} if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            change = authoring.delete_item(db(), current_user, course, path,
                                           base_sha256=form.base_sha256.data or "")
        except authoring.DraftConflict as conflict:
            flash(conflict.message, "warning")
            return _to_draft(code)
        _flash_change(change, f"{path} was deleted from the draft.")
        return _to_draft(code, "items")
    return render_template("editor/delete.html", course=course, item=item, form=form,
                           kind_labels=authoring.KIND_LABELS)


@blueprint.route(DRAFT + "/discard", methods=["GET", "POST"])
def discard(code: str):
    """Throw away every unpublished change, after a page that says what will be lost."""
    course = _course(code)
    view = authoring.draft_view(db(), current_user, course)
    if view.published_version is None or not view.has_changes:
        flash("There are no unpublished changes to discard.", "info")
        return _to_draft(code)
    form = FlaskForm()
    if form.validate_on_submit():
        authoring.discard_draft(db(), current_user, course)
        flash(f"The draft's changes were discarded. It is version {view.published_version} "
              "again.", "success")
        return _to_draft(code)
    return render_template("editor/discard.html", course=course, view=view, form=form)


# --- files ------------------------------------------------------------------------------------


@blueprint.route(DRAFT + "/files", methods=["POST"])
def upload_file(code: str):
    course = _course(code)
    form = UploadForm()
    if form.validate_on_submit():
        upload = request.files.get("file")
        if upload is None or not upload.filename:
            show_error(form, "file", "Choose an image or PDF to upload")
        else:
            try:
                change = authoring.upload_file(db(), current_user, course, upload.filename,
                                               upload.read())
            except authoring.AuthoringError as error:
                show_error(form, "file", error.message)
            else:
                _flash_change(change, f"{change.path} was uploaded. Use it in a page with "
                              f"{change.link}")
                return _to_draft(code, "files")
    return _draft_page(course, upload_form=form, status=400)


@blueprint.route(DRAFT + "/files/<path:path>/delete", methods=["POST"])
def delete_file(code: str, path: str):
    course = _course(code)
    form = ShaForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        change = authoring.delete_file(db(), current_user, course, path,
                                       base_sha256=form.base_sha256.data or "")
    except authoring.DraftConflict as conflict:
        flash(conflict.message, "warning")
        return _to_draft(code, "files")
    except authoring.NotFound:
        raise
    except authoring.AuthoringError as error:
        flash(error.message, "warning")
        return _to_draft(code, "files")
    _flash_change(change, f"{path} was deleted from the draft.")
    return _to_draft(code, "files")


@blueprint.route(DRAFT + "/files/<path:path>")
def draft_file(code: str, path: str):
    """An image or PDF of the draft, served as main.course_file serves published ones."""
    found = authoring.draft_file(db(), current_user, _course(code), path)
    response = make_response(found.data)
    response.headers["Content-Type"] = found.media_type
    response.headers["Cache-Control"] = "private, no-cache"
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    response.headers["X-Content-Type-Options"] = "nosniff"
    filename = re.sub(r"[^\w.\-]", "_", path.rsplit("/", 1)[-1])
    disposition = "attachment" if found.download_only else "inline"
    response.headers["Content-Disposition"] = f'{disposition}; filename="{filename}"'
    return response


# --- one page: edit, check, preview -----------------------------------------------------------


def _preview_context(course: Course, path: str, text: str | None) -> dict:
    preview = authoring.preview_page(db(), current_user, course, path, text=text,
                                     resolve_file=_draft_file_urls(course),
                                     seconds=content_parse_seconds())
    item = preview.item
    return {"preview": preview,
            "map": scenario_map(item) if item is not None and item.kind == "scenario" else None}


def _draft_file_urls(course: Course) -> FileUrls:
    """The draft's file address, with "{path}" where a file's path goes."""
    return FileUrls(url_for("editor.draft_file", code=course.code, path="-")[:-1] + "{path}")


@blueprint.route(PAGE, methods=["GET", "POST"])
@reads_before_writing
def edit_page(code: str, path: str):
    course = _course(code)
    form = PageForm()
    conflict = None
    page = None if form.is_submitted() else authoring.page_text(db(), current_user, course,
                                                                 path)
    if page is not None:
        form.text.data, form.base_sha256.data = page.text, page.sha256
    elif form.validate_on_submit():
        saved, conflict = _save_page(course, path, form)
        if saved is not None:
            return saved
    return _edit_page(course, path, form, page, conflict)


def _save_page(course: Course, path: str, form: PageForm):
    """Save the posted text: a redirect once saved (or when the page went away), else None
    with the form showing why, and the conflict with someone else's save if there was one."""
    text = (form.text.data or "").replace("\r\n", "\n")
    try:
        change = authoring.save_page(db(), current_user, course, path, text,
                                     base_sha256=form.base_sha256.data or "",
                                     seconds=content_parse_seconds())
    except authoring.DraftConflict as error:
        stop_writing()  # the preview below parses: not under the write lock
        if error.current_sha256 is None:
            flash(error.message, "warning")
            return _to_draft(course.code), None
        form.text.data = error.submitted_text
        form.base_sha256.data = error.current_sha256
        return None, error
    except authoring.NotFound:
        raise
    except authoring.AuthoringError as error:
        stop_writing()
        show_error(form, "text", error.message)
        return None, None
    # Saved, but not ready to publish: an "Important" banner, not "Success".
    flash(_saved_message(change, path), "warning" if change.problems_in(path) else "success")
    anchor = "preview" if request.form.get("action") == "preview" else None
    return redirect(url_for("editor.edit_page", code=course.code, path=path,
                            _anchor=anchor)), None


def _edit_page(course: Course, path: str, form: PageForm, page, conflict):
    """The editor with its preview: of the posted text when it was not saved."""
    unsaved = None if page is not None else form.text.data
    context = _preview_context(course, path, unsaved)
    if page is None:
        page = authoring.page_text(db(), current_user, course, path)
    context["focus"] = _line_focus(form.text.data or "", context["preview"].problems,
                                   int_or_none(request.args.get("line")))
    return render_template("editor/edit.html", course=course, path=path, page=page, form=form,
                           conflict=conflict, has_errors=bool(form.errors or conflict),
                           **context)


@blueprint.route(PAGE + "/gift", methods=["GET", "POST"])
def add_gift(code: str, path: str):
    """Questions from a Moodle question bank (a GIFT file) added to a quiz page."""
    course = _course(code)
    authoring.page_text(db(), current_user, course, path)  # 404 when there is no such page
    form = GiftForm()
    if form.validate_on_submit():
        upload = request.files.get("bank")
        if upload is None or not upload.filename:
            show_error(form, "bank", "Choose a GIFT file exported from Moodle")
        else:
            try:
                change, result = add_gift_questions(db(), current_user, course, path,
                                                    upload.read(),
                                                    category=form.category.data or "")
            except authoring.NotFound:
                raise
            except authoring.AuthoringError as error:
                show_error(form, "bank", error.message)
            else:
                return render_template("editor/gift_result.html", course=course, path=path,
                                       result=result, change=change)
    status = 400 if form.errors else 200
    return render_template("editor/gift_upload.html", course=course, path=path, form=form,
                           has_errors=bool(form.errors)), status


def _line_focus(text: str, problems, line: int | None) -> dict | None:
    """The line a problem's link asked for (`?line=21`): its number, its text and the
    problems on it, shown above the box; the script also puts the cursor there."""
    lines = text.split("\n")
    if line is None or not 1 <= line <= len(lines):
        return None
    return {"line": line, "text": lines[line - 1],
            "problems": [problem for problem in problems if problem.line == line]}


def _saved_message(change, path: str) -> str:
    problems = change.problems_in(path)
    saved = "Your changes were saved." if change.changed else "Nothing had changed."
    if problems:
        saved += (f" This page has {len(problems)} problem"
                  f"{'s' if len(problems) != 1 else ''} to fix before you publish.")
    return saved


@blueprint.route(PAGE + "/preview", methods=["GET", "POST"])
@reads_before_writing
def preview(code: str, path: str):
    """Just the preview, for the edit page's script to refresh as the trainer types."""
    course = _course(code)
    text = request.form.get("text") if request.method == "POST" else None
    if text is not None:
        text = text.replace("\r\n", "\n")
    return render_template("editor/_preview_panel.html", course=course, path=path,
                           **_preview_context(course, path, text))


# --- publishing -------------------------------------------------------------------------------


@blueprint.route(DRAFT + "/publish", methods=["GET", "POST"])
@reads_before_writing
def publish(code: str):
    course = _course(code)
    view = authoring.draft_view(db(), current_user, course)
    form = PublishForm()
    problems, conflict = (), None
    if form.validate_on_submit():
        published, problems, conflict = _publish(course, form)
        if published is not None:
            return published
    if not problems:
        problems = authoring.validate_draft(db(), current_user, course,
                                            seconds=content_parse_seconds()).problems
    return render_template("editor/publish.html", course=course, view=view, form=form,
                           summary=authoring.draft_changes(db(), current_user, course),
                           problems=problems, conflict=conflict, page_paths=_page_paths(view),
                           has_errors=bool(form.errors or form.form_errors),
                           kind_labels=authoring.KIND_LABELS)


def _publish(course: Course, form: PublishForm):
    """Publish the draft: a redirect once done, else None with the problems that stopped it
    and the conflict with a newer version, the form showing why."""
    if course.published_version_id is None:
        # Nobody has completed a course never published: there is nothing to renew.
        form.needs_renewal.data = "no"
    if form.needs_renewal.data not in ("yes", "no"):
        show_error(form, "needs_renewal",
                   "Select yes if everyone needs to complete the course again")
        return None, (), None
    try:
        outcome = authoring.publish_draft(
            db(), current_user, course, needs_renewal=form.needs_renewal.data == "yes",
            note=(form.note.data or "").strip(), replace_newer=form.replace_newer.data,
            seconds=content_parse_seconds())
    except authoring.PublishRefused as refused:
        stop_writing()
        form.form_errors.append(refused.message)
        return None, refused.problems, None
    except authoring.DraftConflict as error:
        stop_writing()  # the page below checks the draft again: not under the lock
        show_error(form, "replace_newer", error.message)
        return None, (), error
    if outcome.changed:
        flash(f"{course.code} was published as version {outcome.version_number}."
              + (" Everyone who completed it before must complete it again."
                 if outcome.needs_renewal else ""), "success")
    else:
        flash(f"{course.code} has not changed since version {outcome.version_number}: "
              "nothing new was published.", "success")
    return redirect(url_for("author.course", code=course.code)), (), None


@blueprint.route("/format")
def format_reference():
    return render_template("editor/format.html")
