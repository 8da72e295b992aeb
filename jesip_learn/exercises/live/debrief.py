"""The debrief of a live exercise, read from its event log: when each key fact reached each
role that needed it (and through whom) against its `within=`; each expected M/ETHANE message
against the model answer, field by field; each joint decision's answers and outcome; the
JESIP principles and JDM stages the exercise evidenced; the log as rows for a CSV file.

A fact "arrives" at a role with the first entry the role sees that carries it: the release
of its event, a share of its event, or a share of the fact itself. Its `within=` counts from
the first release of its event. An expected M/ETHANE message is met by the first one its
`from=` role sent to a role or talk group reaching every role its `to=` reaches.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from sqlalchemy.orm import Session

from jesip_learn import scoring
from jesip_learn.content import JDM_STAGES, METHANE_FIELDS, PRINCIPLES
from jesip_learn.exercises.live.log import entries, script_of, shown_clock
from jesip_learn.exercises.live.models import LiveEvent, LiveSession


@dataclass(frozen=True, slots=True)
class FactArrival:
    fact_id: str
    fact_text: str
    event_title: str
    role_id: str
    role_title: str
    released_at: int | None  # clock seconds when its event was first released
    arrived_at: int | None
    through: str  # "the script", "a share by police-control (Ann Smith)", ...
    within: int | None

    @property
    def in_time(self) -> bool | None:
        if self.arrived_at is None or self.released_at is None:
            return False if self.released_at is not None else None
        if self.within is None:
            return True
        return self.arrived_at - self.released_at <= self.within


@dataclass(frozen=True, slots=True)
class MethaneCheck:
    event_id: str
    title: str
    from_role: str
    to: str
    due_by: int | None
    sent: LiveEvent | None
    fields: list  # scoring.MethaneFieldResult, one per field

    @property
    def in_time(self) -> bool:
        return self.sent is not None and (self.due_by is None or self.sent.clock <= self.due_by)

    @property
    def covered(self) -> int:
        return sum(1 for result in self.fields if result.covered)


@dataclass(frozen=True, slots=True)
class DecisionCheck:
    event_id: str
    title: str
    jdm: str | None
    principle: str | None
    asked_at: int | None
    answers: list[LiveEvent]
    outcome: LiveEvent | None
    options: tuple  # the script's DecisionOption, with their feedback

    @property
    def agreed(self) -> bool:
        return self.outcome is not None and bool(self.outcome.data.get("agreed"))

    def option(self, option_id: str | None):
        return next((o for o in self.options if o.id == option_id), None)


@dataclass
class Debrief:
    timeline: list[LiveEvent]
    facts: list[FactArrival]
    methane: list[MethaneCheck]
    decisions: list[DecisionCheck]
    principles: list[str] = field(default_factory=list)
    jdm_stages: list[str] = field(default_factory=list)


def _through(entry: LiveEvent, role_titles: dict[str, str]) -> str:
    if entry.kind == "release":
        return "the script" if entry.actor_id is None else "the facilitator's release"
    who = role_titles.get(entry.actor_role, "the facilitator")
    person = f" ({entry.actor.name})" if entry.actor is not None else ""
    return f"shared by {who}{person}"


def _carries(entry: LiveEvent, event_id: str, fact_id: str) -> bool:
    if entry.kind == "release":
        return entry.event_ref == event_id
    if entry.kind == "share":
        return entry.fact_ref == fact_id or (entry.event_ref == event_id and not entry.fact_ref)
    return False


def build(session: Session, live: LiveSession) -> Debrief:
    script = script_of(live)
    log = entries(session, live)
    titles = {role.id: role.title for role in script.roles}
    releases = {}
    for entry in log:
        if entry.kind == "release":
            releases.setdefault(entry.event_ref, entry)
    facts = []
    for script_event in script.events:
        released = releases.get(script_event.id)
        for fact in script_event.facts:
            for role_id in fact.needs:
                arrival = next((e for e in log if role_id in (e.audience or [])
                                and _carries(e, script_event.id, fact.id)), None)
                facts.append(FactArrival(
                    fact.id, fact.text, script_event.title, role_id, titles.get(role_id, role_id),
                    released.clock if released else None,
                    arrival.clock if arrival else None,
                    _through(arrival, titles) if arrival else "", fact.within))
    methane = [_methane_check(script, script_event, log, releases)
               for script_event in script.events if script_event.kind == "methane"]
    decisions = [DecisionCheck(
        e.id, e.title, e.jdm, e.principle,
        releases[e.id].clock if e.id in releases else None,
        [a for a in log if a.kind == "answer" and a.event_ref == e.id],
        next((o for o in log if o.kind == "outcome" and o.event_ref == e.id), None),
        e.options) for e in script.events if e.kind == "decision"]
    report = Debrief(log, facts, methane, decisions)
    report.principles, report.jdm_stages = _evidenced(script, report)
    return report


def _methane_check(script, script_event, log, releases) -> MethaneCheck:
    wanted = {role for target in script_event.to for role in script.members(target)}
    sent = next((e for e in log if e.kind == "methane"
                 and e.actor_role == script_event.from_role
                 and wanted <= set(script.members(e.target))), None)
    start = script_event.at if script_event.at is not None else (
        releases[script_event.id].clock if script_event.id in releases else None)
    due_by = start + script_event.within if start is not None and script_event.within else None
    model = [line.text for line in script_event.model_answer.lines] if (
        script_event.model_answer) else [""] * len(METHANE_FIELDS)
    written = (sent.data.get("fields") if sent else None) or [""] * len(METHANE_FIELDS)
    results = scoring.compare_methane(model, written)
    kept = ((sent.data.get("covered") or {}).get(script_event.id)) if sent else None
    if kept is not None:  # its author was erased: how it compared was kept, not its words
        results = [replace(result, covered=bool(covered))
                   for result, covered in zip(results, kept, strict=False)]
    return MethaneCheck(script_event.id, script_event.title, script_event.from_role or "",
                        ",".join(script_event.to), due_by, sent, results)


def _evidenced(script, report: Debrief) -> tuple[list[str], list[str]]:
    """A principle or stage is evidenced by what was done that is tagged with it: a key fact
    that reached every role that needed it in time, an expected M/ETHANE message sent in
    time, a joint decision agreed."""
    principles, stages = set(), set()
    by_fact: dict[str, list[FactArrival]] = {}
    for arrival in report.facts:
        by_fact.setdefault(arrival.fact_id, []).append(arrival)
    for script_event in script.events:
        for fact in script_event.facts:
            arrivals = by_fact.get(fact.id, [])
            if fact.principle and arrivals and all(a.in_time for a in arrivals):
                principles.add(fact.principle)
        if script_event.kind == "methane" and script_event.principle:
            check = next(m for m in report.methane if m.event_id == script_event.id)
            if check.in_time:
                principles.add(script_event.principle)
    for decision in report.decisions:
        if decision.agreed:
            principles.update(filter(None, [decision.principle]))
            stages.update(filter(None, [decision.jdm]))
    if any(m.sent is not None for m in report.methane):
        stages.add("information")  # an M/ETHANE message is the JDM's gathering of information
    return ([p for p in PRINCIPLES if p in principles], [s for s in JDM_STAGES if s in stages])


# --- the log as rows ---------------------------------------------------------------------------

CSV_HEADER = ("Number", "Clock", "Time (UTC)", "Kind", "From role", "From person", "To",
              "Seen by roles", "Script event", "Key fact", "Text")


def describe(entry: LiveEvent) -> str:
    if entry.kind == "methane":
        fields = entry.data.get("fields") or []
        return " | ".join(f"{letter}: {text}" for (letter, _label), text
                          in zip(METHANE_FIELDS, fields, strict=False) if text) or entry.text
    if entry.kind == "answer":
        return f"option {entry.data.get('option')}: {entry.text}"
    if entry.kind == "extra":
        return ": ".join(part for part in (entry.data.get("title"), entry.text) if part)
    return entry.text


def csv_rows(report: Debrief) -> list[tuple]:
    return [(e.seq, shown_clock(e.clock), e.created_at.strftime("%Y-%m-%d %H:%M:%S"), e.kind,
             e.actor_role or ("facilitator" if e.actor_id else "script"),
             e.actor.name if e.actor else "", e.target, ", ".join(e.audience or []),
             e.event_ref, e.fact_ref, describe(e)) for e in report.timeline]


PDF_HEADER = ("Clock", "What", "From", "To", "Text")


def pdf_rows(report: Debrief) -> list[tuple]:
    """The timeline for the PDF: narrower than the CSV, so it fits a page."""
    return [(shown_clock(e.clock), e.kind,
             (e.actor_role or ("facilitator" if e.actor_id else "script"))
             + (f" ({e.actor.name})" if e.actor else ""),
             e.target or ", ".join(e.audience or []), describe(e) or e.event_ref)
            for e in report.timeline]


def summary_lines(report: Debrief) -> list[tuple[str, str]]:
    """The debrief's findings in words, for the top of the PDF."""
    arrived = sum(1 for a in report.facts if a.in_time)
    lines = [("Key facts in time", f"{arrived} of {len(report.facts)} (fact, role) pairs")]
    for check in report.methane:
        lines.append((f"M/ETHANE: {check.title}",
                      f"sent at {shown_clock(check.sent.clock)}, {check.covered} of 7 parts "
                      "match the model" if check.sent else "not sent"))
    for decision in report.decisions:
        outcome = ("not asked" if decision.asked_at is None else
                   f"agreed at {shown_clock(decision.outcome.clock)}" if decision.agreed else
                   "not agreed")
        lines.append((f"Decision: {decision.title}", outcome))
    lines.append(("Principles evidenced", ", ".join(report.principles) or "none"))
    lines.append(("JDM stages evidenced", ", ".join(report.jdm_stages) or "none"))
    return lines
