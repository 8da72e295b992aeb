"""Where a person stands on a required course (or period of exercise) on a date, and the
groups of those states a report may filter by. Each state is stored and written out as its
string ("in-date", ...) in the database, in reports and in exports."""

from __future__ import annotations

from jesip_learn.core.labelled import LabelledEnum


class ComplianceState(LabelledEnum):
    IN_DATE = "in-date", "In date"
    EXPIRING = "expiring", "Expiring"
    EXPIRED = "expired", "Expired"
    IN_PROGRESS = "in-progress", "In progress"
    NOT_STARTED = "not-started", "Not started"


STATES = tuple(ComplianceState)
STATE_LABELS = ComplianceState.labels()
COMPLIANT_STATES = (ComplianceState.IN_DATE, ComplianceState.EXPIRING)
# A filter may name one state or one of these groups of states.
STATE_GROUPS = {
    "compliant": COMPLIANT_STATES,
    "not-compliant": tuple(state for state in ComplianceState if state not in COMPLIANT_STATES),
}
STATE_FILTER_LABELS = {
    "compliant": "Compliant (in date or expiring)",
    "not-compliant": "Not compliant",
    **STATE_LABELS,
}
