"""Query parameter parsing shared by both platforms; a bad value becomes the platform's 400."""

from __future__ import annotations

import math
from datetime import timezone
from zoneinfo import ZoneInfo

from .protocol import Request, Response
from .timezones import parse_timestamp


class ParamError(Exception):
    """Carries the response the platform gives for a bad parameter."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status)
        self.response = response


def integer(request: Request, name: str, default: int, low: int, high: int | None) -> int | None:
    """The parameter as an int in [low, high], the default when absent, None when invalid."""
    raw = request.param(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        return None
    if value < low or (high is not None and value > high):
        return None
    return value


def instant(request: Request, name: str, naive_zone: ZoneInfo | timezone) -> float | None:
    """Epoch seconds of an ISO 8601 parameter; raises ValueError when unparsable."""
    raw = request.param(name)
    if raw is None or raw == "":
        return None
    return parse_timestamp(raw, naive_zone)


def inclusive_bounds(low: float | None, high: float | None, exclusive: bool) -> tuple[int, int] | None:
    """Whole-second inclusive bounds; data are whole seconds, so `> 10.5` is `>= 11`."""
    if low is None and high is None:
        return None
    if exclusive:
        first = math.floor(low) + 1 if low is not None else -(2**62)
        last = math.ceil(high) - 1 if high is not None else 2**62
    else:
        first = math.ceil(low) if low is not None else -(2**62)
        last = math.floor(high) if high is not None else 2**62
    return first, last


def id_list(raw: str | None) -> list[int] | None:
    """Comma-separated ids; raises ValueError on anything but integers."""
    if raw is None or raw.strip() == "":
        return None
    return [int(part) for part in raw.split(",") if part.strip() != ""]
