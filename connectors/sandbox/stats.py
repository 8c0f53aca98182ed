"""Requests and statuses served, per store and endpoint (what `sb.stats()` and /_sandbox/stats show)."""

from __future__ import annotations

import threading
from collections import defaultdict


class RequestStats:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[tuple[str, str], dict[int, int]] = defaultdict(lambda: defaultdict(int))

    def record(self, store: str, endpoint: str, status: int) -> None:
        with self._lock:
            self._counts[(store, endpoint)][status] += 1

    def snapshot(self) -> dict[str, dict[str, dict]]:
        """{store: {endpoint: {"requests": n, "statuses": {"200": n, "429": m}}}}."""
        result: dict[str, dict[str, dict]] = {}
        with self._lock:
            for (store, endpoint), statuses in sorted(self._counts.items()):
                result.setdefault(store, {})[endpoint] = {
                    "requests": sum(statuses.values()),
                    "statuses": {str(status): count for status, count in sorted(statuses.items())},
                }
        return result
