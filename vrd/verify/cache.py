"""Settled slow-path verdicts, by (prediction, gold).

Sampled responses often repeat an answer string (rejection sampling draws several per problem,
GRPO groups share a gold), and a repeat should not pay for math-verify again. Only verdicts
that finished are kept; a timeout is never cached, so a later call may still try.
"""

from __future__ import annotations

import threading
from collections import OrderedDict


class ResultCache:
    """A thread-safe LRU map (pred, gold) -> equal."""

    def __init__(self, size: int = 65_536) -> None:
        self._data: OrderedDict[tuple[str, str], bool] = OrderedDict()
        self._size = size
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> bool | None:
        with self._lock:
            value = self._data.get(key)
            if value is not None:
                self._data.move_to_end(key)
            return value

    def put(self, key: tuple[str, str], value: bool) -> None:
        with self._lock:
            self._data[key] = value
            if len(self._data) > self._size:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


RESULTS = ResultCache()
