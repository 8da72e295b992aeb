"""Scenario walkthroughs: the overview, one step per page, each choice's feedback, the
METHANE message and the debrief. The moves themselves are in jesip_learn/learning/runs.py."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import HiddenField, StringField, TextAreaField

from jesip_learn.content import METHANE_FIELDS
from jesip_learn.learning import progress, runs
from jesip_learn.learning.models import ScenarioRun
from jesip_learn.web.edge import db
from jesip_learn.web.forms import show_error
from jesip_learn.web.learn import announce_completion, load_item

blueprint = Blueprint("scenario", __name__, url_prefix="/learn/<code>/scenarios/<slug>")

# Form field names of the seven METHANE parts, in METHANE_FIELDS order.
METHANE_NAMES = ("major_incident", "exact_location", "incident_type", "hazards", "access",
                 "casualties", "emergency_services")


class ChoiceForm(FlaskForm):
    step = HiddenField()  # the step the page showed: a replayed press changes nothing
    choice = StringField()  # the value of the button pressed


class MethaneForm(FlaskForm):
    step = HiddenField()
    major_incident = TextAreaField()
    exact_location = TextAreaField()
    incident_type = TextAreaField()
    hazards = TextAreaField()
    access = TextAreaField()
    casualties = TextAreaField()
    emergency_services = TextAreaField()


def run_url(endpoint: str, run: ScenarioRun) -> str:
    return url_for(f"scenario.{endpoint}", code=run.version.course.code, slug=run.item_slug,
                   run_id=run.id)


def own_run(code: str, slug: str, run_id: int):
    """This learner's run of this scenario, and the scenario as its version has it; or 404."""
    run = runs.run_for(db(), current_user, run_id)
    if (run is None or run.item_slug != slug
            or run.version.course.code.upper() != code.upper()):
        abort(404)
    return run, runs.scenario_for(run)


def after_move(run: ScenarioRun, scenario, move: runs.Move) -> str:
    """The feedback of the choice just made, or straight on when it has none. A step
    already answered in another tab: the step the run has got to, saying so."""
    if move.answered_elsewhere:
        flash(runs.ANSWERED_ELSEWHERE)
        return run_url("step", run)
    last = runs.last_choice(run, scenario)
    if last is not None and last[1].feedback_html.strip():
        return run_url("feedback", run)
    return run_url("step", run)


def render_step(run: ScenarioRun, scenario, form: FlaskForm | None = None,
                message_error: str = ""):
    step = runs.current_step(run, scenario)
    if form is None:
        form = MethaneForm() if step.kind == "methane" else ChoiceForm()
    fields = [(form[name], f"{letter} – {label}")
              for name, (letter, label) in zip(METHANE_NAMES, METHANE_FIELDS, strict=True)
              ] if step.kind == "methane" else []
    return render_template("learn/scenario_step.html", run=run, scenario=scenario, step=step,
                           form=form, methane_fields=fields, message_error=message_error,
                           run_url=run_url)


@blueprint.route("")
def overview(code: str, slug: str):
    version, _stored, scenario = load_item(code, slug, "scenario")
    history = runs.run_history(db(), current_user, version.course, slug)
    states = progress.item_states(db(), current_user, version)
    return render_template("learn/scenario_overview.html", version=version, scenario=scenario,
                           history=history, current=next(filter(runs.is_open, history), None),
                           done=states.get(slug) == "completed", form=FlaskForm(),
                           run_url=run_url)


@blueprint.route("/start", methods=["POST"])
def start(code: str, slug: str):
    version, _stored, scenario = load_item(code, slug, "scenario")
    run = runs.start_run(db(), current_user, version, scenario)
    return redirect(run_url("step", run))


@blueprint.route("/runs/<int:run_id>")
def step(code: str, slug: str, run_id: int):
    run, scenario = own_run(code, slug, run_id)
    if run.abandoned_at is not None:
        return redirect(run_url("debrief", run))
    return render_step(run, scenario)


@blueprint.route("/runs/<int:run_id>/choose", methods=["POST"])
def choose(code: str, slug: str, run_id: int):
    run, scenario = own_run(code, slug, run_id)
    form = ChoiceForm()
    try:
        move = runs.choose(db(), run, scenario, form.choice.data or "", form.step.data or "")
    except runs.RunError as error:
        if not runs.is_open(run):
            return redirect(run_url("debrief", run))
        show_error(form, "choice", error.message)
        return render_step(run, scenario, form)
    announce_completion(move.completion)
    return redirect(after_move(run, scenario, move))


@blueprint.route("/runs/<int:run_id>/methane", methods=["POST"])
def methane(code: str, slug: str, run_id: int):
    run, scenario = own_run(code, slug, run_id)
    form = MethaneForm()
    texts = [form[name].data or "" for name in METHANE_NAMES]
    try:
        move = runs.submit_methane(db(), run, scenario, texts, form.step.data or "")
    except runs.RunError as error:
        if not runs.is_open(run):
            return redirect(run_url("debrief", run))
        for index, message in error.field_errors.items():
            show_error(form, METHANE_NAMES[index], message)
        return render_step(run, scenario, form,
                           message_error="" if error.field_errors else error.message)
    announce_completion(move.completion)
    return redirect(after_move(run, scenario, move))


@blueprint.route("/runs/<int:run_id>/feedback")
def feedback(code: str, slug: str, run_id: int):
    run, scenario = own_run(code, slug, run_id)
    last = runs.last_choice(run, scenario)
    if last is None:
        return redirect(run_url("step", run))
    ending = runs.current_step(run, scenario) if run.finished_at is not None else None
    return render_template("learn/scenario_feedback.html", run=run, scenario=scenario,
                           step=last[0], choice=last[1], ending=ending, run_url=run_url)


@blueprint.route("/runs/<int:run_id>/debrief")
def debrief(code: str, slug: str, run_id: int):
    run, scenario = own_run(code, slug, run_id)
    return render_template("learn/scenario_debrief.html", run=run, scenario=scenario,
                           report=runs.debrief(run, scenario), form=FlaskForm(),
                           stage_labels=runs.JDM_STAGE_LABELS,
                           principle_labels=runs.PRINCIPLE_LABELS, run_url=run_url)


@blueprint.route("/runs/<int:run_id>/start-again", methods=["POST"])
def start_again(code: str, slug: str, run_id: int):
    run, _scenario = own_run(code, slug, run_id)
    fresh = runs.start_again(db(), run)
    return redirect(run_url("step", fresh))
