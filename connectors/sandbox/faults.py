"""Switchable faults, armed per store for the next `count` requests or for `seconds`.

Shared by every server thread; arming, consuming and clearing happen under one lock so a fault
armed for 3 requests hits exactly 3 requests however many threads are serving.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

FAULT_OPTIONS = {
    "429": {"retry_after": 1.0},
    "500": {},
    "502": {},
    "503": {},
    "slow": {"delay": 2.0},
    "truncate": {},
    "expired_cursor": {},  # only requests that carry page_info consume it
    "expired_token": {},   # Amazon: every access token issued so far expires now
}


@dataclass
class Fault:
    kind: str
    options: dict[str, float] = field(default_factory=dict)


@dataclass
class _Armed:
    fault: Fault
    remaining: int | None
    until: float | None  # time.monotonic() deadline: faults last real seconds, not sandbox time

    def expired(self, now: float) -> bool:
        return (self.remaining is not None and self.remaining <= 0) or (self.until is not None and now >= self.until)


class FaultBoard:
    def __init__(self, stores: list[str]) -> None:
        self._stores = set(stores)
        self._lock = threading.Lock()
        self._armed: dict[str, list[_Armed]] = {store: [] for store in stores}

    def arm(self, store: str, kind: str, count: int | None = None, seconds: float | None = None,
            **options: float) -> None:
        """Arm `kind` for the next `count` requests to `store` or for `seconds` (default: 1 request)."""
        if store not in self._stores:
            raise ValueError(f"unknown store {store!r}; stores: {sorted(self._stores)}")
        if kind not in FAULT_OPTIONS:
            raise ValueError(f"unknown fault kind {kind!r}; kinds: {list(FAULT_OPTIONS)}")
        unknown = set(options) - set(FAULT_OPTIONS[kind])
        if unknown:
            raise ValueError(f"fault {kind!r} takes options {sorted(FAULT_OPTIONS[kind])}, not {sorted(unknown)}")
        if count is not None and (not isinstance(count, int) or count < 1):
            raise ValueError("count must be a positive integer")
        if seconds is not None and seconds <= 0:
            raise ValueError("seconds must be positive")
        if count is None and seconds is None:
            count = 1
        fault = Fault(kind, {**FAULT_OPTIONS[kind], **{name: float(value) for name, value in options.items()}})
        until = time.monotonic() + seconds if seconds is not None else None
        with self._lock:
            self._armed[store].append(_Armed(fault, count, until))

    def clear(self) -> None:
        with self._lock:
            for armed in self._armed.values():
                armed.clear()

    def take(self, store: str, carries_cursor: bool) -> Fault | None:
        """The fault this request suffers, if any, consuming one use of it."""
        now = time.monotonic()
        with self._lock:
            armed = self._armed.get(store)
            if not armed:
                return None
            armed[:] = [entry for entry in armed if not entry.expired(now)]
            for entry in armed:
                if entry.fault.kind == "expired_cursor" and not carries_cursor:
                    continue
                if entry.remaining is not None:
                    entry.remaining -= 1
                return entry.fault
        return None

    def armed(self) -> list[dict]:
        now = time.monotonic()
        with self._lock:
            return [
                {"store": store, "kind": entry.fault.kind, "remaining": entry.remaining,
                 "seconds_left": None if entry.until is None else round(entry.until - now, 3),
                 **entry.fault.options}
                for store, entries in self._armed.items() for entry in entries if not entry.expired(now)
            ]
