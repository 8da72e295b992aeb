"""Which object each route's parameters name, and who may reach another organisation's.

`OBJECT_ROUTES` lists, for every endpoint whose address names an object, the case of
organisation B's object: the world's ids for its parameters (tests/support/route_world.py),
the people of organisation A who may see it (`see`: besides them, A's learner, trainer,
manager and administrator must be refused with 403 or 404), the person of B (or the
administrator) for whom the route works, and the real form that person would send.
`NOT_OBJECTS` lists the endpoints whose parameters name no object of an organisation, and
why. tests/web/test_route_scope.py checks that together they classify every parameter of
every route in the URL map, so a new route with a parameter fails until it is added here.
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import Session

from jesip_learn.courses import authoring
from jesip_learn.imports import bulk as bulk_import
from jesip_learn.imports.models import ImportBatch
from jesip_learn.learning import attempt_answers, runs
from jesip_learn.learning.models import QuizAttempt, ScenarioRun
from tests.support.quizzes import answer_values
from tests.support.route_world import PNG, World, upload_of, zip_of_draft

A_PEOPLE = ("a.learner", "a.trainer", "a.manager", "a.admin")
EVERYONE_SIGNED_IN = frozenset(A_PEOPLE)
ADMIN = frozenset({"a.admin"})
NOBODY = frozenset()

Form = Callable[[World, Session], dict]

GIFT_BANK = b"::Meet:: Where do commanders meet? {=At the forward command post ~At the RVP}\n"


@dataclass(frozen=True)
class Case:
    """One route tried with organisation B's object."""

    endpoint: str
    values: dict[str, str]  # URL parameter -> key of World.ids (or a literal after "=")
    see: frozenset[str]  # who of organisation A may reach it
    owner: str  # for whom it works: their GET and POST are asserted to succeed
    form: Form | None = None  # the POST's fields, as the owner would send them
    expect: dict[str, int] = field(default_factory=lambda: {"GET": 200, "POST": 302})
    changes: bool = True  # the owner's POST changes the database
    query: str = ""  # added to the GET's address
    prepare: Callable[[World, Session], None] | None = None  # run first, inside the test
    label: str = ""  # tells cases of the same endpoint apart
    # A scope hole known and left to be mended elsewhere: what it is and who mends it. The
    # case is then expected to fail (strict), so mending it makes the test say so.
    hole: str = ""

    @property
    def id(self) -> str:
        return self.endpoint + (f"[{self.label}]" if self.label else "")


def _course(world: World, session: Session):
    return authoring.course_by_code(session, world.ids["b.code"])


def _trainer(world: World, session: Session):
    return world.user(session, "b.trainer")


def _page_sha(world: World, session: Session, path_key: str = "b.page") -> str:
    return authoring.page_text(session, _trainer(world, session), _course(world, session),
                               world.ids[path_key]).sha256


def _file_sha(world: World, session: Session) -> str:
    view = authoring.draft_view(session, _trainer(world, session), _course(world, session))
    return next(f.sha256 for f in view.files if f.path == world.ids["b.draft_file"])


def _changed_draft_zip(world: World, session: Session) -> dict:
    """The draft downloaded, one page changed offline, and uploaded again."""
    source = zipfile.ZipFile(io.BytesIO(zip_of_draft(world, session, "b")))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as changed:
        for entry in source.infolist():
            data = source.read(entry)
            if entry.filename.endswith(world.ids["b.page"]):
                data += b"\nChanged offline.\n"
            changed.writestr(entry, data)
    revision = authoring.draft_view(session, _trainer(world, session),
                                    _course(world, session)).revision
    return {"archive": upload_of(out.getvalue(), "course.zip"), "revision": str(revision)}


def _answers(world: World, session: Session) -> dict:
    attempt = session.get(QuizAttempt, world.ids["b.attempt"])
    return {"action": "submit", **answer_values(attempt_answers.attempt_questions(attempt))}


def _run_and_scenario(world: World, session: Session):
    run = session.get(ScenarioRun, world.ids["b.run"])
    return run, runs.scenario_for(run)


def _first_choice(world: World, session: Session) -> dict:
    run, scenario = _run_and_scenario(world, session)
    return {"step": run.path[-1][0], "choice": "1"}


def _to_methane_step(world: World, session: Session) -> None:
    run, scenario = _run_and_scenario(world, session)
    while runs.current_step(run, scenario).kind != "methane":
        runs.choose(session, run, scenario, "1")
    session.commit()


def _after_a_choice(world: World, session: Session) -> None:
    run, scenario = _run_and_scenario(world, session)
    runs.choose(session, run, scenario, "1")
    session.commit()


def _methane(world: World, session: Session) -> dict:
    run, _scenario = _run_and_scenario(world, session)
    return {"step": run.path[-1][0], "major_incident": "Not declared",
            "exact_location": "14 Mill Lane", "incident_type": "Flooding",
            "hazards": "Fast water", "access": "Station Road",
            "casualties": "One missing", "emergency_services": "One appliance"}


def _plan(world: World, session: Session) -> dict:
    batch = session.get(ImportBatch, world.ids["b.batch"])
    plan = bulk_import.plan_import(session, batch, world.user(session, "b.manager"))
    return {"plan": plan.digest}


def _exercise_form(world: World, session: Session) -> dict:
    return {"title": "Operation B, renamed", "held_on_day": "14", "held_on_month": "3",
            "held_on_year": "2026", "kind": "table-top", "location": "Headquarters",
            "organisation_ids": [str(world.ids["b.organisation"]),
                                 str(world.ids["c.organisation"])],
            "command_roles": ["tactical"], "principles": ["co-locate"],
            "jdm_stages": ["information"]}


def _participants_csv(world: World, session: Session) -> str:
    return f"email,role\n{world.user(session, 'b.colleague').email},tactical\n"


def _fields(**values) -> Form:
    return lambda world, session: dict(values)


ADMIN_OWNS = {"see": ADMIN, "owner": "a.admin"}
TRAINER_B = {"see": ADMIN, "owner": "b.trainer"}
COURSE_B = {"code": "b.code"}
PAGE_B = {**COURSE_B, "path": "b.page"}

OBJECT_ROUTES: list[Case] = [
    # --- administration: every organisation's, for administrators only -----------------------
    Case("admin.organisation_edit", {"organisation_id": "b.organisation"}, **ADMIN_OWNS,
         form=_fields(name="Southshire Fire and Rescue", service="fire", country="England",
                      domains="southshire.fire.uk", is_active="y")),
    Case("admin.user_edit", {"user_id": "b.learner"}, **ADMIN_OWNS,
         form=lambda w, s: {"name": "Learner B Renamed",
                            "organisation": str(w.ids["b.organisation"]),
                            "command_role": "operational", "permissions": ["learner"],
                            "is_active": "y"}),
    Case("admin.reset_two_step", {"user_id": "b.manager"}, **ADMIN_OWNS, form=_fields()),
    Case("records_admin.erasure", {"user_id": "b.learner"}, **ADMIN_OWNS,
         form=_fields(decision="refuse", reason="The service must keep training records")),
    Case("records_admin.subject_access", {"user_id": "b.learner"}, **ADMIN_OWNS),
    # No provider is linked to B in the world: the POST says so and changes nothing.
    Case("sso_admin.requirement", {"organisation_id": "b.organisation"}, **ADMIN_OWNS,
         form=_fields(required="yes"), changes=False),
    Case("records_admin.subject_access_json", {"user_id": "b.learner"}, **ADMIN_OWNS),
    # --- a course B's trainer owns: its owners and editors, and administrators ----------------
    Case("author.course", COURSE_B, **TRAINER_B),
    Case("author.history", COURSE_B, **TRAINER_B),
    Case("author.diff", COURSE_B, **TRAINER_B, query="old=1&new=2"),
    Case("author.export_draft", COURSE_B, **TRAINER_B),
    Case("author.editors", COURSE_B, **TRAINER_B,
         form=lambda w, s: {"email": w.user(s, "a.editor").email, "role": "editor"}),
    Case("author.remove_editor", COURSE_B, **TRAINER_B,
         form=lambda w, s: {"user_id": str(w.ids["b.editor"])}),
    Case("author.import_draft", COURSE_B, **TRAINER_B, form=_changed_draft_zip,
         expect={"GET": 200, "POST": 200}),
    Case("author.quiz_analysis", {**COURSE_B, "slug": "b.quiz"}, **TRAINER_B),
    Case("author.scenario_analysis", {**COURSE_B, "slug": "b.scenario"}, **TRAINER_B),
    Case("author.export_version", {**COURSE_B, "number": "=1"}, **TRAINER_B),
    Case("author.package", {**COURSE_B, "package_format": "=scorm12"}, **TRAINER_B),
    Case("editor.add_gift", {**COURSE_B, "path": "b.quiz_page"}, **TRAINER_B,
         form=lambda w, s: {"bank": upload_of(GIFT_BANK, "bank.gift")},
         expect={"GET": 200, "POST": 200}),
    Case("author.restore", {**COURSE_B, "number": "=1"}, **TRAINER_B,
         form=_fields(needs_renewal="no", note="Back to the first version")),
    Case("editor.draft", COURSE_B, **TRAINER_B),
    Case("editor.discard", COURSE_B, **TRAINER_B, form=_fields()),
    Case("editor.upload_file", COURSE_B, **TRAINER_B,
         form=lambda w, s: {"file": upload_of(PNG, "route.png")}),
    Case("editor.draft_file", {**COURSE_B, "path": "b.draft_file"}, **TRAINER_B),
    Case("editor.delete_file", {**COURSE_B, "path": "b.draft_file"}, **TRAINER_B,
         form=lambda w, s: {"base_sha256": _file_sha(w, s)}),
    Case("editor.add_item", COURSE_B, **TRAINER_B,
         form=_fields(kind="module", title="After the incident")),
    Case("editor.edit_page", PAGE_B, **TRAINER_B,
         form=lambda w, s: {"text": "---\ntitle: Why interoperability\n---\n\nRewritten.\n",
                            "base_sha256": _page_sha(w, s), "action": "save"}),
    Case("editor.delete_item", PAGE_B, **TRAINER_B,
         form=lambda w, s: {"base_sha256": _page_sha(w, s)}),
    Case("editor.move_item", PAGE_B, **TRAINER_B, form=_fields(direction="down")),
    Case("editor.preview", PAGE_B, **TRAINER_B,
         form=_fields(text="---\ntitle: Preview\n---\n\nJust looking.\n"),
         expect={"GET": 200, "POST": 200}, changes=False),
    Case("editor.rename_item", PAGE_B, **TRAINER_B,
         form=lambda w, s: {"title": "Why it matters", "slug": "why-it-matters",
                            "base_sha256": _page_sha(w, s)}),
    Case("editor.publish", COURSE_B, **TRAINER_B,
         form=_fields(needs_renewal="no", note="A draft change")),
    # --- courses are open to everyone signed in; attempts, runs and certificates are their
    #     learner's alone -------------------------------------------------------------------
    Case("learn.course", COURSE_B, see=EVERYONE_SIGNED_IN, owner="b.learner"),
    Case("learn.module", {**COURSE_B, "slug": "b.module"}, see=EVERYONE_SIGNED_IN,
         owner="b.learner"),
    Case("learn.complete_module", {**COURSE_B, "slug": "b.module"}, see=EVERYONE_SIGNED_IN,
         owner="b.learner", form=_fields()),
    Case("learn.certificate", COURSE_B, see=NOBODY, owner="b.learner"),
    Case("learn.certificate_pdf", COURSE_B, see=NOBODY, owner="b.learner"),
    Case("main.course_file", {"content_hash": "b.content_hash", "path": "b.course_file"},
         see=EVERYONE_SIGNED_IN, owner="b.learner"),
    Case("main.verify", {"certificate_code": "b.certificate"}, see=EVERYONE_SIGNED_IN,
         owner="b.learner"),
    Case("quiz.overview", {**COURSE_B, "slug": "b.quiz"}, see=EVERYONE_SIGNED_IN,
         owner="b.learner"),
    Case("quiz.start", {**COURSE_B, "slug": "b.quiz"}, see=EVERYONE_SIGNED_IN,
         owner="b.learner", form=_fields(), changes=False),  # B's learner resumes
    Case("quiz.attempt", {**COURSE_B, "slug": "b.quiz", "attempt_id": "b.attempt"},
         see=NOBODY, owner="b.learner", form=_answers),
    Case("quiz.result", {**COURSE_B, "slug": "b.quiz", "attempt_id": "b.submitted_attempt"},
         see=NOBODY, owner="b.learner"),
    Case("scenario.overview", {**COURSE_B, "slug": "b.scenario"}, see=EVERYONE_SIGNED_IN,
         owner="b.learner"),
    Case("scenario.start", {**COURSE_B, "slug": "b.scenario"}, see=EVERYONE_SIGNED_IN,
         owner="b.learner", form=_fields(), changes=False),  # B's learner resumes
    Case("scenario.step", {**COURSE_B, "slug": "b.scenario", "run_id": "b.run"},
         see=NOBODY, owner="b.learner"),
    Case("scenario.choose", {**COURSE_B, "slug": "b.scenario", "run_id": "b.run"},
         see=NOBODY, owner="b.learner", form=_first_choice),
    Case("scenario.methane", {**COURSE_B, "slug": "b.scenario", "run_id": "b.run"},
         see=NOBODY, owner="b.learner", form=_methane, prepare=_to_methane_step),
    Case("scenario.feedback", {**COURSE_B, "slug": "b.scenario", "run_id": "b.run"},
         see=NOBODY, owner="b.learner", prepare=_after_a_choice),
    Case("scenario.debrief", {**COURSE_B, "slug": "b.scenario", "run_id": "b.run"},
         see=NOBODY, owner="b.learner"),
    Case("scenario.start_again", {**COURSE_B, "slug": "b.scenario", "run_id": "b.run"},
         see=NOBODY, owner="b.learner", form=_fields()),
    # --- B's people and records: B's manager and administrators --------------------------------
    Case("manage.approve", {"user_id": "b.pending"}, see=ADMIN, owner="b.manager",
         form=_fields()),
    Case("manage.reject", {"user_id": "b.pending"}, see=ADMIN, owner="b.manager",
         form=_fields()),
    Case("compliance.learner", {"user_id": "b.learner"}, see=ADMIN, owner="b.manager"),
    # More attempts at B's quiz for B's learner: B's manager, or a trainer of course B.
    Case("allowances.grant", {"user_id": "b.learner", **COURSE_B, "slug": "b.quiz"},
         see=ADMIN, owner="b.manager", form=_fields(number="1", seen="0")),
    Case("allowances.grant", {"user_id": "b.learner", **COURSE_B, "slug": "b.quiz"},
         see=ADMIN, owner="b.trainer", form=_fields(number="1", seen="0"), label="trainer"),
    Case("compliance.remove_requirement", {"rule_id": "b.rule"}, see=ADMIN,
         owner="b.manager", form=_fields()),
    Case("compliance.remove_exercise_requirement", {"rule_id": "b.exercise_rule"}, see=ADMIN,
         owner="b.manager", form=_fields()),
    Case("transfers.decide", {"request_id": "b.transfer"}, see=ADMIN, owner="b.manager",
         form=_fields()),
    Case("transfers.decline", {"request_id": "b.transfer"}, see=ADMIN, owner="b.manager",
         form=_fields()),
    # --- what B's manager made is theirs alone, even to administrators -------------------------
    Case("imports.check", {"batch_id": "b.batch"}, see=NOBODY, owner="b.manager"),
    Case("imports.apply", {"batch_id": "b.batch"}, see=NOBODY, owner="b.manager", form=_plan),
    Case("notifications.stop_subscription", {"subscription_id": "b.subscription"},
         see=NOBODY, owner="b.manager", form=_fields()),
    # --- an exercise of B and C recorded by B's trainer: A took no part ------------------------
    Case("exercises.page", {"exercise_id": "b.exercise"}, see=ADMIN, owner="b.manager"),
    Case("exercises.edit", {"exercise_id": "b.exercise"}, **TRAINER_B, form=_exercise_form),
    Case("exercises.add_learning_point", {"exercise_id": "b.exercise"}, **TRAINER_B,
         form=_fields(text="Agree the rendezvous point early.", principle="co-locate",
                      jdm_stage="information", for_jol="y")),
    Case("exercises.remove_learning_point",
         {"exercise_id": "b.exercise", "point_id": "b.learning_point"}, **TRAINER_B,
         form=_fields()),
    Case("exercises.add_participant", {"exercise_id": "b.exercise"}, see=ADMIN,
         owner="b.manager", query="q=Colleague",
         form=lambda w, s: {"user_id": str(w.ids["b.colleague"]), "role": "operational"}),
    Case("exercises.upload_participants", {"exercise_id": "b.exercise"}, see=ADMIN,
         owner="b.manager",
         form=lambda w, s: {"file": upload_of(_participants_csv(w, s).encode(), "people.csv")},
         expect={"GET": 200, "POST": 200}, changes=False),
    Case("exercises.apply_participants", {"exercise_id": "b.exercise"}, see=ADMIN,
         owner="b.manager", form=lambda w, s: {"text": _participants_csv(w, s)}),
    Case("exercises.confirm_participant",
         {"exercise_id": "b.exercise", "participant_id": "b.participant"}, see=ADMIN,
         owner="b.manager", form=_fields()),
    Case("exercises.remove_participant",
         {"exercise_id": "b.exercise", "participant_id": "b.participant"}, see=ADMIN,
         owner="b.manager", form=_fields()),
    # --- B's person in an exercise A and B took part in: A's manager opens the exercise,
    #     but B's people are not theirs ----------------------------------------------------------
    Case("exercises.confirm_participant",
         {"exercise_id": "shared_exercise", "participant_id": "b.shared_participant"},
         see=ADMIN, owner="b.manager", form=_fields(), label="shared exercise"),
    Case("exercises.remove_participant",
         {"exercise_id": "shared_exercise", "participant_id": "b.shared_participant"},
         see=ADMIN, owner="b.manager", form=_fields(), label="shared exercise"),
]

LIVE_B = {"live_id": "b.live"}
ENDED_B = {"live_id": "b.ended_live"}
FACILITATOR_B = {"see": NOBODY, "owner": "b.trainer"}
PARTICIPANT_B = {"see": NOBODY, "owner": "b.learner"}
METHANE_FIELDS = {"major_incident": "Yes", "exact_location": "Quay Street",
                  "incident_type": "Attack", "hazards": "Attackers", "access": "From the north",
                  "casualties": "Several", "emergency_services": "Police on their way"}

OBJECT_ROUTES += [
    # --- a live exercise B's trainer facilitates, with B's learner as police control: its
    #     facilitator and participants only, not even administrators ---------------------------
    Case("live_facilitate.control", LIVE_B, **FACILITATOR_B),
    Case("live_facilitate.invite", LIVE_B, **FACILITATOR_B,
         form=lambda w, s: {"user_id": str(w.ids["b.colleague"]), "role": "fire-control"}),
    Case("live_facilitate.roles", LIVE_B, **FACILITATOR_B,
         form=lambda w, s: {"participant": str(w.ids["b.live_participant"]),
                            "role": "ambulance-control"}),
    Case("live_facilitate.join_code", LIVE_B, **FACILITATOR_B, form=_fields(hours="2"),
         expect={"POST": 200}),
    Case("live_facilitate.clock", LIVE_B, **FACILITATOR_B, form=_fields(action="pause")),
    Case("live_facilitate.release", LIVE_B, **FACILITATOR_B,
         form=_fields(event_id="second-location")),
    Case("live_facilitate.extra", LIVE_B, **FACILITATOR_B,
         form=_fields(title="A burst water main", text="Water on Quay Street",
                      roles=["police-control"], nonce="route-extra")),
    Case("live_facilitate.learning_point", ENDED_B, **FACILITATOR_B,
         form=_fields(text="Share Plato at once", principle="communicate", jdm_stage="",
                      for_jol="y")),
    Case("live.page", LIVE_B, **PARTICIPANT_B),
    Case("live.accept", LIVE_B, **PARTICIPANT_B, form=_fields()),
    Case("live.stream", LIVE_B, **PARTICIPANT_B),
    Case("live.share", LIVE_B, **PARTICIPANT_B,
         form=_fields(**{"share-item": "fact:attack-reported", "share-target": "inter-control",
                         "share-nonce": "route-share"})),
    Case("live.message", LIVE_B, **PARTICIPANT_B,
         form=_fields(**{"message-target": "fire-control", "message-text": "Police here"})),
    Case("live.methane", LIVE_B, **PARTICIPANT_B,
         form=_fields(**{"methane-target": "inter-control",
                         **{f"methane-{k}": v for k, v in METHANE_FIELDS.items()}})),
    Case("live.decide", LIVE_B, **PARTICIPANT_B,
         form=_fields(**{"decide-decision": "talk-group", "decide-option": "1",
                         "decide-reason": "One picture for all"})),
    Case("live.debrief_page", ENDED_B, **PARTICIPANT_B),
    Case("live.debrief_csv", ENDED_B, **PARTICIPANT_B),
    Case("live.debrief_pdf", ENDED_B, **PARTICIPANT_B),
]

# Endpoints whose parameters name no object of an organisation, and why.
NOT_OBJECTS = {
    "static": "the site's own static files",
    "auth.confirm_email": "a single-use token: a capability, checked by its signature",
    "auth.reset_password": "a single-use token: a capability, checked by its signature",
    "auth.first_administrator": "a single-use token: a capability, checked by its signature",
    "notifications.unsubscribe": "a signed token: a capability whoever holds the email has",
    "notifications.unsubscribe_confirmed": "a signed token: a capability, as above",
    "compliance.download": "the kind of download, one of four names",
    "compliance.decide_requirement": "a course, which everyone signed in may see; the "
                                     "organisation decided for is in the form, checked "
                                     "against the manager's scope (tests/web/"
                                     "test_requirement_acceptance_pages.py)",
    "imports.template": "the kind of import, one of two names",
    "imports.upload": "the kind of import, one of two names",
    "sso_admin.provider_edit": "a sign-in provider: a site-wide setting, administrators only",
    "sso_admin.link": "a sign-in provider: a site-wide setting, administrators only",
    "sso_admin.unlink": "a provider's link to an organisation: a site-wide setting, "
                        "administrators only",
}


def resolve(world: World, case: Case) -> dict[str, object]:
    """The case's URL values from the world's ids."""
    return {name: key[1:] if key.startswith("=") else world.ids[key]
            for name, key in case.values.items()}
