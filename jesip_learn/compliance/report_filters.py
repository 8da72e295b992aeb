"""What a compliance report covers (the as-of date, the people and courses, a state or a
group of states, how rows are grouped, the expiring window), and the UK days it counts in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from jesip_learn.accounts.models import CommandRole, Service
from jesip_learn.compliance.states import STATE_FILTER_LABELS, STATE_GROUPS

LONDON = ZoneInfo("Europe/London")
DEFAULT_EXPIRING_DAYS = 90

GROUPINGS = {"organisation": "Organisation", "command-role": "Command role"}


def end_of_day(day: date) -> datetime:
    """The last moment of a day in the UK, in UTC: "as of 31 March" includes all of it."""
    next_midnight = datetime.combine(day + timedelta(days=1), time(0), tzinfo=LONDON)
    return (next_midnight - timedelta(microseconds=1)).astimezone(UTC)


def start_of_day(day: date) -> datetime:
    """The first moment of a day in the UK, in UTC: someone who joined on 1 April counts in
    a report as of 1 April."""
    return datetime.combine(day, time(0), tzinfo=LONDON).astimezone(UTC)


def today_in_london(now: datetime | None = None) -> date:
    return (now or datetime.now(UTC)).astimezone(LONDON).date()


@dataclass(frozen=True, slots=True)
class ReportFilters:
    """What a report covers. Empty fields mean "all"."""

    as_of: date
    service: str | None = None
    organisation_id: int | None = None
    command_role: str | None = None
    course_id: int | None = None
    # The columns a manager chose to see (empty: every required course); the totals and
    # the figures over time count these courses only.
    course_ids: tuple[int, ...] = ()
    state: str | None = None  # a state or a group in STATE_GROUPS
    group_by: str = "organisation"
    expiring_days: int = DEFAULT_EXPIRING_DAYS
    user_id: int | None = None  # one person's record

    @property
    def moment(self) -> datetime:
        return end_of_day(self.as_of)

    @property
    def states(self) -> tuple[str, ...]:
        if not self.state:
            return ()
        return STATE_GROUPS.get(self.state, (self.state,))

    def check(self) -> ReportFilters:
        """The same filters, or ValueError naming the first one that is not a choice."""
        if self.service and self.service not in set(Service):
            raise ValueError("service")
        if self.command_role and self.command_role not in set(CommandRole):
            raise ValueError("command_role")
        if self.state and self.state not in STATE_FILTER_LABELS:
            raise ValueError("state")
        if self.group_by not in GROUPINGS:
            raise ValueError("group_by")
        if not 1 <= self.expiring_days <= 366:
            raise ValueError("expiring_days")
        return self
