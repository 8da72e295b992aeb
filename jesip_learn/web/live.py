"""Taking part in a live exercise, on a phone or a desktop: join with a code, the role's
page (briefing, clock, what has reached the role, newest first, and the forms to share,
message, send M/ETHANE and answer joint decisions), the stream of new entries for the
page's script, and the debrief with its CSV. Only the session's facilitator and participants
open it; the facilitator uses these pages to play a role nobody takes (`?as=role`). What
may be done is decided in `jesip_learn.exercises.live`."""

from __future__ import annotations

import json
import secrets
import time
from datetime import UTC, datetime

from flask import (
    Blueprint,
    Response,
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
from wtforms import BooleanField, HiddenField, SelectField, StringField, TextAreaField

from jesip_learn.content import JDM_STAGES, METHANE_FIELDS, PRINCIPLES
from jesip_learn.core.db import begin_writing_after_reading
from jesip_learn.core.exports.csv_writer import csv_chunks
from jesip_learn.core.exports.heading import ReportHeading, download_filename
from jesip_learn.core.exports.pdf_writer import pdf_summary
from jesip_learn.exercises.live import actions, debrief, feed, notify, sessions
from jesip_learn.exercises.live import log as live_log
from jesip_learn.exercises.live.log import LiveError, clock_at, script_of
from jesip_learn.exercises.live.models import ENDED, LiveSession
from jesip_learn.learning.runs import JDM_STAGE_LABELS, PRINCIPLE_LABELS
from jesip_learn.records.audit import record_event
from jesip_learn.web.auth import join_code_guesses, too_many_requests
from jesip_learn.web.edge import client_address, db, writes_on_get
from jesip_learn.web.forms import choices, show_error
from jesip_learn.web.scenario import METHANE_NAMES, MethaneForm

blueprint = Blueprint("live", __name__, url_prefix="/live")
STREAM_SECONDS = 55  # then the browser reconnects with Last-Event-ID, freeing the thread
POLL_SECONDS = 5.0  # a stream looks at the database at least this often


# The facilitator's form for a learning point from the debrief (posted to the control pages).
class LearningPointForm(FlaskForm):
    text = TextAreaField()
    principle = SelectField(choices=choices(
        [("", "None")] + [(code, PRINCIPLE_LABELS[code]) for code in PRINCIPLES]),
        validate_choice=False)
    jdm_stage = SelectField(choices=choices(
        [("", "None")] + [(code, JDM_STAGE_LABELS[code]) for code in JDM_STAGES]),
        validate_choice=False)
    for_jol = BooleanField(default=True)


def openable(live_id: int) -> LiveSession:
    """The session, for its facilitator and participants only; to anyone else, not found."""
    live = db().get(LiveSession, live_id)
    if live is None or not sessions.can_open(current_user, live):
        abort(404)
    return live


def up_to_date(live: LiveSession) -> LiveSession:
    """Release the timed events that are due before showing the session."""
    if sessions.is_due(db(), live):
        begin_writing_after_reading(db())
        live = db().get(LiveSession, live.id)
        sessions.bring_up_to_date(db(), live)
    return live


def viewer_role(live: LiveSession) -> tuple[str | None, bool]:
    """The role whose page this is, and whether the facilitator is playing it."""
    participant = sessions.participant_of(live, current_user)
    if participant is not None:
        return participant.role_id, False
    wanted = request.values.get("as", "")
    if wanted and wanted in {role.id for role in sessions.untaken_roles(live)}:
        return wanted, True
    return None, True


# --- joining -----------------------------------------------------------------------------------


class JoinForm(FlaskForm):
    code = StringField()


@blueprint.route("/join", methods=["GET", "POST"])
def join():
    form = JoinForm()
    if form.validate_on_submit():
        try:
            live = sessions.join_with_code(db(), current_user, form.code.data or "",
                                           client_address(), limiter=join_code_guesses())
        except sessions.TooManyWrongCodes as refused:
            return too_many_requests(
                "There have been too many wrong join codes from your account or your "
                "network. To keep exercises private, we limit how many codes can be tried. "
                "If you have the right code, check it with the facilitator, or ask them to "
                "invite you.", refused.limited)
        except LiveError as error:
            show_error(form, "code", error.message)
        else:
            return redirect(url_for("live.page", live_id=live.id))
    return render_template("live/join.html", form=form,
                           mine=sessions.sessions_of(db(), current_user)), (
        400 if form.errors else 200)


@blueprint.route("/<int:live_id>/join", methods=["POST"])
def accept(live_id: int):
    live = openable(live_id)
    participant = sessions.participant_of(live, current_user)
    if participant is not None and FlaskForm().validate_on_submit():
        sessions.mark_joined(db(), live, participant, address=client_address())
    return redirect(url_for("live.page", live_id=live.id))


# --- the role's page ---------------------------------------------------------------------------


class ActForm(FlaskForm):
    as_role = HiddenField()
    nonce = HiddenField()


class ShareForm(ActForm):
    item = StringField()
    target = StringField()


class MessageForm(ActForm):
    target = StringField()
    text = TextAreaField()


class LiveMethaneForm(MethaneForm, ActForm):
    target = StringField()


class DecideForm(ActForm):
    decision = HiddenField()
    option = StringField()
    reason = StringField()


def _new_nonce() -> str:
    return secrets.token_urlsafe(12)


def render_page(live: LiveSession, forms: dict | None = None, status: int = 200):
    role_id, facilitating = viewer_role(live)
    script = script_of(live)
    forms = forms or {}
    nonce = _new_nonce()
    made = {}
    for name, cls in (("share", ShareForm), ("message", MessageForm),
                      ("methane", LiveMethaneForm), ("decide", DecideForm)):
        made[name] = forms.get(name) or cls(formdata=None, prefix=name)
        made[name].nonce.data = nonce
    holding = actions.holding(db(), live, role_id) if role_id else None
    items = list(reversed(feed.feed(db(), live, role_id)))
    return render_template(
        "live/page.html", live=live, script=script, role=script.role(role_id) if role_id else None,
        facilitating=facilitating, participant=sessions.participant_of(live, current_user),
        items=items, last_seq=max((i.seq for i in items), default=0),
        clock=clock_at(live), forms=made, holding=holding,
        shareable=_shareable(script, holding), targets=_targets(script),
        decisions=_decisions(live, script, role_id),
        methane_fields=[(made["methane"][name], f"{letter} – {label}") for name, (letter, label)
                        in zip(METHANE_NAMES, METHANE_FIELDS, strict=True)],
        as_query={"as": role_id} if facilitating and role_id else {},
        show_audience=facilitating and not role_id), status


def _targets(script) -> list[tuple[str, str]]:
    return ([(g.id, g.title) for g in script.talk_groups]
            + [(r.id, r.title) for r in script.roles])


def _shareable(script, holding) -> list[tuple[str, str]]:
    if holding is None:
        return []
    found = []
    for script_event in script.events:
        if script_event.id in holding.events and script_event.kind == "normal":
            found.append((f"event:{script_event.id}", f"The event: {script_event.title}"))
        for fact in script_event.facts:
            if fact.id in holding.facts:
                found.append((f"fact:{fact.id}", f"Key fact: {fact.text}"))
    return found


def _decisions(live: LiveSession, script, role_id: str | None) -> list[dict]:
    """The joint decisions asked so far: each role's answer and the outcome."""
    asked = actions.holding(db(), live, None).events
    found = []
    for script_event in script.events:
        if script_event.kind != "decision" or script_event.id not in asked:
            continue
        if role_id is not None and role_id not in script_event.roles:
            continue
        answers = actions.answers_to(db(), live, script_event.id)
        mine = next((a for a in answers if a.actor_role == role_id), None)
        found.append({"event": script_event, "answers": answers, "mine": mine,
                      "outcome": debrief_outcome(live, script_event.id),
                      "options": {o.id: o for o in script_event.options},
                      "roles": {r.id: r.title for r in script.roles}})
    return found


def debrief_outcome(live: LiveSession, decision_id: str):
    return next((e for e in live_log.entries(db(), live, kinds=("outcome",))
                 if e.event_ref == decision_id), None)


@blueprint.route("/<int:live_id>")
def page(live_id: int):
    live = up_to_date(openable(live_id))
    if live.state == ENDED and "log" not in request.args:
        return redirect(url_for("live.debrief_page", live_id=live.id))
    return render_page(live)


def _acting(live: LiveSession, form: ActForm) -> actions.Acting:
    try:
        return actions.acting_as(live, current_user, form.as_role.data or "")
    except PermissionError:
        abort(404)


def _after(live: LiveSession, form: ActForm, name: str, done, success: str):
    """Run the action; back to the page on success, or the page with the error (400)."""
    if not form.validate_on_submit():
        flash("Your form had expired: send it again")
        return redirect(url_for("live.page", live_id=live.id, **_as(form)))
    try:
        done(_acting(live, form))
    except LiveError as error:
        show_error(form, error.field if error.field in form else "nonce", error.message)
        if not form.errors.get(error.field) and error.message not in form.form_errors:
            form.form_errors.append(error.message)
        return render_page(live, {name: form}, 400)
    flash(success, "success")
    return redirect(url_for("live.page", live_id=live.id, **_as(form)))


def _as(form: ActForm) -> dict:
    return {"as": form.as_role.data} if form.as_role.data else {}


@blueprint.route("/<int:live_id>/share", methods=["POST"])
def share(live_id: int):
    live, form = openable(live_id), ShareForm(prefix="share")
    return _after(live, form, "share", lambda acting: actions.share(
        db(), live, acting, item=form.item.data or "", target=form.target.data or "",
        nonce=form.nonce.data or "", address=client_address()), "Shared")


@blueprint.route("/<int:live_id>/message", methods=["POST"])
def message(live_id: int):
    live, form = openable(live_id), MessageForm(prefix="message")
    return _after(live, form, "message", lambda acting: actions.message(
        db(), live, acting, text=form.text.data or "", target=form.target.data or "",
        nonce=form.nonce.data or "", address=client_address()), "Message sent")


@blueprint.route("/<int:live_id>/methane", methods=["POST"])
def methane(live_id: int):
    live, form = openable(live_id), LiveMethaneForm(prefix="methane")
    return _after(live, form, "methane", lambda acting: actions.methane(
        db(), live, acting, texts=[form[name].data or "" for name in METHANE_NAMES],
        target=form.target.data or "", nonce=form.nonce.data or "",
        address=client_address()), "M/ETHANE message sent")


@blueprint.route("/<int:live_id>/decide", methods=["POST"])
def decide(live_id: int):
    live, form = openable(live_id), DecideForm(prefix="decide")
    return _after(live, form, "decide", lambda acting: actions.decide(
        db(), live, acting, decision_id=form.decision.data or "",
        option_id=form.option.data or "", reason=form.reason.data or "",
        nonce=form.nonce.data or "", address=client_address()), "Your answer has been sent")


# --- the stream --------------------------------------------------------------------------------


def _last_event_id() -> int:
    raw = request.headers.get("Last-Event-ID") or request.args.get("after") or "0"
    return int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 10 else 0


@blueprint.route("/<int:live_id>/stream")
def stream(live_id: int):
    """Server-sent events: each entry that reached the role after Last-Event-ID, as the
    HTML the page shows, then new ones as they are committed; the stream ends after
    STREAM_SECONDS and the browser reconnects where it left off."""
    live = openable(live_id)
    # A participant's role; the facilitator's, everything unless playing a role (`?as=`).
    role_id, _facilitating = viewer_role(live)
    after = _last_event_id()
    app = current_app._get_current_object()  # noqa: SLF001 - the generator outlives the request
    seconds = float(app.config.get("LIVE_STREAM_SECONDS", STREAM_SECONDS))
    announcer = notify.current()
    if announcer is not None:
        announcer.ensure_listening()
    return Response(_events(app, live.id, role_id, after, seconds), mimetype="text/event-stream",
                    headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"})


def _events(app, live_id: int, role_id: str | None, last: int, seconds: float):
    database = app.extensions["database"]
    template = app.jinja_env.get_template("live/_item.html")
    deadline = time.monotonic() + seconds
    yield "retry: 1000\n\n"
    while True:
        mark = notify.LOCAL.mark(live_id)
        with database.session() as session:
            live = session.get(LiveSession, live_id)
            items = feed.feed(session, live, role_id, after=last)
            due = live_log.next_due_seconds(session, live)
            state = live.state
            clock = clock_at(live)
        for found in items:
            data = {"seq": found.seq, "kind": found.kind, "state": state, "clock": clock,
                    "decision": found.decision,
                    "html": template.render(item=found, show_audience=role_id is None)}
            yield f"id: {found.seq}\nevent: entry\ndata: {json.dumps(data)}\n\n"
            last = found.seq
        if due == 0:
            with database.write_session() as session:
                sessions.bring_up_to_date(session, session.get(LiveSession, live_id))
            continue
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            return
        wait = min(remaining, POLL_SECONDS, due if due is not None else POLL_SECONDS)
        if not notify.wait_for_entries(live_id, mark, wait):
            yield ": still here\n\n"


# --- the debrief -------------------------------------------------------------------------------


@blueprint.route("/<int:live_id>/debrief")
def debrief_page(live_id: int):
    live = up_to_date(openable(live_id))
    if live.state != ENDED:
        return redirect(url_for("live.page", live_id=live.id))
    report = debrief.build(db(), live)
    script = script_of(live)

    return render_template(
        "live/debrief.html", live=live, script=script, report=report,
        items=[feed.item(live, entry, script) for entry in report.timeline],
        roles={r.id: r.title for r in script.roles}, principle_labels=PRINCIPLE_LABELS,
        jdm_labels=JDM_STAGE_LABELS, facilitator=sessions.is_facilitator(current_user, live),
        point_form=LearningPointForm(), show_audience=True, shown_clock=lambda s: (
            "" if s is None else f"{s // 60:02d}:{s % 60:02d}"))


def _download(live_id: int, extension: str):
    """The ended session's log as CSV or PDF, recorded in the audit log."""
    live = openable(live_id)
    if live.state != ENDED:
        abort(404)
    report = debrief.build(db(), live)
    heading = ReportHeading(title=f"Live exercise log: {live.title}",
                                    generated_at=datetime.now(UTC),
                                    generated_by=current_user.name,
                                    filters=debrief.summary_lines(report)
                                    if extension == "pdf" else [])
    record_event(db(), "live.debrief_downloaded", actor=current_user,
                 address=client_address(), organisation_id=current_user.organisation_id,
                 details={"live_session_id": live.id, "format": extension})
    if extension == "csv":
        body = "".join(csv_chunks(heading, debrief.CSV_HEADER,
                                          debrief.csv_rows(report)))
        mimetype = "text/csv"
    else:
        body = pdf_summary(heading, debrief.PDF_HEADER, debrief.pdf_rows(report))
        mimetype = "application/pdf"
    filename = download_filename(heading, extension)
    return Response(body, mimetype=mimetype, headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"",
        "Cache-Control": "no-store"})


@blueprint.route("/<int:live_id>/debrief.csv")
@writes_on_get
def debrief_csv(live_id: int):
    return _download(live_id, "csv")


@blueprint.route("/<int:live_id>/debrief.pdf")
@writes_on_get
def debrief_pdf(live_id: int):
    return _download(live_id, "pdf")
