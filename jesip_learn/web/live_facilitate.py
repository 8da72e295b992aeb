"""Facilitating a live exercise (trainers, managers and administrators): create a session from
a published script, invite people or make a join code, give out roles, the lobby, start,
pause, resume and end the clock, release the events that wait, send an extra event, see
everything every role sees, and write the debrief's learning points. Only the session's
facilitator opens its pages; what may be done is decided in `jesip_learn.exercises.live`."""

from __future__ import annotations

import secrets

from flask import (
    Blueprint,
    abort,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import (
    HiddenField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)

from jesip_learn.accounts.models import User
from jesip_learn.exercises import learning_points as exercise_learning_points
from jesip_learn.exercises.live import feed, sessions
from jesip_learn.exercises.live.actions import send_extra
from jesip_learn.exercises.live.log import LiveError, clock_at, entries, script_of
from jesip_learn.exercises.live.models import ENDED, LiveParticipant, LiveSession
from jesip_learn.exercises.recorded import ExerciseError
from jesip_learn.web.auth import send_mail, site_link
from jesip_learn.web.edge import after_commit, client_address, db
from jesip_learn.web.forms import choices, int_or_none, show_error
from jesip_learn.web.live import LearningPointForm, up_to_date

blueprint = Blueprint("live_facilitate", __name__, url_prefix="/exercises/live")


def _own(live_id: int) -> LiveSession:
    """The session, to its facilitator only; to anyone else, not found."""
    live = db().get(LiveSession, live_id)
    if live is None or not sessions.is_facilitator(current_user, live):
        abort(404)
    return live


class NewForm(FlaskForm):
    script = StringField()  # "version_id:slug"


@blueprint.route("", methods=["GET", "POST"])
def index():
    form = NewForm()
    scripts = sessions.published_scripts(db())
    if form.validate_on_submit():
        version, _, slug = (form.script.data or "").partition(":")
        try:
            live = sessions.create_session(db(), current_user, int_or_none(version), slug,
                                           client_address())
        except LiveError as error:
            show_error(form, "script", error.message)
        else:
            flash(f"{live.title} is ready. Invite people or make a join code.", "success")
            return redirect(url_for("live_facilitate.control", live_id=live.id))
    return render_template("live/index.html", form=form, scripts=scripts,
                           mine=sessions.sessions_of(db(), current_user)), (
        400 if form.errors else 200)


# --- the control page ------------------------------------------------------------------------


class InviteForm(FlaskForm):
    user_id = HiddenField()
    role = StringField()


class RoleForm(FlaskForm):
    participant = HiddenField()
    role = StringField()


class CodeForm(FlaskForm):
    hours = StringField(default="12")


class ClockForm(FlaskForm):
    action = StringField()


class ReleaseForm(FlaskForm):
    event_id = StringField()


class ExtraForm(FlaskForm):
    nonce = HiddenField()
    title = StringField()
    text = TextAreaField()
    roles = SelectMultipleField(validate_choice=False)


def render_control(live: LiveSession, forms: dict | None = None, status: int = 200,
                   code: str = ""):
    script = script_of(live)
    forms = forms or {}
    extra = forms.get("extra") or ExtraForm(formdata=None)
    extra.nonce.data = secrets.token_urlsafe(12)
    extra.roles.choices = choices((r.id, r.title) for r in script.roles)
    query = request.args.get("q", "")
    shown_role = request.args.get("role", "")
    everything = entries(db(), live)
    return render_template(
        "live/control.html", live=live, script=script, clock=clock_at(live), code=code,
        # The address participants are told to open is the site's own, as in the emails.
        join_address=site_link("live.join"),
        forms={"invite": forms.get("invite") or InviteForm(formdata=None),
               "role": RoleForm(formdata=None), "code": forms.get("code") or CodeForm(
                   formdata=None), "clock": ClockForm(formdata=None),
               "release": forms.get("release") or ReleaseForm(formdata=None), "extra": extra},
        warnings={p.id: sessions.service_warning(p.user, script.role(p.role_id))
                  for p in live.participants if p.role_id},
        untaken=sessions.untaken_roles(live), waiting=sessions.manual_waiting(db(), live),
        query=query, found=sessions.invitable_people(db(), current_user, live, query),
        shown_role=shown_role if script.role(shown_role) else "",
        items=list(reversed([feed.item(live, e, script) for e in everything
                             if not shown_role or shown_role in (e.audience or [])])),
        show_audience=True, last_seq=live.last_seq), status


@blueprint.route("/<int:live_id>")
def control(live_id: int):
    return render_control(up_to_date(_own(live_id)))


def _done(live: LiveSession, form: FlaskForm, name: str, action, success: str,
          anchor: str = ""):
    if not form.validate_on_submit():
        flash("Your form had expired: send it again")
        return redirect(url_for("live_facilitate.control", live_id=live.id))
    try:
        warning = action()
    except LiveError as error:
        show_error(form, error.field if error.field in form else "csrf_token", error.message)
        if error.field not in form:
            form.form_errors.append(error.message)
        return render_control(live, {name: form}, 400)
    flash(warning or success, "message" if warning else "success")
    return redirect(url_for("live_facilitate.control", live_id=live.id, _anchor=anchor))


@blueprint.route("/<int:live_id>/invite", methods=["POST"])
def invite(live_id: int):
    live, form = _own(live_id), InviteForm()
    person = db().get(User, int_or_none(form.user_id.data) or 0)

    def act():
        participant = sessions.invite(db(), current_user, live, person, "", client_address())
        warning = ""
        if form.role.data:
            warning = sessions.assign_role(db(), current_user, live, participant,
                                           form.role.data, client_address())
        _email_invitation_after_commit(live, participant)
        return warning

    return _done(live, form, "invite", act,
                 "Invited. They will get an email with the exercise’s link.", "people")


def _email_invitation_after_commit(live: LiveSession, participant: LiveParticipant) -> None:
    """The invitation by email, once it is saved: a link to an exercise the person was never
    added to would lead nowhere. Its links start with SITE_URL, never the host the request
    named. What it says is read now, while the request's objects are fresh; an address that
    cannot be sent to costs only its own email, and the facilitator is told on the next
    page (the session cookie is written after the commit)."""
    person = participant.user
    role = script_of(live).role(participant.role_id) if participant.role_id else None
    address, name, title = person.email, person.name, live.title
    context = {"name": name, "title": title, "facilitator": current_user.name,
               "organisation": current_user.organisation.name if current_user.organisation
               else "JESIP Learn", "role": role.title if role else "",
               "link": site_link("live.page", live_id=live.id),
               "join_link": site_link("live.join")}

    def send() -> None:
        if not send_mail(address, f"You are invited to a live exercise: {title}",
                         "live_invitation", **context):
            current_app.logger.warning("A live exercise invitation could not be emailed")
            flash(f"We could not email {name} the exercise’s link. Tell them it is under "
                  "“Your live exercises” once they sign in.")

    after_commit(send)


@blueprint.route("/<int:live_id>/roles", methods=["POST"])
def roles(live_id: int):
    live, form = _own(live_id), RoleForm()
    participant = db().get(LiveParticipant, int_or_none(form.participant.data) or 0)
    if participant is None or participant.session_id != live.id:
        abort(404)
    return _done(live, form, "role", lambda: sessions.assign_role(
        db(), current_user, live, participant, form.role.data or "", client_address()),
        "The role has been given", "people")


@blueprint.route("/<int:live_id>/join-code", methods=["POST"])
def join_code(live_id: int):
    live, form = _own(live_id), CodeForm()
    if form.validate_on_submit():
        hours = int_or_none(form.hours.data)
        try:
            code = sessions.make_join_code(db(), current_user, live, hours or 0,
                                           client_address())
        except LiveError as error:
            show_error(form, "hours", error.message)
            return render_control(live, {"code": form}, 400)
        return render_control(live, code=code)
    return redirect(url_for("live_facilitate.control", live_id=live.id))


@blueprint.route("/<int:live_id>/clock", methods=["POST"])
def clock(live_id: int):
    live, form = _own(live_id), ClockForm()
    moves = {"start": sessions.start, "pause": sessions.pause, "resume": sessions.resume,
             "end": lambda s, actor, live, address: sessions.end(s, live, actor, address)}
    move = moves.get(form.action.data or "")
    if move is None:
        flash("Choose start, pause, resume or end")
        return redirect(url_for("live_facilitate.control", live_id=live.id))
    result = _done(live, form, "clock", lambda: move(db(), current_user, live,
                                                      client_address()),
                   {"start": "The exercise has started", "pause": "The exercise is paused",
                    "resume": "The exercise has resumed",
                    "end": "The exercise has ended"}[form.action.data])
    if live.state == ENDED and result.status_code == 302:
        return redirect(url_for("live.debrief_page", live_id=live.id))
    return result


@blueprint.route("/<int:live_id>/release", methods=["POST"])
def release(live_id: int):
    live, form = _own(live_id), ReleaseForm()
    return _done(live, form, "release", lambda: sessions.release_manual(
        db(), current_user, live, form.event_id.data or "", client_address()),
        "The event has been released")


@blueprint.route("/<int:live_id>/extra", methods=["POST"])
def extra(live_id: int):
    live, form = _own(live_id), ExtraForm()
    form.roles.choices = choices((r.id, r.title) for r in script_of(live).roles)
    return _done(live, form, "extra", lambda: send_extra(
        db(), live, current_user, title=form.title.data or "", text=form.text.data or "",
        roles=form.roles.data or [], nonce=form.nonce.data or "", address=client_address())
        and "", "The event has been sent")


@blueprint.route("/<int:live_id>/learning-points", methods=["POST"])
def learning_point(live_id: int):
    live, form = _own(live_id), LearningPointForm()
    if live.exercise is None:
        abort(404)
    if form.validate_on_submit():
        try:
            exercise_learning_points.add_learning_point(
                db(), current_user, live.exercise, text=form.text.data or "",
                principle=form.principle.data or None, jdm_stage=form.jdm_stage.data or None,
                for_jol=bool(form.for_jol.data), address=client_address())
        except (ExerciseError, PermissionError) as error:
            flash(getattr(error, "message", "")
                  or "You cannot add learning points to this exercise")
        else:
            flash("The learning point has been added.", "success")
    return redirect(url_for("live.debrief_page", live_id=live.id, _anchor="learning-points"))
