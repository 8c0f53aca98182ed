"""Time zones as arrays, and parsing of the timestamps clients send.

A page renders a few thousand timestamps; asking zoneinfo one by one costs more than the rest
of the page, so each zone's UTC offsets are tabulated once (transition instants + offsets) and
a whole page converts with one searchsorted.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo

import numpy as np

# Tabulated range: 1970 is rendered (malformed "impossible dates"), anchors are near the present.
_FIRST_DAY = date(1969, 6, 1)
_LAST_DAY = date(2080, 1, 1)
_DAY = 86_400


class ZoneTable:
    def __init__(self, name: str) -> None:
        self.name = name
        self.zone = ZoneInfo(name)
        self.transitions, self.offsets = self._tabulate()

    def _offset_at(self, epoch: int) -> int:
        return int(datetime.fromtimestamp(epoch, self.zone).utcoffset().total_seconds())

    def _tabulate(self) -> tuple[np.ndarray, np.ndarray]:
        start = int(datetime(_FIRST_DAY.year, _FIRST_DAY.month, _FIRST_DAY.day, tzinfo=timezone.utc).timestamp())
        days = (_LAST_DAY - _FIRST_DAY).days
        daily = [self._offset_at(start + day * _DAY) for day in range(days + 1)]
        transitions, offsets = [np.iinfo(np.int64).min], [daily[0]]
        for day in range(days):
            if daily[day] != daily[day + 1]:
                # Bisect to the second inside the day where the offset changed.
                low, high = start + day * _DAY, start + (day + 1) * _DAY
                while high - low > 1:
                    middle = (low + high) // 2
                    if self._offset_at(middle) == daily[day]:
                        low = middle
                    else:
                        high = middle
                transitions.append(high)
                offsets.append(daily[day + 1])
        return np.array(transitions, dtype=np.int64), np.array(offsets, dtype=np.int64)

    def offsets_at(self, utc_seconds: np.ndarray) -> np.ndarray:
        """UTC offset in seconds at each instant."""
        return self.offsets[np.searchsorted(self.transitions, utc_seconds, side="right") - 1]

    def local_midnights(self, first: date, count: int) -> np.ndarray:
        """UTC epoch of local midnight for `count + 1` consecutive days from `first` (day edges)."""
        edges = []
        for day in range(count + 1):
            local = first + timedelta(days=day)
            edges.append(int(datetime(local.year, local.month, local.day, tzinfo=self.zone).timestamp()))
        return np.array(edges, dtype=np.int64)

    def local_date(self, utc_seconds: int) -> date:
        return datetime.fromtimestamp(utc_seconds, self.zone).date()


@lru_cache(maxsize=None)
def zone_table(name: str) -> ZoneTable:
    return ZoneTable(name)


def parse_timestamp(text: str, naive_zone: ZoneInfo | timezone) -> float:
    """Epoch seconds of an ISO 8601 timestamp; an explicit offset wins, a naive one is in `naive_zone`.

    Raises ValueError for anything that is not ISO 8601.
    """
    moment = datetime.fromisoformat(text.strip())
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=naive_zone)
    return moment.timestamp()
