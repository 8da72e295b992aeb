"""Dates in import files, and what they say about when each person counts in the reports.

A person counts in the compliance reports while they belong to an organisation: from when
they joined it (`User.joined_at`, or the start of a previous membership) until they left
(`User.deactivated_at`). An organisation that starts using JESIP Learn brings that history:

- The people import's optional **joined** column: for a new person, or one who has never
  moved, the day they joined their organisation. It is then "stated": imported completions no
  longer move it. For a row that moves the person to another organisation, the day of the
  move (not before they joined the one they leave). For someone who moved here earlier, it
  can only repeat the day of that move.
- Its optional **left** column: the person's last day. The account is deactivated from the
  start of the next day, so reports up to that day still count them; a new account is made
  deactivated, and no email is sent to it.
- Without a joined date, a person counts from when their account was made, or from the day
  of their earliest imported completion when that is earlier: the completions import moves
  the start of their first membership back to it.

Days are UK days: someone who joined on 1 April counts in a report as of 1 April.
"""

from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from jesip_learn.accounts.models import PreviousMembership, User
from jesip_learn.accounts.transfers import backdate_first_membership
from jesip_learn.compliance.report_filters import LONDON, start_of_day
from jesip_learn.records.audit import record_event

if TYPE_CHECKING:
    from jesip_learn.imports.models import ImportBatch
    from jesip_learn.imports.plan import RowPlan

# Joined dates go further back than any completion: people serve for decades.
EARLIEST_JOINED = date(1950, 1, 1)
CHUNK = 500  # values per IN (...) list


def read_day(text: str, today: date, what: str, earliest: date) -> date:
    """A date written YYYY-MM-DD or DD/MM/YYYY, from `earliest` to today; ValueError naming
    `what` (such as "completion date") otherwise."""
    text = text.strip()
    iso = re.fullmatch(r"(\d{4})-(\d{1,2})-(\d{1,2})", text)
    british = re.fullmatch(r"(\d{1,2})/(\d{1,2})/(\d{4})", text)
    if iso:
        year, month, day = (int(part) for part in iso.groups())
    elif british:
        day, month, year = (int(part) for part in british.groups())
    else:
        raise ValueError(f"“{text}” is not a date: write it as YYYY-MM-DD or DD/MM/YYYY")
    try:
        value = date(year, month, day)
    except ValueError:
        raise ValueError(f"“{text}” is not a real date") from None
    if value > today:
        raise ValueError(f"The {what} {long_date(value)} is in the future")
    if value < earliest:
        raise ValueError(f"The {what} {long_date(value)} is too early: it must be "
                         f"{long_date(earliest)} or later")
    return value


def long_date(day: date) -> str:
    return f"{day.day} {day:%B %Y}"


def day_of(moment: datetime) -> date:
    """The UK day a moment falls on."""
    return moment.astimezone(LONDON).date()


def leaving_moment(last_day: date) -> datetime:
    """When the account of someone whose last day this was ends: the next day's start."""
    return start_of_day(last_day + timedelta(days=1))


def last_day(deactivated_at: datetime) -> date:
    return day_of(deactivated_at - timedelta(microseconds=1))


# --- the people import -------------------------------------------------------------------


def read_dates(plan: RowPlan, today: date) -> None:
    """The row's joined and left dates, each checked on its own and against the other."""
    for key, what, attribute in (("joined", "joined date", "joined_on"),
                                 ("left", "leaving date", "left_on")):
        if plan.values.get(key):
            try:
                setattr(plan, attribute, read_day(plan.values[key], today, what,
                                                  EARLIEST_JOINED))
            except ValueError as error:
                plan.errors.append(str(error))
    if plan.joined_on and plan.left_on and plan.left_on < plan.joined_on:
        plan.errors.append(f"The leaving date {long_date(plan.left_on)} is before the joined "
                           f"date {long_date(plan.joined_on)}")


def check_dates(session: Session, plan: RowPlan, importer: User) -> None:
    """The dates against the person's record: they cannot rewrite a move already made, nor
    have someone leave before they joined."""
    user = plan.user
    if user is None:
        return
    if plan.left_on and user.id == importer.id:
        plan.errors.append("You cannot record yourself as having left: another administrator "
                           "or manager must do it")
    joined = day_of(user.joined_at)
    if plan.organisation.id != user.organisation_id:  # the row moves them
        if plan.joined_on and start_of_day(plan.joined_on) < user.joined_at:
            plan.errors.append(
                f"The joined date {long_date(plan.joined_on)} is before this person joined "
                f"{user.organisation.name} on {long_date(joined)}: the move to "
                f"{plan.organisation.name} must come after that")
        if plan.left_on and not plan.joined_on:
            plan.errors.append(f"To record that this person left {plan.organisation.name}, "
                               "also give the date they joined it")
        return
    if plan.joined_on and plan.joined_on != joined and _has_moved(session, user):
        plan.errors.append(
            f"This person moved to {user.organisation.name} on {long_date(joined)}: leave "
            f"the joined date empty or write {joined.isoformat()}")
    if plan.left_on and not plan.joined_on and leaving_moment(plan.left_on) <= user.joined_at:
        plan.errors.append(
            f"The leaving date {long_date(plan.left_on)} is before this person joined "
            f"{user.organisation.name} on {long_date(joined)}: give the date they joined in "
            "the joined column")


def _has_moved(session: Session, user: User) -> bool:
    return session.scalar(select(func.count()).select_from(PreviousMembership)
                          .where(PreviousMembership.user_id == user.id)) > 0


def new_person_changes(plan: RowPlan) -> list[str]:
    """What the dates of a row that creates an account mean, in words."""
    changes = []
    if plan.joined_on:
        changes.append(f"Joined on {long_date(plan.joined_on)}")
    if plan.left_on:
        changes.append(f"Last day {long_date(plan.left_on)}: the account is made "
                       "deactivated and no email is sent")
        if not plan.joined_on:
            changes.append("Without a joined date, they count in reports only from their "
                           "earliest imported completion")
    return changes


def changes(session: Session, plan: RowPlan) -> list[str]:
    """What the dates of a row for someone with an account change, in words."""
    user, found = plan.user, []
    if plan.organisation.id != user.organisation_id:
        if plan.joined_on:
            found.append(f"Moves on {long_date(plan.joined_on)}")
    elif plan.joined_on:
        joined = day_of(user.joined_at)
        if joined != plan.joined_on:
            found.append(f"Joined: {long_date(joined)} → {long_date(plan.joined_on)}")
        elif not user.joined_stated and not _has_moved(session, user):
            found.append(f"Joined on {long_date(plan.joined_on)}, as stated here")
    if plan.left_on:
        if user.is_active:
            found.append(f"Last day {long_date(plan.left_on)}: the account will be "
                         "deactivated")
        elif user.deactivated_at is None or last_day(user.deactivated_at) != plan.left_on:
            before = (long_date(last_day(user.deactivated_at)) if user.deactivated_at
                      else "not recorded")
            found.append(f"Last day: {before} → {long_date(plan.left_on)}")
    return found


def new_account_dates(plan: RowPlan) -> dict:
    """The columns of a new account that its row's dates set."""
    values = {}
    if plan.joined_on:
        values.update(joined_at=start_of_day(plan.joined_on), joined_stated=True)
    if plan.left_on:
        values.update(is_active=False, deactivated_at=leaving_moment(plan.left_on))
    return values


def move_moment(plan: RowPlan) -> datetime | None:
    """When a row that moves someone moves them: the day they joined, or now."""
    return start_of_day(plan.joined_on) if plan.joined_on else None


def apply_dates(session: Session, plan: RowPlan, user: User, *, moved: bool) -> None:
    """Set the joined and left dates of an existing account, after any move the row made
    (whose day the joined date was)."""
    if plan.joined_on and not moved and not _has_moved(session, user):
        user.joined_at, user.joined_stated = start_of_day(plan.joined_on), True
    if plan.left_on:
        if user.is_active:
            user.session_epoch += 1  # signed out everywhere, as a deactivation does
        user.is_active, user.deactivated_at = False, leaving_moment(plan.left_on)


# --- the completions import --------------------------------------------------------------


def plan_backdating(session: Session, new_completions: list[RowPlan]) -> None:
    """For each person whose first membership started after their earliest new completion,
    and whose joined date nobody stated, mark that completion's row: applying it moves the
    start back to that day (`RowPlan.counts_from`)."""
    earliest: dict[int, RowPlan] = {}
    for plan in new_completions:
        if plan.user.joined_stated:
            continue
        known = earliest.get(plan.user.id)
        if known is None or plan.completed_on < known.completed_on:
            earliest[plan.user.id] = plan
    starts = _first_membership_starts(session, list(earliest.values()))
    for user_id, plan in earliest.items():
        start = starts[user_id]
        at = start_of_day(plan.completed_on)
        if at < start:
            plan.counts_from = at
            plan.changes.append(f"Counts in reports from {long_date(plan.completed_on)}, the "
                                f"day of this completion, instead of {long_date(day_of(start))}")


def _first_membership_starts(session: Session, plans: list[RowPlan]) -> dict[int, datetime]:
    """Each person's first membership start: of their earliest previous membership, if they
    have moved, else of their current one."""
    starts = {plan.user.id: plan.user.joined_at for plan in plans}
    ids = sorted(starts)
    for first in range(0, len(ids), CHUNK):
        for user_id, started in session.execute(
                select(PreviousMembership.user_id, func.min(PreviousMembership.started_at))
                .where(PreviousMembership.user_id.in_(ids[first:first + CHUNK]))
                .group_by(PreviousMembership.user_id)):
            starts[user_id] = started
    return starts


def apply_backdating(session: Session, plan: RowPlan, importer: User, batch: ImportBatch,
                     address: str) -> None:
    user = plan.user
    before = day_of(user.joined_at)
    if backdate_first_membership(session, user, plan.counts_from):
        record_event(session, "account.updated", actor=importer, subject=user, address=address,
                     summary=f"Counted in reports from {long_date(plan.completed_on)}, the day "
                             "of their earliest imported completion",
                     details={"counts_from": plan.counts_from.isoformat(),
                              "current_membership_from": before.isoformat(),
                              "batch": batch.id})
