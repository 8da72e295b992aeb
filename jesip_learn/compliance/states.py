"""The compliance states (`learning.course_states.ComplianceState`: where a person stands on
a required course, or period of exercise, on a date), their labels, and the groups of them
a report may filter by. Each state is written out as its string ("in-date", ...)."""

from __future__ import annotations

from jesip_learn.learning.course_states import ComplianceState

__all__ = ["COMPLIANT_STATES", "ComplianceState", "STATES", "STATE_FILTER_LABELS",
           "STATE_GROUPS", "STATE_LABELS"]


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
