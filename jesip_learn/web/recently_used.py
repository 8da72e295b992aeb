"""A bounded memory of values by key, for what a process keeps between requests (rendered
pages, signed CSRF tokens, verified session cookies)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Hashable
from typing import Any


class RecentlyUsed:
    """Values by key, in memory, the least recently used dropped beyond `kept`."""

    def __init__(self, kept: int):
        self.kept = kept
        self._values: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: Hashable) -> Any | None:
        with self._lock:
            value = self._values.get(key)
            if value is not None:
                self._values.move_to_end(key)
            return value

    def put(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._values[key] = value
            self._values.move_to_end(key)
            while len(self._values) > self.kept:
                self._values.popitem(last=False)

    def forget(self, key: Hashable) -> None:
        with self._lock:
            self._values.pop(key, None)

    def keys_by_use(self) -> list[Hashable]:
        """The keys held, the least recently used first."""
        with self._lock:
            return list(self._values)
