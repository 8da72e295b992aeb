"""Which statements a PostgreSQL session may send without a transaction
(`core.db.only_reads`): a SELECT that leaves nothing behind it. Anything that locks, sets
something for the transaction, notifies, holds more than one statement or is not a SELECT
begins the transaction first."""

from __future__ import annotations

import pytest

from jesip_learn.core.db import only_reads


@pytest.mark.parametrize("statement", [
    "SELECT users.id FROM users WHERE users.id = %(user_id)s",
    "  select count(*) from completions",
    "SELECT note FROM notes WHERE note = 'no update for this'",  # words, not a lock clause
])
def test_plain_selects_only_read(statement):
    assert only_reads(statement)


@pytest.mark.parametrize("statement", [
    "SELECT users.id FROM users WHERE users.id = 1 FOR UPDATE",
    "SELECT id FROM jobs FOR UPDATE SKIP LOCKED",
    "SELECT id FROM users\nFOR NO KEY UPDATE",
    "SELECT id FROM users FOR SHARE",
    "SELECT id FROM users FOR KEY SHARE OF users",
    "SELECT pg_advisory_xact_lock(%(a)s, %(b)s) AS pg_advisory_xact_lock_1",
    "SELECT pg_try_advisory_xact_lock(1, 2)",
    "SELECT set_config('jit', 'off', true)",
    "INSERT INTO notes (note) VALUES ('x')",
    "UPDATE notes SET note = 'x'",
    "DELETE FROM notes",
    "WITH moved AS (DELETE FROM notes RETURNING id) SELECT count(*) FROM moved",
    "SAVEPOINT sa_savepoint_1",
    "SET LOCAL jit = off",
    "SELECT pg_notify('live', 'changed')",
    "SELECT 1; INSERT INTO notes (note) VALUES ('x')",
])
def test_anything_that_locks_sets_or_writes_is_more_than_reading(statement):
    assert not only_reads(statement)
