"""Multi-agency exercises for trainers, managers and administrators: record one, add the
people who took part (by search or from a CSV file, checked before anything is added),
confirm attendance, note the debrief's learning points and download those marked for Joint
Organisational Learning. Who may do what is decided in `jesip_learn.exercises.access`."""

from __future__ import annotations

from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
    abort,
    flash,
    redirect,
    render_template,
    request,
    stream_with_context,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import (
    BooleanField,
    HiddenField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from jesip_learn.accounts import organisations as orgs
from jesip_learn.accounts.models import COMMAND_ROLE_LABELS, SERVICE_LABELS, User
from jesip_learn.content import JDM_STAGES, PRINCIPLES
from jesip_learn.core.exports.csv_writer import csv_chunks
from jesip_learn.core.exports.heading import ReportHeading, download_filename
from jesip_learn.exercises import access as exercise_access
from jesip_learn.exercises import learning_points as exercise_learning_points
from jesip_learn.exercises import participants as exercise_participants
from jesip_learn.exercises import recorded as exercises
from jesip_learn.exercises.models import Exercise, ExerciseParticipant, LearningPoint
from jesip_learn.exercises.recorded import ExerciseDetails, ExerciseError
from jesip_learn.imports.csv_files import ImportFileError, decode_text
from jesip_learn.learning.runs import JDM_STAGE_LABELS, PRINCIPLE_LABELS
from jesip_learn.records.audit import record_event
from jesip_learn.web.edge import client_address, db, writes_on_get
from jesip_learn.web.forms import choices, int_or_none, show_error

blueprint = Blueprint("exercises", __name__, url_prefix="/exercises")
MAX_UPLOAD_BYTES = 200 * 1024


def _exercise(exercise_id: int) -> Exercise:
    """The exercise, when the viewer may open it; another organisation's is not found."""
    found = db().get(Exercise, exercise_id)
    if found is None or not exercise_access.can_view(db(), current_user, found):
        abort(404)
    return found


def _editable(exercise_id: int) -> Exercise:
    found = _exercise(exercise_id)
    if not exercise_access.can_edit(current_user, found):
        abort(403)
    return found


def _participant(exercise: Exercise, participant_id: int) -> ExerciseParticipant:
    found = db().get(ExerciseParticipant, participant_id)
    if found is None or found.exercise_id != exercise.id or found not in (
            exercise_participants.participants_seen_by(db(), current_user, exercise)):
        abort(404)
    return found


@blueprint.route("")
def index():
    return render_template("exercises/index.html",
                           exercises=exercises.exercises_for(db(), current_user))


# --- the exercise's details -------------------------------------------------------------------


class ExerciseForm(FlaskForm):
    title = StringField()
    held_on_day = StringField()
    held_on_month = StringField()
    held_on_year = StringField()
    kind = RadioField(choices=choices(exercises.KIND_LABELS.items()), validate_choice=False)
    location = StringField()
    organisation_ids = SelectMultipleField(validate_choice=False)
    command_roles = SelectMultipleField(choices=choices(COMMAND_ROLE_LABELS.items()),
                                        validate_choice=False)
    principles = SelectMultipleField(choices=choices(
        (code, PRINCIPLE_LABELS[code]) for code in PRINCIPLES), validate_choice=False)
    jdm_stages = SelectMultipleField(choices=choices(
        (code, JDM_STAGE_LABELS[code]) for code in JDM_STAGES), validate_choice=False)


def _exercise_form(exercise: Exercise | None) -> ExerciseForm:
    data = {}
    if exercise is not None:
        # As text, as a browser sends them: a field left out of a POST keeps this value.
        data = {"title": exercise.title, "held_on_day": str(exercise.held_on.day),
                "held_on_month": str(exercise.held_on.month),
                "held_on_year": str(exercise.held_on.year),
                "kind": exercise.kind, "location": exercise.location,
                "organisation_ids": [str(o.id) for o in exercise.organisations],
                "command_roles": exercise.command_roles, "principles": exercise.principles,
                "jdm_stages": exercise.jdm_stages}
    form = ExerciseForm(data=data)
    active = orgs.active_organisations(db())
    form.organisation_ids.choices = choices((o.id, o.name) for o in active)
    # Grouped by service for the page: a hundred check boxes in one list cannot be read.
    form.organisation_groups = [
        (label, [o for o in active if o.service == service])
        for service, label in SERVICE_LABELS.items()
        if any(o.service == service for o in active)]
    return form


def _saved(form: ExerciseForm, exercise: Exercise | None) -> Exercise | None:
    """Record or change the exercise from the form; None, with errors shown, when refused."""
    try:
        details = ExerciseDetails(
            title=form.title.data or "", kind=form.kind.data or "",
            held_on=(form.held_on_day.data or "", form.held_on_month.data or "",
                     form.held_on_year.data or ""),
            location=form.location.data or "",
            organisation_ids=tuple(filter(None, map(int_or_none, form.organisation_ids.data))),
            command_roles=tuple(form.command_roles.data), principles=tuple(form.principles.data),
            jdm_stages=tuple(form.jdm_stages.data))
        if exercise is None:
            return exercises.record_exercise(db(), current_user, details, client_address())
        exercises.update_exercise(db(), current_user, exercise, details, client_address())
        return exercise
    except ExerciseError as error:
        for problem in error.problems:
            show_error(form, "held_on_day" if problem.field == "held_on" else problem.field,
                       problem.message)
        return None


@blueprint.route("/new", methods=["GET", "POST"])
def new():
    form = _exercise_form(None)
    if form.validate_on_submit() and (exercise := _saved(form, None)) is not None:
        flash(f"{exercise.title} has been recorded. Now add the people who took part.",
              "success")
        return redirect(url_for("exercises.page", exercise_id=exercise.id))
    return render_template("exercises/edit.html", form=form, exercise=None)


@blueprint.route("/<int:exercise_id>/edit", methods=["GET", "POST"])
def edit(exercise_id: int):
    exercise = _editable(exercise_id)
    form = _exercise_form(exercise)
    if form.validate_on_submit() and _saved(form, exercise) is not None:
        flash("Your changes have been saved.", "success")
        return redirect(url_for("exercises.page", exercise_id=exercise.id))
    return render_template("exercises/edit.html", form=form, exercise=exercise)


class LearningPointForm(FlaskForm):
    text = TextAreaField()
    principle = SelectField(choices=choices(
        (code, PRINCIPLE_LABELS[code]) for code in PRINCIPLES), validate_choice=False)
    jdm_stage = SelectField(choices=choices(
        (code, JDM_STAGE_LABELS[code]) for code in JDM_STAGES), validate_choice=False)
    for_jol = BooleanField()


def _render_page(exercise: Exercise, point_form: LearningPointForm | None = None):
    return render_template(
        "exercises/page.html", exercise=exercise,
        principle_labels=PRINCIPLE_LABELS, jdm_labels=JDM_STAGE_LABELS,
        participants=exercise_participants.participants_seen_by(db(), current_user, exercise),
        can_edit=exercise_access.can_edit(current_user, exercise),
        addable=exercise_access.addable_organisation_ids(db(), current_user, exercise),
        can_confirm=lambda p: exercise_access.can_confirm(db(), current_user, p),
        shows_contact=lambda p: exercise_access.shows_contact(db(), current_user, p),
        form=FlaskForm(), point_form=point_form or LearningPointForm())


@blueprint.route("/<int:exercise_id>")
def page(exercise_id: int):
    return _render_page(_exercise(exercise_id))


@blueprint.route("/<int:exercise_id>/learning-points", methods=["POST"])
def add_learning_point(exercise_id: int):
    exercise = _editable(exercise_id)
    form = LearningPointForm()
    if form.validate_on_submit():
        try:
            exercise_learning_points.add_learning_point(
                db(), current_user, exercise, text=form.text.data or "",
                principle=form.principle.data, jdm_stage=form.jdm_stage.data,
                for_jol=form.for_jol.data, address=client_address())
        except ExerciseError as error:
            show_error(form, error.field, error.message)
        else:
            flash("The learning point has been added.", "success")
            return redirect(url_for("exercises.page", exercise_id=exercise.id,
                                    _anchor="learning-points"))
    return _render_page(exercise, form), 400


@blueprint.route("/<int:exercise_id>/learning-points/<int:point_id>/remove", methods=["POST"])
def remove_learning_point(exercise_id: int, point_id: int):
    exercise = _editable(exercise_id)
    point = db().get(LearningPoint, point_id)
    if point is None or point.exercise_id != exercise.id:
        abort(404)
    if FlaskForm().validate_on_submit():
        exercise_learning_points.remove_learning_point(db(), current_user, point, client_address())
        flash("The learning point has been removed.", "success")
    return redirect(url_for("exercises.page", exercise_id=exercise.id,
                            _anchor="learning-points"))


@blueprint.route("/learning-points.csv")
@writes_on_get
def learning_points_download():
    heading = ReportHeading(title="Learning points for Joint Organisational Learning",
                                    generated_at=datetime.now(UTC),
                                    generated_by=current_user.name)
    rows = exercise_learning_points.jol_rows(db(), current_user)
    record_event(db(), "exercise.learning_points_downloaded", actor=current_user,
                 address=client_address(), organisation_id=current_user.organisation_id,
                 details={"rows": len(rows)})
    return Response(stream_with_context(csv_chunks(
                        heading, exercise_learning_points.JOL_HEADER, rows)),
                    mimetype="text/csv", headers={
                        "Content-Disposition": "attachment; filename="
                        f"\"{download_filename(heading, 'csv')}\"",
                        "Cache-Control": "no-store"})


# --- participants ------------------------------------------------------------------------------


class AddParticipantForm(FlaskForm):
    user_id = HiddenField()
    role = RadioField(choices=choices(COMMAND_ROLE_LABELS.items()), validate_choice=False)


@blueprint.route("/<int:exercise_id>/participants/add", methods=["GET", "POST"])
def add_participant(exercise_id: int):
    exercise = _exercise(exercise_id)
    if not exercise_access.addable_organisation_ids(db(), current_user, exercise):
        abort(403)
    form = AddParticipantForm()
    if form.validate_on_submit():
        person = db().get(User, int_or_none(form.user_id.data) or 0)
        # No role chosen: the one they hold, which is the role most people play.
        role = form.role.data or (person.command_role if person is not None else "")
        try:
            exercise_participants.add_participant(db(), current_user, exercise, person, role,
                                                  client_address())
        except ExerciseError as error:
            show_error(form, error.field, error.message)
        else:
            flash(f"{person.name} has been added.", "success")
            return redirect(url_for("exercises.page", exercise_id=exercise.id,
                                    _anchor="participants"))
    query = request.args.get("q", "")
    found = exercise_participants.find_people(db(), current_user, exercise, query)
    if len(found) == 1 and not form.role.data:
        form.role.data, form.user_id.data = found[0].command_role, str(found[0].id)
    return render_template("exercises/add_participant.html", exercise=exercise, form=form,
                           query=query, searched="q" in request.args, found=found)


class UploadForm(FlaskForm):
    file = FileField()


class PlannedForm(FlaskForm):
    text = HiddenField()


@blueprint.route("/<int:exercise_id>/participants/upload", methods=["GET", "POST"])
def upload_participants(exercise_id: int):
    exercise = _exercise(exercise_id)
    addable = exercise_access.addable_organisation_ids(db(), current_user, exercise)
    if not addable:
        abort(403)
    form = UploadForm()
    if form.validate_on_submit():
        upload = request.files.get(form.file.name)
        try:
            text = _uploaded_text(upload)
            rows = exercise_participants.plan_participants(db(), current_user, exercise, text)
        except (ExerciseError, ImportFileError) as error:
            show_error(form, "file", error.message)
        else:
            return render_template("exercises/check_participants.html", exercise=exercise,
                                   rows=rows, form=PlannedForm(text=text),
                                   ready=sum(1 for row in rows if not row.error))
    return render_template("exercises/upload_participants.html", exercise=exercise, form=form,
                           max_rows=exercise_participants.MAX_UPLOAD_ROWS, addable_names=", ".join(
                               o.name for o in exercise.organisations if o.id in addable))


def _uploaded_text(upload) -> str:
    if upload is None or not upload.filename:
        raise ExerciseError("file", "Select a CSV file")
    if not upload.filename.lower().endswith(".csv"):
        raise ExerciseError("file", "The selected file must be a CSV")
    data = upload.stream.read(MAX_UPLOAD_BYTES + 1)
    if len(data) > MAX_UPLOAD_BYTES:
        raise ExerciseError("file", "The selected file must be smaller than 200 KB")
    return decode_text(data)


@blueprint.route("/<int:exercise_id>/participants/upload/apply", methods=["POST"])
def apply_participants(exercise_id: int):
    exercise = _exercise(exercise_id)
    if not exercise_access.addable_organisation_ids(db(), current_user, exercise):
        abort(403)
    form = PlannedForm()
    if not form.validate_on_submit() or not form.text.data:
        return redirect(url_for("exercises.upload_participants", exercise_id=exercise.id))
    try:
        added = exercise_participants.add_planned(db(), current_user, exercise, form.text.data,
                                                  client_address())
    except ExerciseError as error:
        flash(error.message)
        return redirect(url_for("exercises.upload_participants", exercise_id=exercise.id))
    flash(f"{added} {'person has' if added == 1 else 'people have'} been added.", "success")
    return redirect(url_for("exercises.page", exercise_id=exercise.id, _anchor="participants"))


@blueprint.route("/<int:exercise_id>/participants/<int:participant_id>/confirm",
                 methods=["POST"])
def confirm_participant(exercise_id: int, participant_id: int):
    exercise = _exercise(exercise_id)
    participant = _participant(exercise, participant_id)
    if not exercise_access.can_confirm(db(), current_user, participant):
        abort(403)
    if participant.user_id == current_user.id:
        flash("Another manager of your organisation, or an administrator, must confirm your "
              "own attendance.")
        return redirect(url_for("exercises.page", exercise_id=exercise.id,
                                _anchor="participants"))
    if FlaskForm().validate_on_submit() and exercise_participants.confirm_attendance(
            db(), current_user, participant, client_address()):
        flash(f"{participant.user.name}'s attendance has been confirmed.", "success")
    return redirect(url_for("exercises.page", exercise_id=exercise.id, _anchor="participants"))


@blueprint.route("/<int:exercise_id>/participants/<int:participant_id>/remove",
                 methods=["POST"])
def remove_participant(exercise_id: int, participant_id: int):
    exercise = _exercise(exercise_id)
    participant = _participant(exercise, participant_id)
    if not (exercise_access.can_edit(current_user, exercise)
            or exercise_access.can_confirm(db(), current_user, participant)):
        abort(403)
    if FlaskForm().validate_on_submit():
        name = participant.user.name
        exercise_participants.remove_participant(db(), current_user, participant, client_address())
        flash(f"{name} has been removed.", "success")
    return redirect(url_for("exercises.page", exercise_id=exercise.id, _anchor="participants"))
