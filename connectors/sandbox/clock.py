"""The sandbox's own "now", shared by every server thread.

Data are invisible until their time, so tests and the demo move this clock instead of waiting.
It only moves when told to (set/advance): runs against a fixed clock are reproducible.
"""

from __future__ import annotations

import threading
from datetime import datetime, timedelta, timezone

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MICROSECONDS = 1_000_000


class SandboxClock:
    def __init__(self, start: datetime) -> None:
        self._lock = threading.Lock()
        self._micros = self._to_micros(start)

    @staticmethod
    def _to_micros(moment: datetime) -> int:
        if moment.tzinfo is None:  # naive means UTC, as everywhere in the sandbox's Python API
            moment = moment.replace(tzinfo=timezone.utc)
        return (moment - _EPOCH) // timedelta(microseconds=1)

    def now(self) -> datetime:
        with self._lock:
            micros = self._micros
        return _EPOCH + timedelta(microseconds=micros)

    def epoch_seconds(self) -> int:
        """Whole seconds: data timestamps are whole seconds, so this decides visibility exactly."""
        with self._lock:
            return self._micros // _MICROSECONDS

    def set(self, moment: datetime) -> datetime:
        with self._lock:
            self._micros = self._to_micros(moment)
        return self.now()

    def advance(self, delta: timedelta) -> datetime:
        with self._lock:
            self._micros += delta // timedelta(microseconds=1)
        return self.now()
