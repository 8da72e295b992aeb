"""Where a person stands on a course on a date: what the learner's own page shows, and what
compliance counts for every required course (`compliance.states` builds its groups and
filters from it). Each state is stored and written out as its string ("in-date", ...)."""

from __future__ import annotations

from jesip_learn.core.labelled import LabelledEnum


class ComplianceState(LabelledEnum):
    IN_DATE = "in-date", "In date"
    EXPIRING = "expiring", "Expiring"
    EXPIRED = "expired", "Expired"
    IN_PROGRESS = "in-progress", "In progress"
    NOT_STARTED = "not-started", "Not started"
