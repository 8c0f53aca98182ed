"""A requests-per-minute limit (Zendesk's incremental exports, the survey provider's API): at most
`limit` accepted requests in any `window` seconds; over it, how long until one more would be accepted.

Runs on real (monotonic) time, like the leaky bucket: a client's pacing is about wall-clock seconds.
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from typing import Callable


class WindowLimit:
    def __init__(self, limit: int, window: float = 60.0, timer: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.window = window
        self._timer = timer
        self._lock = threading.Lock()
        self._accepted: deque[float] = deque()

    def try_call(self) -> tuple[bool, int]:
        """(accepted, Retry-After in whole seconds, 0 when accepted); a refused request is not counted."""
        with self._lock:
            now = self._timer()
            while self._accepted and self._accepted[0] <= now - self.window:
                self._accepted.popleft()
            if len(self._accepted) < self.limit:
                self._accepted.append(now)
                return True, 0
            return False, max(1, math.ceil(self._accepted[0] + self.window - now))

    def remaining(self) -> int:
        with self._lock:
            now = self._timer()
            return self.limit - sum(1 for moment in self._accepted if moment > now - self.window)
