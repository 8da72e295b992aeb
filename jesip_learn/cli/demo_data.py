"""Demo mode: invented people and training records, for trying the site out and for
benchmarks at realistic scale. Never for a production database.

`seed_demo` fills a database that already holds the reference organisations and published
courses with learners spread over police, fire and ambulance organisations and every
command role, a manager for a few organisations and a trainer, and three years of training
history: completions (with certificate codes) and item progress, so that every status a
report shows (in date, expiring, expired, in progress, not started) occurs for each
required course.

Everyone it creates has an address at `demo.example.org`, a domain reserved for examples
(RFC 2606), so no message can reach a real person, and that domain is how a later run
knows the database holds a demo already. Every demo account shares one password, hashed
once. Rows go in with bulk inserts, a few thousand people at a time, so a hundred thousand
learners take minutes.

The same seed gives the same people, organisations, roles, statuses and dates (relative to
`now`); certificate codes are always random, because they are what proves a certificate.
"""

from __future__ import annotations

import random
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, insert, select, update
from sqlalchemy.orm import Session

from jesip_learn.accounts import passwords
from jesip_learn.accounts.models import (
    CommandRole,
    Organisation,
    Permission,
    PermissionGrant,
    Service,
    User,
)
from jesip_learn.accounts.tokens import revoke_password_reset_links
from jesip_learn.compliance.report_filters import DEFAULT_EXPIRING_DAYS
from jesip_learn.compliance.requirements import requirement_lines
from jesip_learn.compliance.states import STATES, ComplianceState
from jesip_learn.core.columns import utcnow
from jesip_learn.courses.catalogue import FACILITATED_KINDS
from jesip_learn.courses.models import Course, CourseItem, CourseVersion
from jesip_learn.learning.models import Completion, ItemProgress
from jesip_learn.learning.progress import add_months, new_certificate_code
from jesip_learn.records.audit import record_event

DEMO_DOMAIN = "demo.example.org"
DEFAULT_SEED = 1
BATCH = 2000  # people per round of inserts
HISTORY_YEARS = 3
SERVICES = (Service.POLICE, Service.FIRE, Service.AMBULANCE)

SERVICE_WEIGHTS = {Service.POLICE: 45, Service.FIRE: 30, Service.AMBULANCE: 25}
ROLE_WEIGHTS = {
    CommandRole.OPERATIONAL: 30,
    CommandRole.TACTICAL: 12,
    CommandRole.STRATEGIC: 4,
    CommandRole.CONTROL_ROOM: 16,
    CommandRole.STAFF: 38,
}
STATE_WEIGHTS = {ComplianceState.IN_DATE: 56, ComplianceState.EXPIRING: 9,
                 ComplianceState.EXPIRED: 12, ComplianceState.IN_PROGRESS: 10,
                 ComplianceState.NOT_STARTED: 13}
MANAGED_PER_SERVICE = 3  # organisations given a demo manager, per service
DEACTIVATED_SHARE = 0.02  # people who have left, with their records kept
PENDING_SHARE = 0.005  # registrations waiting for a manager's approval
RENEWING_SHARE = 0.25  # of those expiring or expired, how many have started renewing
FIRST_PLAIN = 50  # the first people are ordinary active learners, so small demos show it all

FIRST_NAMES = (
    "Olivia", "Amelia", "Isla", "Ava", "Mia", "Ivy", "Lily", "Isabella", "Rosie", "Sophia",
    "Grace", "Freya", "Emily", "Ella", "Poppy", "Evie", "Charlotte", "Sienna", "Chloe",
    "Hannah", "Sarah", "Rachel", "Claire", "Joanne", "Nicola", "Emma", "Laura", "Gemma",
    "Rebecca", "Kirsty", "Siobhan", "Aisha", "Priya", "Fatima", "Zainab", "Ngozi", "Agnieszka",
    "Catrin", "Eilidh", "Niamh", "Noah", "Oliver", "George", "Arthur", "Muhammad", "Leo",
    "Harry", "Oscar", "Jack", "Thomas", "James", "William", "Daniel", "Matthew", "David",
    "Andrew", "Mark", "Paul", "Stephen", "Richard", "Christopher", "Michael", "Gareth", "Rhys",
    "Dafydd", "Callum", "Ewan", "Fraser", "Ciaran", "Declan", "Sean", "Ravi", "Arjun",
    "Imran", "Tariq", "Kwame", "Tomasz", "Marek", "Joseph", "Samuel", "Benjamin", "Luke",
)
SURNAMES = (
    "Smith", "Jones", "Williams", "Taylor", "Brown", "Davies", "Evans", "Wilson", "Thomas",
    "Johnson", "Roberts", "Robinson", "Thompson", "Wright", "Walker", "White", "Edwards",
    "Hughes", "Green", "Hall", "Lewis", "Harris", "Clarke", "Patel", "Jackson", "Wood",
    "Turner", "Martin", "Cooper", "Hill", "Ward", "Morris", "Moore", "Clark", "Lee", "King",
    "Baker", "Harrison", "Morgan", "Allen", "James", "Scott", "Phillips", "Watson", "Davis",
    "Parker", "Price", "Bennett", "Young", "Griffiths", "Mitchell", "Kelly", "Cook", "Carter",
    "Richardson", "Bailey", "Collins", "Bell", "Shaw", "Murphy", "Miller", "Cox", "Richards",
    "Khan", "Marshall", "Anderson", "Simpson", "Ellis", "Adams", "Singh", "Begum", "Wilkinson",
    "Foster", "Chapman", "Powell", "Webb", "Rogers", "Gray", "Mason", "Ali", "Hussain",
    "Campbell", "Matthews", "Owen", "Palmer", "Holmes", "Mills", "Barnes", "Knight", "Lloyd",
    "Butler", "Russell", "Barker", "Fisher", "Stevens", "Jenkins", "Murray", "Dixon",
    "Harvey", "Graham", "Pearson", "Ahmed", "Fletcher", "Walsh", "Kaur", "MacDonald",
    "Reid", "O'Brien", "O'Neill", "Okafor", "Mensah", "Nowak", "Kowalski", "Chen", "Nguyen",
    "Ferguson", "Stewart", "Fraser", "Doherty", "Quinn",
)


class DemoRefused(Exception):
    """The database is not ready for a demo, or already holds one; the message says why."""

    def __init__(self, message: str, *, already_seeded: bool = False):
        super().__init__(message)
        self.message = message
        self.already_seeded = already_seeded


@dataclass(frozen=True, slots=True)
class DemoAccount:
    email: str
    name: str
    organisation: str


@dataclass(frozen=True, slots=True)
class DemoSummary:
    learners: int
    completions: int
    progress_rows: int
    password: str
    managers: list[DemoAccount]
    trainer: DemoAccount | None


@dataclass(frozen=True, slots=True)
class _CoursePlan:
    course_id: int
    version_id: int
    validity_months: int | None
    items: tuple[str, ...]  # every item's slug, in order
    modules: int  # reading modules come first; in-progress learners are among them


@dataclass(frozen=True, slots=True)
class _OrganisationPlan:
    id: int
    name: str
    service: str


@dataclass(slots=True)
class _Person:
    user: dict
    completions: list[dict] = field(default_factory=list)
    progress: list[dict] = field(default_factory=list)


def demo_email_pattern() -> str:
    return f"%@{DEMO_DOMAIN}"


def demo_account_count(session: Session) -> int:
    return session.scalar(select(func.count()).select_from(User)
                          .where(User.email.like(demo_email_pattern()))) or 0


def seed_demo(session: Session, *, learners: int, seed: int = DEFAULT_SEED,
              add: bool = False, password: str | None = None, now: datetime | None = None,
              batch: int = BATCH,
              on_batch: Callable[[int, int], None] | None = None) -> DemoSummary:
    """Invent `learners` people with their training records; refuse (DemoRefused) when
    the reference organisations or published courses are missing, or when the database
    already holds a demo and `add` is not set. Adds and flushes; the caller commits."""
    if learners < 1:
        raise DemoRefused("Give a number of learners of 1 or more.")
    existing = demo_account_count(session)
    if existing and not add:
        raise DemoRefused(
            f"This database already holds a demo ({existing:,} invented accounts at "
            f"{DEMO_DOMAIN}). Seeding again would mix two sets of invented people: use --add "
            "to add more learners to it, or start from an empty database.",
            already_seeded=True)
    organisations = _organisations(session)
    course_plans = _course_plans(session)
    now = (now or utcnow()).replace(microsecond=0)
    password = password or new_demo_password()
    planner = _Planner(random.Random(f"jesip-demo:{seed}:{existing}"), now, organisations,
                       course_plans, requirement_lines(session),
                       passwords.hash_password(password), existing)

    completions = progress_rows = 0
    codes: set[str] = set()
    promotable: dict[int, int] = {}  # organisation id → a person who may manage it
    for start in range(0, learners, batch):
        people = [planner.person(index) for index in range(start, min(learners,
                                                                       start + batch))]
        ids = _insert_people(session, people)
        grants, completion_rows, item_rows = [], [], []
        for user_id, person in zip(ids, people, strict=True):
            grants.append({"user_id": user_id, "permission": str(Permission.LEARNER),
                           "organisation_id": None, "area_id": None,
                           "granted_at": person.user["created_at"]})
            for row in person.completions:
                row["user_id"] = user_id
                row["certificate_code"] = _unique_code(codes)
                completion_rows.append(row)
            for row in person.progress:
                row["user_id"] = user_id
                item_rows.append(row)
            if person.user["is_active"] and person.user["approved_at"] is not None:
                promotable.setdefault(person.user["organisation_id"], user_id)
        _insert(session, PermissionGrant, grants)
        _insert(session, Completion, completion_rows)
        _insert(session, ItemProgress, item_rows)
        completions += len(completion_rows)
        progress_rows += len(item_rows)
        if on_batch:
            on_batch(min(learners, start + batch), learners)

    if not add or not demo_staff(session, Permission.MANAGER):
        _promote_managers(session, planner.rng, organisations, promotable, now)
    if not add or not demo_staff(session, Permission.TRAINER):
        _promote_trainer(session, organisations, promotable, now)
    record_event(session, "demo.seeded",
                 summary=f"Demo data: {learners:,} invented learners added",
                 details={"learners": learners, "seed": seed, "completions": completions,
                          "progress_rows": progress_rows})
    session.flush()
    return DemoSummary(learners, completions, progress_rows, password,
                       demo_staff(session, Permission.MANAGER),
                       next(iter(demo_staff(session, Permission.TRAINER)), None))


def new_demo_password() -> str:
    """Four random words of 64 and a number (about 30 bits): easy to type from a terminal,
    and out of reach of guessing through the throttled sign-in form."""
    words = [secrets.choice(_PASSWORD_WORDS) for _ in range(4)]
    return "-".join(words) + f"-{secrets.randbelow(90) + 10}"


def set_demo_password(session: Session, password: str | None = None) -> tuple[str, int]:
    """Give every demo account a new password (one hash for all); signs them out."""
    password = password or new_demo_password()
    demo_accounts = User.email.like(demo_email_pattern())
    changed = session.execute(
        update(User).where(demo_accounts)
        .values(password_hash=passwords.hash_password(password),
                session_epoch=User.session_epoch + 1)
        .execution_options(synchronize_session=False)).rowcount
    revoke_password_reset_links(session, select(User.id).where(demo_accounts))
    return password, changed


_PASSWORD_WORDS = (
    "amber", "anchor", "basalt", "beacon", "bramble", "canal", "cedar", "cobalt", "copper",
    "dune", "ember", "falcon", "fern", "glacier", "granite", "harbour", "hazel", "heron",
    "juniper", "kestrel", "lantern", "linen", "maple", "meadow", "orchard", "otter", "pebble",
    "quarry", "raven", "saffron", "slate", "sorrel", "spruce", "tamarind", "thistle", "tundra",
    "velvet", "walnut", "willow", "yarrow", "acorn", "badger", "bluebell", "briar", "cinder",
    "clover", "coral", "driftwood", "estuary", "fjord", "garnet", "gorse", "heather", "indigo",
    "kelp", "larch", "marram", "nettle", "oakmoss", "pewter", "puffin", "rowan", "shingle",
    "teal",
)


# --- what is there to build on ------------------------------------------------------------


def _organisations(session: Session) -> list[_OrganisationPlan]:
    rows = session.execute(
        select(Organisation.id, Organisation.name, Organisation.service)
        .where(Organisation.is_active.is_(True),
               Organisation.service.in_([str(s) for s in SERVICES]))
        .order_by(Organisation.name)).all()
    found = {row.service for row in rows}
    missing = [s.label.lower() for s in SERVICES if str(s) not in found]
    if missing:
        kinds = " or ".join([", ".join(missing[:-1]), missing[-1]] if len(missing) > 1
                            else missing)
        raise DemoRefused(
            f"No {kinds} organisations yet. Load the reference list first: "
            "flask --app app organisations seed")
    return [_OrganisationPlan(row.id, row.name, row.service) for row in rows]


def _course_plans(session: Session) -> dict[int, _CoursePlan]:
    versions = session.execute(
        select(Course.id, CourseVersion.id, CourseVersion.validity_months)
        .join(CourseVersion, CourseVersion.id == Course.published_version_id)
        .order_by(Course.code)).all()
    if not versions:
        raise DemoRefused("No published courses yet. Import the shipped courses first: "
                          "flask --app app courses import courses")
    plans = {}
    for course_id, version_id, validity in versions:
        items = session.execute(select(CourseItem.slug, CourseItem.kind)
                                .where(CourseItem.version_id == version_id,
                                       CourseItem.kind.not_in(FACILITATED_KINDS))
                                .order_by(CourseItem.position)).all()
        if not items:
            continue
        modules = 0
        while modules < len(items) and items[modules].kind == "module":
            modules += 1
        plans[course_id] = _CoursePlan(course_id, version_id, validity,
                                       tuple(item.slug for item in items), max(1, modules))
    return plans


# --- inventing people ---------------------------------------------------------------------


class _Planner:
    """Invents one person at a time from a seeded random generator."""

    def __init__(self, rng: random.Random, now: datetime,
                 organisations: list[_OrganisationPlan], courses: dict[int, _CoursePlan],
                 lines, password_hash: str, numbered_from: int):
        self.rng = rng
        self.now = now
        self.courses = courses
        self.lines = [line for line in lines if line.course_id in courses]
        self.password_hash = password_hash
        self.numbered_from = numbered_from
        self.by_service = {str(s): [o for o in organisations if o.service == str(s)]
                           for s in SERVICES}
        # Organisations differ in size: a weight each, fixed by the seed.
        self.org_weights = {str(s): [rng.lognormvariate(0, 0.7) for _ in self.by_service[str(s)]]
                            for s in SERVICES}
        self.required: dict[tuple[int, str], list[_CoursePlan]] = {}
        self.assigned: dict[int, int] = dict.fromkeys(courses, 0)
        self.oldest = add_months(now, -12 * HISTORY_YEARS)

    def person(self, index: int) -> _Person:
        rng = self.rng
        if index < len(SERVICES) * len(CommandRole):  # every service with every role first
            service = str(SERVICES[index % len(SERVICES)])
            role = str(list(CommandRole)[index // len(SERVICES)])
        else:
            service = str(_weighted(rng, SERVICE_WEIGHTS))
            role = str(_weighted(rng, ROLE_WEIGHTS))
        organisation = rng.choices(self.by_service[service], self.org_weights[service])[0]
        first, last = rng.choice(FIRST_NAMES), rng.choice(SURNAMES)
        number = self.numbered_from + index + 1
        local = re.sub(r"[^a-z.-]", "", f"{first}.{last}".lower())
        user = {
            "email": f"{local}.{number}@{DEMO_DOMAIN}",
            "name": f"{first} {last}",
            "password_hash": self.password_hash,
            "organisation_id": organisation.id,
            "command_role": role,
            "is_active": True,
            "session_epoch": 0,
            "approved_by_id": None,
            "deactivated_at": None,
            "last_sign_in_at": None,
        }
        person = _Person(user)
        pending = index >= FIRST_PLAIN and rng.random() < PENDING_SHARE
        if pending:  # registered in the last fortnight, address confirmed, not yet approved
            created = self.now - timedelta(seconds=rng.randint(3600, 14 * 86400))
            user.update(created_at=created, email_confirmed_at=created + timedelta(minutes=7),
                        approved_at=None)
            return person
        for course in self._required(organisation, role):
            if self.assigned[course.course_id] < len(STATES):  # each status early on
                state = STATES[self.assigned[course.course_id]]
            else:
                state = _weighted(rng, STATE_WEIGHTS)
            self.assigned[course.course_id] += 1
            self._history(person, course, state)
        moments = [row["started_at"] for row in person.progress]
        moments += [row["completed_at"] for row in person.progress if row["completed_at"]]
        moments += [row["completed_at"] for row in person.completions]
        if moments:
            created = min(moments) - timedelta(seconds=rng.randint(86400, 120 * 86400))
            user["last_sign_in_at"] = max(moments)
        else:
            created = self.now - timedelta(seconds=rng.randint(86400, 365 * HISTORY_YEARS
                                                               * 86400))
        user.update(created_at=created, email_confirmed_at=created + timedelta(minutes=4),
                    approved_at=created + timedelta(minutes=5))
        if index >= FIRST_PLAIN and rng.random() < DEACTIVATED_SHARE:  # left since
            left = (user["last_sign_in_at"] or created) + timedelta(
                seconds=rng.randint(86400, 200 * 86400))
            if left < self.now - timedelta(days=1):
                user.update(is_active=False, deactivated_at=left)
        return person

    def _required(self, organisation: _OrganisationPlan, role: str) -> list[_CoursePlan]:
        key = (organisation.id, role)
        if key not in self.required:
            ids = sorted({line.course_id for line in self.lines
                          if line.service in (None, organisation.service)
                          and line.organisation_id in (None, organisation.id)
                          and line.command_role in (None, role)})
            self.required[key] = [self.courses[course_id] for course_id in ids]
        return self.required[key]

    def _history(self, person: _Person, course: _CoursePlan, state: str) -> None:
        rng, now = self.rng, self.now
        if state == ComplianceState.NOT_STARTED:
            return
        if state == ComplianceState.IN_PROGRESS:
            began = now - _days(rng, 1, 300)
            self._items(person, course, began, now - timedelta(hours=1), partial=True)
            return
        latest = self._completed_at(course, state)
        self._complete(person, course, latest)
        self._items(person, course, latest - _days(rng, 0.05, 21), latest)
        # Earlier completions, each renewed near the end of the one before.
        months = course.validity_months
        previous = latest
        while months and rng.random() < 0.8:
            # Renewed up to 85 days before the earlier one ran out, or up to 60 days late.
            previous = add_months(previous + _days(rng, -60, 85), -months)
            if previous < self.oldest:
                break
            self._complete(person, course, previous)
        if (state in (ComplianceState.EXPIRING, ComplianceState.EXPIRED)
                and rng.random() < RENEWING_SHARE):
            expires = add_months(latest, months) if months else now
            window = max(latest, expires - timedelta(days=DEFAULT_EXPIRING_DAYS),
                         now - timedelta(days=365))
            if window < now - timedelta(days=2):
                began = window + (now - window) * rng.uniform(0.1, 0.9)
                self._items(person, course, began, now - timedelta(hours=1), partial=True)

    def _completed_at(self, course: _CoursePlan, state: str) -> datetime:
        """A completion moment that gives `state` today, for the course's validity. The
        margins allow for the report's day ending after `now`, and for a month end moving
        an expiry back by up to three days (31 May less a year and a quarter is 28 Feb)."""
        rng, now, months = self.rng, self.now, course.validity_months
        # Completed, and still in date for 96 days.
        if not months or state == ComplianceState.IN_DATE:
            longest = ((add_months(now, months) - now).days - DEFAULT_EXPIRING_DAYS - 6
                       if months else 365 * HISTORY_YEARS)
            return now - _days(rng, 1, max(2, longest))
        if state == ComplianceState.EXPIRING:
            expires = now + _days(rng, 5, DEFAULT_EXPIRING_DAYS - 5)
        else:
            expires = now - _days(rng, 2, 730)
        return add_months(expires, -months)

    def _complete(self, person: _Person, course: _CoursePlan, when: datetime) -> None:
        months = course.validity_months
        person.completions.append({
            "course_id": course.course_id, "version_id": course.version_id,
            "completed_at": when, "expires_at": add_months(when, months) if months else None,
            "certificate_code": None, "source": "", "recorded_by_id": None,
        })

    def _items(self, person: _Person, course: _CoursePlan, began: datetime, ended: datetime,
               *, partial: bool = False) -> None:
        """Progress rows from `began` to `ended`: every item for a completion, or the first
        few modules, the last of them perhaps unfinished, for a course under way. A
        renewal replaces the rows of the items it has reached."""
        if partial:
            reached = self.rng.randint(1, course.modules)
            finished_last = self.rng.random() < 0.3
        else:
            reached, finished_last = len(course.items), True
        span = (ended - began) / (reached + 1 if partial else reached)
        rows = {row["item_slug"]: row for row in person.progress
                if row["course_id"] == course.course_id}
        for position, slug in enumerate(course.items[:reached]):
            started = began + span * position
            done = position < reached - 1 or finished_last
            rows[slug] = {"course_id": course.course_id, "item_slug": slug,
                          "started_at": started.replace(microsecond=0),
                          "completed_at": (started + span * 0.9).replace(microsecond=0)
                          if done else None,
                          "completed_version_id": course.version_id if done else None}
        person.progress = [row for row in person.progress
                           if row["course_id"] != course.course_id] + list(rows.values())


def _weighted(rng: random.Random, weights: dict):
    return rng.choices(list(weights), list(weights.values()))[0]


def _days(rng: random.Random, low: float, high: float) -> timedelta:
    return timedelta(seconds=rng.randint(int(low * 86400), int(high * 86400)))


# --- writing ------------------------------------------------------------------------------


def _insert_people(session: Session, people: list[_Person]) -> list[int]:
    """Insert the users and return their new ids, in the order given."""
    table = User.__table__
    result = session.execute(
        insert(table).returning(table.c.id, sort_by_parameter_order=True),
        [person.user for person in people])
    return [row.id for row in result]


def _insert(session: Session, model, rows: list[dict]) -> None:
    if rows:
        session.execute(insert(model.__table__), rows)


def _unique_code(issued: set[str]) -> str:
    """A new certificate code, never one this run has issued already (with a million
    codes of 50 bits a repeat is unlikely, but the column is unique)."""
    while True:
        code = new_certificate_code()
        if code not in issued:
            issued.add(code)
            return code


def demo_staff(session: Session, permission: Permission) -> list[DemoAccount]:
    rows = session.execute(
        select(User.email, User.name, Organisation.name)
        .join(PermissionGrant, PermissionGrant.user_id == User.id)
        .join(Organisation, Organisation.id == func.coalesce(PermissionGrant.organisation_id,
                                                             User.organisation_id))
        .where(PermissionGrant.permission == str(permission),
               User.email.like(demo_email_pattern()))
        .order_by(Organisation.name, User.id)).all()
    return [DemoAccount(*row) for row in rows]


def _promote_managers(session: Session, rng: random.Random,
                      organisations: list[_OrganisationPlan], promotable: dict[int, int],
                      now: datetime) -> None:
    """A manager for a few organisations of each service, chosen among their people."""
    grants = []
    for service in SERVICES:
        candidates = [o for o in organisations
                      if o.service == str(service) and o.id in promotable]
        for organisation in rng.sample(candidates, min(MANAGED_PER_SERVICE, len(candidates))):
            grants.append({"user_id": promotable[organisation.id],
                           "permission": str(Permission.MANAGER),
                           "organisation_id": organisation.id, "area_id": None,
                           "granted_at": now})
    _insert(session, PermissionGrant, grants)


def _promote_trainer(session: Session, organisations: list[_OrganisationPlan],
                     promotable: dict[int, int], now: datetime) -> None:
    managers = {account.email for account in demo_staff(session, Permission.MANAGER)}
    for organisation in organisations:
        user_id = promotable.get(organisation.id)
        if user_id is None:
            continue
        email = session.scalar(select(User.email).where(User.id == user_id))
        if email in managers:
            continue
        _insert(session, PermissionGrant, [{
            "user_id": user_id, "permission": str(Permission.TRAINER),
            "organisation_id": None, "area_id": None, "granted_at": now}])
        return
