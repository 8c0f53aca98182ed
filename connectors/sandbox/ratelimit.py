"""Shopify's leaky bucket: each call adds one, the bucket drains at a steady rate, full means 429.

Runs on real (monotonic) time, not sandbox time: a client's pacing is about wall-clock seconds.
"""

from __future__ import annotations

import math
import threading
import time
from typing import Callable


class LeakyBucket:
    def __init__(self, capacity: int, leak_per_second: float, timer: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self.leak_per_second = leak_per_second
        self._timer = timer
        self._lock = threading.Lock()
        self._level = 0.0
        self._last = timer()

    def _drain(self) -> None:
        now = self._timer()
        self._level = max(0.0, self._level - (now - self._last) * self.leak_per_second)
        self._last = now

    def try_call(self) -> tuple[bool, int]:
        """(accepted, level shown in X-Shopify-Shop-Api-Call-Limit)."""
        with self._lock:
            self._drain()
            accepted = self._level + 1 <= self.capacity
            if accepted:
                self._level += 1
            return accepted, min(self.capacity, math.ceil(self._level - 1e-9))

    def level(self) -> int:
        """The current level, for responses that did not go through the bucket (401s, faults)."""
        with self._lock:
            self._drain()
            return min(self.capacity, math.ceil(self._level - 1e-9))


class TokenBucket:
    """Amazon SP-API's usage plans: `burst` tokens, refilled at `rate` a second; a call takes one."""

    def __init__(self, rate: float, burst: int, timer: Callable[[], float] = time.monotonic) -> None:
        self.rate, self.burst = rate, burst
        self._timer = timer
        self._lock = threading.Lock()
        self._tokens = float(burst)
        self._last = timer()

    def try_call(self) -> bool:
        with self._lock:
            now = self._timer()
            self._tokens = min(float(self.burst), self._tokens + (now - self._last) * self.rate)
            self._last = now
            if self._tokens >= 1:
                self._tokens -= 1
                return True
            return False
