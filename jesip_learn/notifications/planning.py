"""Which notices are due on a day, and what each says.

Due dates come from `compliance.person_status.due_dates`, so the rules for when training runs
out live in one place. For each person and required course with a due date:

- before it: a reminder when the days left first fall within a threshold (90, 30, 7 by
  default). Only the nearest threshold reached is sent: someone who joins 20 days before
  their training runs out gets the 30-day reminder, not the 90-day one too;
- on the day, and each month after while it is overdue: an overdue notice. Only the
  current month's is sent, never a backlog.

Each notice's period names the due date as well as the threshold, so a renewal (a new due
date) starts the reminders again. Managers get a digest each week or month for their scope;
managers' scheduled reports go each week or month. Nobody deactivated gets anything, and
learners' preferences are honoured, but overdue training always appears in the manager's
digest.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import Organisation, Permission, PermissionGrant, User
from jesip_learn.accounts.permissions import managed_organisation_ids
from jesip_learn.compliance.person_status import DueDate, due_dates
from jesip_learn.compliance.report_filters import LONDON, ReportFilters, end_of_day
from jesip_learn.compliance.requirements import exercise_column
from jesip_learn.compliance.states import COMPLIANT_STATES
from jesip_learn.courses.models import Course
from jesip_learn.learning.progress import add_months
from jesip_learn.notifications import messages, notices, reports
from jesip_learn.notifications.models import NotificationPreference, ReportSubscription
from jesip_learn.notifications.notices import NoticeDraft
from jesip_learn.notifications.preferences import UnsubscribeRequest, unsubscribe_token
from jesip_learn.notifications.settings import NotificationSettings

PREFERENCES_PATH = "/account/notifications"
DIGEST_LIST_LIMIT = 50  # names per section of a digest; the dashboard has the rest


def london_day(moment: datetime) -> date:
    return moment.astimezone(LONDON).date()


# --- learners ------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LearnerNotice:
    kind: str  # "reminder" or "overdue"
    user_id: int
    course_id: int
    due_day: date
    days_left: int  # negative once overdue
    threshold: int | None  # the reminder's days before
    months_overdue: int | None  # 0 on the day and in the first month

    @property
    def subject_key(self) -> str:
        if self.course_id < 0:
            return f"exercise:{-self.course_id}"
        return f"course:{self.course_id}"

    @property
    def period(self) -> str:
        step = f"{self.threshold}d" if self.kind == "reminder" else f"overdue-{self.months_overdue}"
        return f"{self.due_day.isoformat()}/{step}"

    @property
    def key(self) -> tuple[int, str, str, str]:
        return (self.user_id, self.kind, self.subject_key, self.period)


def learner_notice(due: DueDate, today: date, settings: NotificationSettings
                   ) -> LearnerNotice | None:
    """The notice this due date calls for today, if any."""
    if due.due_at is None:
        return None
    due_day = london_day(due.due_at)
    days_left = (due_day - today).days
    if days_left > 0:
        reached = [days for days in settings.reminder_days if days_left <= days]
        if not reached:
            return None
        return LearnerNotice("reminder", due.user_id, due.course_id, due_day, days_left,
                             min(reached), None)
    months = 0
    while add_months(due_day, (months + 1) * settings.overdue_repeat_months) <= today:
        months += 1
    return LearnerNotice("overdue", due.user_id, due.course_id, due_day, days_left, None,
                         months)


def learner_notices(session: Session, settings: NotificationSettings, today: date
                    ) -> list[LearnerNotice]:
    """Every learner notice due today for active people, as their preferences allow."""
    filters = ReportFilters(as_of=today, expiring_days=settings.expiring_days)
    due = [notice for notice in (learner_notice(row, today, settings)
                                 for row in due_dates(session, None, filters))
           if notice is not None]
    if not due:
        return []
    user_ids = sorted({notice.user_id for notice in due})
    active = _active_user_ids(session, user_ids)
    turned_off = _turned_off(session, user_ids)
    return [notice for notice in due
            if notice.user_id in active and (notice.user_id, notice.kind) not in turned_off]


def _active_user_ids(session: Session, user_ids: list[int]) -> set[int]:
    active = set()
    for start in range(0, len(user_ids), 500):
        active.update(session.scalars(select(User.id).where(
            User.id.in_(user_ids[start:start + 500]), User.is_active.is_(True),
            User.email_confirmed_at.is_not(None))))
    return active


def _turned_off(session: Session, user_ids: list[int]) -> set[tuple[int, str]]:
    """(user id, kind) for each kind of learner email a person has turned off."""
    off = set()
    for start in range(0, len(user_ids), 500):
        for preference in session.scalars(select(NotificationPreference).where(
                NotificationPreference.user_id.in_(user_ids[start:start + 500]))):
            if not preference.expiry_reminders:
                off.add((preference.user_id, "reminder"))
            if not preference.overdue_notices:
                off.add((preference.user_id, "overdue"))
    return off


def learner_draft(session: Session, settings: NotificationSettings,
                  notice: LearnerNotice) -> NoticeDraft:
    user = session.get(User, notice.user_id)
    title, code, link, course_id = _subject(session, settings, notice.course_id)
    token = unsubscribe_token(settings.secret_key, UnsubscribeRequest(user.id, notice.kind))
    context = {
        "name": user.name, "course_title": title, "course_code": code,
        "is_exercise": notice.course_id < 0,
        "due_day": notice.due_day, "days_left": notice.days_left,
        "months_overdue": notice.months_overdue,
        "course_link": link,
        "preferences_link": settings.link(PREFERENCES_PATH),
        "unsubscribe_link": settings.link(f"/unsubscribe/{token}"),
    }
    if notice.kind == "reminder":
        subject = (f"{title}: your training runs out on "
                   f"{messages.long_date(notice.due_day)}")
    elif notice.days_left == 0:
        subject = f"{title}: your training runs out today"
    else:
        subject = f"{title}: your training is overdue"
    mail = messages.render(notice.kind, subject, **context)
    return NoticeDraft(user.id, notice.kind, notice.subject_key, notice.period, user.email,
                       mail.subject, mail.text, mail.html, course_id=course_id)


def _subject(session: Session, settings: NotificationSettings, column_id: int
             ) -> tuple[str, str, str, int | None]:
    """Title, code, link and course id of what a notice is about: a course, or an exercise
    column (negative id), whose link is the learner's own training record."""
    if column_id < 0:
        column = exercise_column(-column_id)
        return column.title, column.code, settings.link("/learn"), None
    course = session.get(Course, column_id)
    return course.title, course.code, settings.link(f"/learn/{course.code}"), course.id


# --- managers' digests ---------------------------------------------------------------------


def period_key(frequency: str, today: date) -> str:
    """'2027-W14' for a weekly digest or report, '2027-04' for a monthly one."""
    if frequency == "monthly":
        return f"{today:%Y-%m}"
    year, week, _ = today.isocalendar()
    return f"{year}-W{week:02d}"


def period_start(frequency: str, today: date) -> date:
    """The day before the period that ends today began: where a first digest looks back to."""
    return add_months(today, -1) if frequency == "monthly" else today - timedelta(days=7)


@dataclass(frozen=True, slots=True)
class DigestLine:
    name: str
    organisation: str
    course: str
    day: date


@dataclass(frozen=True, slots=True)
class DigestFigures:
    since: datetime
    became_overdue: list[DigestLine] = field(default_factory=list)
    expiring_soon: list[DigestLine] = field(default_factory=list)
    completed: list[DigestLine] = field(default_factory=list)
    compliant: int = 0
    total: int = 0
    previous_percent: float | None = None

    @property
    def percent(self) -> float | None:
        return round(100 * self.compliant / self.total, 1) if self.total else None

    @property
    def change(self) -> float | None:
        if self.percent is None or self.previous_percent is None:
            return None
        return round(self.percent - self.previous_percent, 1)


def digest_figures(session: Session, scope: set[int] | None, settings: NotificationSettings,
                   since: datetime, now: datetime, previous_percent: float | None
                   ) -> DigestFigures:
    """What a manager's digest reports for their scope, since the previous digest:
    - became overdue: training whose due day fell after the previous digest's day, up to
      today (by day, so each due day is in exactly one digest);
    - expiring soon: due within the next `digest_expiring_days` days;
    - completed: required training completed after the previous digest;
    - the share compliant today, as the dashboard counts it."""
    today = london_day(now)
    since_day = london_day(since)
    horizon = today + timedelta(days=settings.digest_expiring_days)
    filters = ReportFilters(as_of=today, expiring_days=settings.expiring_days)
    overdue, expiring, completed = [], [], []
    compliant = total = 0
    for due in due_dates(session, scope, filters):
        total += 1
        compliant += due.state in COMPLIANT_STATES
        if due.completed_at is not None and since < due.completed_at <= now:
            completed.append((due, london_day(due.completed_at)))
        if due.due_at is None:
            continue
        due_day = london_day(due.due_at)
        if since_day < due_day <= today:
            overdue.append((due, due_day))
        elif today < due_day <= horizon:
            expiring.append((due, due_day))
    names = _names(session, [due for due, _ in overdue + expiring + completed])
    return DigestFigures(
        since=since, became_overdue=_lines(overdue, names), expiring_soon=_lines(expiring, names),
        completed=_lines(completed, names), compliant=compliant, total=total,
        previous_percent=previous_percent)


def _names(session: Session, rows: Iterable[DueDate]) -> dict:
    rows = list(rows)
    user_ids = sorted({row.user_id for row in rows})
    people = {}
    for start in range(0, len(user_ids), 500):
        people.update((user_id, (name, organisation)) for user_id, name, organisation in
                      session.execute(select(User.id, User.name, Organisation.name)
                                      .join(Organisation, Organisation.id == User.organisation_id)
                                      .where(User.id.in_(user_ids[start:start + 500]))))
    column_ids = sorted({row.course_id for row in rows})
    courses = {course.id: f"{course.code}: {course.title}" for course in
               session.scalars(select(Course).where(Course.id.in_(
                   [column_id for column_id in column_ids if column_id > 0])))}
    for column_id in (column_id for column_id in column_ids if column_id < 0):
        column = exercise_column(-column_id)
        courses[column_id] = f"{column.code}: {column.title}"
    return {"people": people, "courses": courses}


def _lines(rows: list[tuple[DueDate, date]], names: dict) -> list[DigestLine]:
    lines = [DigestLine(*names["people"][due.user_id], names["courses"][due.course_id], day)
             for due, day in rows]
    return sorted(lines, key=lambda line: (line.day, line.organisation, line.name, line.course))


def managers(session: Session) -> list[User]:
    """Active people with the manager permission."""
    return list(session.scalars(
        select(User).join(PermissionGrant, PermissionGrant.user_id == User.id)
        .where(PermissionGrant.permission == Permission.MANAGER, User.is_active.is_(True),
               User.approved_at.is_not(None), User.email_confirmed_at.is_not(None))
        .order_by(User.id)))


DIGEST_OFF = "off"


def digest_frequency(session: Session, settings: NotificationSettings, user: User) -> str:
    """"weekly", "monthly", or "off" when the manager turned the digest off."""
    preference = session.get(NotificationPreference, user.id)
    return (preference.digest_frequency if preference and preference.digest_frequency
            else settings.digest_frequency)


def digest_draft(session: Session, settings: NotificationSettings, manager: User,
                 now: datetime) -> NoticeDraft | None:
    """This period's digest for the manager, or None when it is recorded already."""
    today = london_day(now)
    frequency = digest_frequency(session, settings, manager)
    period = period_key(frequency, today)
    if notices.recorded_keys(session, [(manager.id, "digest", "scope", period)]):
        return None
    previous = notices.latest(session, manager.id, "digest", "scope")
    since = (previous.created_at if previous else
             end_of_day(period_start(frequency, today)))
    figures = digest_figures(session, managed_organisation_ids(session, manager), settings,
                             since, now, previous.details.get("percent") if previous else None)
    subject = (f"Training compliance {'this week' if frequency == 'weekly' else 'this month'}:"
               f" {_percent_text(figures.percent)} compliant")
    mail = messages.render(
        "digest", subject, name=manager.name, figures=figures, today=today,
        since_day=london_day(since), limit=DIGEST_LIST_LIMIT,
        expiring_days=settings.digest_expiring_days,
        dashboard_link=settings.link("/manage/compliance"),
        preferences_link=settings.link(PREFERENCES_PATH))
    return NoticeDraft(manager.id, "digest", "scope", period, manager.email, mail.subject,
                       mail.text, mail.html, details={"percent": figures.percent})


def _percent_text(percent: float | None) -> str:
    return "nobody required" if percent is None else f"{percent:g}%"


# --- scheduled reports ---------------------------------------------------------------------


def report_drafts(session: Session, settings: NotificationSettings, now: datetime
                  ) -> Iterator[NoticeDraft]:
    """This period's email of each scheduled report not yet recorded, for people who may
    still see the dashboard. The attachment is made when it is sent."""
    today = london_day(now)
    for subscription in session.scalars(
            select(ReportSubscription).join(User, User.id == ReportSubscription.user_id)
            .where(User.is_active.is_(True)).order_by(ReportSubscription.id)):
        user = subscription.user
        if not reports.may_subscribe(user):
            continue
        period = period_key(subscription.frequency, today)
        subject_key = f"report:{subscription.id}"
        if notices.recorded_keys(session, [(user.id, "report", subject_key, period)]):
            continue
        token = unsubscribe_token(settings.secret_key,
                                  UnsubscribeRequest(user.id, "report", subscription.id))
        described = reports.describe_filters(session, user, subscription)
        mail = messages.render(
            "report", f"{subscription.name}: training compliance report",
            name=user.name, report_name=subscription.name, today=today,
            file_format=subscription.file_format.upper(), filters=described,
            frequency=subscription.frequency,
            dashboard_link=settings.link("/manage/compliance"
                                         + (f"?{subscription.filters}"
                                            if subscription.filters else "")),
            subscriptions_link=settings.link("/manage/subscriptions"),
            unsubscribe_link=settings.link(f"/unsubscribe/{token}"))
        yield NoticeDraft(user.id, "report", subject_key, period, user.email, mail.subject,
                          mail.text, mail.html, subscription_id=subscription.id,
                          details={"as_of": today.isoformat()})


# --- everything ----------------------------------------------------------------------------


def due_drafts(session: Session, settings: NotificationSettings, now: datetime
               ) -> Iterator[NoticeDraft]:
    """Every notice due now that is not recorded yet, written out."""
    today = london_day(now)
    learner_due = learner_notices(session, settings, today)
    recorded = notices.recorded_keys(session, (notice.key for notice in learner_due))
    for notice in learner_due:
        if notice.key not in recorded:
            yield learner_draft(session, settings, notice)
    for manager in managers(session):
        if digest_frequency(session, settings, manager) == DIGEST_OFF:
            continue  # the manager turned it off: they look at the dashboard instead
        draft = digest_draft(session, settings, manager, now)
        if draft is not None:
            yield draft
    yield from report_drafts(session, settings, now)
