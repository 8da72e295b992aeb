"""Compliance: requirement rules, each person's status, the matrix and trend, the report rows,
and which organisations accepted a course's own requirement."""
