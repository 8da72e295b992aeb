"""The two stores the rate limits count in, for tests that run against each."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import redis

REDIS_URL = "redis://127.0.0.1:6379/0"


@contextmanager
def either_store(kind: str, app, counted: str) -> Iterator[str]:
    """The database, or Redis on 127.0.0.1:6379 under a prefix of its own (skipped when no
    server answers, emptied afterwards). With Redis the test must have counted something
    under `counted`: a limit that quietly fell back to the database proves nothing."""
    if kind == "database":
        yield "database"
        return
    client = redis.Redis.from_url(REDIS_URL, socket_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        pytest.skip("no Redis server on 127.0.0.1:6379")
    prefix = f"jesip-learn-test:{uuid.uuid4().hex}"
    app.config.update(REDIS_URL=REDIS_URL, REDIS_PREFIX=prefix)
    try:
        yield "redis"
        assert any(client.scan_iter(f"{prefix}:{counted}:*"))
    finally:
        for key in client.scan_iter(f"{prefix}:*"):
            client.delete(key)
        client.close()
