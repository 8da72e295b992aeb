"""The hand-written SQL the compliance benchmark compares the reports with: each person's
status as of a date (for the matrix and the detail rows) and the trend's month-ends, written
directly for SQLite and PostgreSQL, yielding the same numbers (or rows) as the reports."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import bindparam, text

from jesip_learn.compliance.report_filters import ReportFilters
from jesip_learn.core.columns import UTCDateTime

# Requirements: each published course's own services x roles (JSON lists), then the rules.
REQUIRED_FOR = {
    "sqlite": """
        SELECT c.id AS course_id, s.value AS service, NULL AS organisation_id,
               r.value AS command_role
          FROM courses c
          JOIN course_versions v ON v.id = c.published_version_id,
               json_each(v.required_services) s, json_each(v.required_roles) r""",
    "postgresql": """
        SELECT c.id AS course_id, s.value AS service, NULL::integer AS organisation_id,
               r.value AS command_role
          FROM courses c
          JOIN course_versions v ON v.id = c.published_version_id
         CROSS JOIN LATERAL json_array_elements_text(v.required_services) AS s(value)
         CROSS JOIN LATERAL json_array_elements_text(v.required_roles) AS r(value)""",
}

# Every requirement: each course's own (its published version's services by roles) and
# those set on it. The statuses and the trend both start from it.
REQUIREMENT = """requirement AS (
    {required_for}
    UNION ALL
    SELECT q.course_id, q.service, q.organisation_id, q.command_role
      FROM requirements q JOIN courses c ON c.id = q.course_id
     WHERE c.published_version_id IS NOT NULL
),"""

STATUSES = """
WITH {requirement}
people AS (
    SELECT DISTINCT u.id AS user_id, u.organisation_id, u.command_role, o.service, q.course_id
      FROM users u
      JOIN organisations o ON o.id = u.organisation_id
      JOIN requirement q
        ON (q.service IS NULL OR q.service = o.service)
       AND (q.organisation_id IS NULL OR q.organisation_id = u.organisation_id)
       AND (q.command_role IS NULL OR q.command_role = u.command_role)
     WHERE u.approved_at IS NOT NULL AND u.joined_at <= :moment
       AND (u.is_active OR u.deactivated_at > :moment) {only_organisation}
),
latest AS (
    SELECT user_id, course_id, completed_at, expires_at, source FROM (
        SELECT user_id, course_id, completed_at, expires_at, source,
               row_number() OVER (PARTITION BY user_id, course_id
                                  ORDER BY completed_at DESC, id DESC) AS n
          FROM completions WHERE completed_at <= :moment) numbered
     WHERE n = 1
),
cutoff AS (
    SELECT course_id, max(published_at) AS cutoff FROM course_versions
     WHERE needs_renewal AND published_at <= :moment GROUP BY course_id
),
statuses AS (
    SELECT p.user_id, p.organisation_id, p.command_role, p.course_id,
           l.completed_at, l.expires_at, l.source,
           CASE
             WHEN l.completed_at IS NULL THEN
               CASE WHEN EXISTS (SELECT 1 FROM item_progress i
                                  WHERE i.user_id = p.user_id AND i.course_id = p.course_id
                                    AND i.started_at <= :moment)
                    THEN 'in-progress' ELSE 'not-started' END
             WHEN k.cutoff > l.completed_at THEN 'expired'
             WHEN l.expires_at IS NULL THEN 'in-date'
             WHEN l.expires_at <= :moment THEN 'expired'
             WHEN l.expires_at <= :window_end THEN 'expiring'
             ELSE 'in-date'
           END AS state
      FROM people p
      LEFT JOIN latest l ON l.user_id = p.user_id AND l.course_id = p.course_id
      LEFT JOIN cutoff k ON k.course_id = p.course_id
)
"""

MATRIX = STATUSES + """
SELECT organisation_id, course_id, state, count(*) AS people
  FROM statuses GROUP BY organisation_id, course_id, state
"""

DETAIL = STATUSES + """
SELECT u.id, u.name, u.email, o.name, o.service, s.command_role, c.code, v.title, s.state,
       s.completed_at, s.expires_at, s.source
  FROM statuses s
  JOIN users u ON u.id = s.user_id
  JOIN organisations o ON o.id = s.organisation_id
  JOIN courses c ON c.id = s.course_id
  JOIN course_versions v ON v.id = c.published_version_id
 ORDER BY o.name, u.name, u.id, c.code
"""


# The trend: the compliant and total counts at several month-ends in one pass. Each
# completion is compliant from its completion until the next completion of the course by the
# same person, its expiry or the next version needing renewal; each membership holds from its
# start to its end; a month-end is a column of conditional sums.
TREND = """
WITH {requirement}
required AS (
    SELECT DISTINCT o.id AS organisation_id, r.command_role, q.course_id
      FROM organisations o
     CROSS JOIN ({roles}) r
      JOIN requirement q
        ON (q.service IS NULL OR q.service = o.service)
       AND (q.organisation_id IS NULL OR q.organisation_id = o.id)
       AND (q.command_role IS NULL OR q.command_role = r.command_role)
),
moved AS (
    SELECT user_id, {moved} FROM previous_memberships GROUP BY user_id
),
stints AS (
    SELECT u.id AS user_id, u.organisation_id, u.command_role, {current}
      FROM users u LEFT JOIN moved m ON m.user_id = u.id
     WHERE u.approved_at IS NOT NULL
    UNION ALL
    SELECT p.user_id, p.organisation_id, p.command_role, {earlier}
      FROM previous_memberships p JOIN users u ON u.id = p.user_id
     WHERE u.approved_at IS NOT NULL
),
spans AS (
    SELECT user_id, course_id, completed_at, expires_at,
           lead(completed_at) OVER (PARTITION BY user_id, course_id
                                    ORDER BY completed_at, id) AS next_at
      FROM completions WHERE completed_at <= :{last}
),
cutoffs AS (
    SELECT course_id, {cutoffs} FROM course_versions WHERE needs_renewal GROUP BY course_id
),
held AS (
    SELECT s.user_id, s.course_id, {held}
      FROM spans s LEFT JOIN cutoffs c ON c.course_id = s.course_id
     GROUP BY s.user_id, s.course_id
)
SELECT {sums}
  FROM stints st
  JOIN required r ON r.organisation_id = st.organisation_id
                 AND r.command_role = st.command_role
  LEFT JOIN held h ON h.user_id = st.user_id AND h.course_id = r.course_id
"""


def hand_written_trend(dialect: str, count: int):
    points = range(count)
    roles = " UNION ALL ".join(f"SELECT '{role}' AS command_role" for role in (
        "operational", "tactical", "strategic", "control-room", "staff"))
    if dialect == "postgresql":
        roles = roles.replace("' AS", "'::text AS")
    sql = TREND.format(
        requirement=REQUIREMENT.format(required_for=REQUIRED_FOR[dialect]), roles=roles,
        last=f"t{count - 1}",
        moved=", ".join(f"max(CASE WHEN started_at <= :t{k} AND ended_at > :t{k} THEN 1 "
                        f"ELSE 0 END) AS held_{k}" for k in points),
        current=", ".join(f"CASE WHEN u.joined_at <= :t{k} AND coalesce(m.held_{k}, 0) = 0 "
                          f"AND (u.is_active OR u.deactivated_at > :t{k}) THEN 1 ELSE 0 END "
                          f"AS in_{k}" for k in points),
        earlier=", ".join(f"CASE WHEN p.started_at <= :t{k} AND p.ended_at > :t{k} "
                          f"AND (u.is_active OR u.deactivated_at > :t{k}) THEN 1 ELSE 0 END"
                          for k in points),
        cutoffs=", ".join(f"max(CASE WHEN published_at <= :t{k} THEN published_at END) "
                          f"AS cutoff_{k}" for k in points),
        held=", ".join(f"max(CASE WHEN s.completed_at <= :t{k} "
                       f"AND (s.next_at IS NULL OR s.next_at > :t{k}) "
                       f"AND (s.expires_at IS NULL OR s.expires_at > :t{k}) "
                       f"AND (c.cutoff_{k} IS NULL OR c.cutoff_{k} <= s.completed_at) "
                       f"THEN 1 ELSE 0 END) AS ok_{k}" for k in points),
        sums=", ".join(f"sum(CASE WHEN st.in_{k} = 1 AND coalesce(h.ok_{k}, 0) = 1 THEN 1 "
                       f"ELSE 0 END), sum(st.in_{k})" for k in points))
    return text(sql).bindparams(*(bindparam(f"t{k}", type_=UTCDateTime) for k in points))


def hand_written(template: str, dialect: str, organisation_id: int | None = None):
    sql = template.format(requirement=REQUIREMENT.format(required_for=REQUIRED_FOR[dialect]),
                          only_organisation=(
        "AND u.organisation_id = :organisation_id" if organisation_id is not None else ""))
    statement = text(sql).bindparams(bindparam("moment", type_=UTCDateTime),
                                     bindparam("window_end", type_=UTCDateTime))
    if template is DETAIL:
        statement = statement.columns(completed_at=UTCDateTime, expires_at=UTCDateTime)
    return statement


def parameters(filters: ReportFilters, organisation_id: int | None = None) -> dict:
    values = {"moment": filters.moment,
              "window_end": filters.moment + timedelta(days=filters.expiring_days)}
    if organisation_id is not None:
        values["organisation_id"] = organisation_id
    return values
