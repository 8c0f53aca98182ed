"""Rendering of wire values: money strings from integer cents, timestamps from epoch seconds."""

from __future__ import annotations

import re

import numpy as np

from .timezones import ZoneTable

# "No such event" in every int64 time column; compares later than any real instant.
NEVER = np.iinfo(np.int64).max


def money(cents: int) -> str:
    """Integer cents -> "12.34" (exact; never goes through a float)."""
    whole, fraction = divmod(abs(int(cents)), 100)
    return f"{'-' if cents < 0 else ''}{whole}.{fraction:02d}"


def slug(text: str) -> str:
    """A WordPress slug / Shopify handle: lower case, runs of anything else one hyphen."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def garbled_amount(cents: int) -> str:
    """A thousands separator in the wrong place and a lost digit: 1234.56 -> "12,34.5"."""
    whole = str(abs(cents) // 100).rjust(3, "0")
    return f"{whole[:-2]},{whole[-2:]}.{abs(cents) % 100 // 10}"


_CENTS = [f"{cents:02d}" for cents in range(100)]


def money_list(cents: np.ndarray) -> list[str]:
    """money() for a whole column: one divmod in numpy, then a cheap join per value."""
    cents = np.asarray(cents, dtype=np.int64)
    whole, fraction = np.divmod(np.abs(cents), 100)
    texts = [f"{w}.{_CENTS[f]}" for w, f in zip(whole.tolist(), fraction.tolist())]
    for index in np.flatnonzero(cents < 0).tolist():
        texts[index] = "-" + texts[index]
    return texts


def _offset_text(seconds: int) -> str:
    sign = "-" if seconds < 0 else "+"
    hours, minutes = divmod(abs(seconds) // 60, 60)
    return f"{sign}{hours:02d}:{minutes:02d}"


def _wall_clock(local_seconds: np.ndarray) -> list[str]:
    return np.datetime_as_string(local_seconds.astype("datetime64[s]"), unit="s").tolist()


def _present_only(utc: np.ndarray, render) -> list[str | None]:
    """Render the real instants only (pages are mostly NEVER in cancelled_at, refunds...)."""
    utc = np.asarray(utc, dtype=np.int64)
    present = np.flatnonzero(utc != NEVER)
    if len(present) == len(utc):
        return render(utc)
    texts: list[str | None] = [None] * len(utc)
    for index, text in zip(present.tolist(), render(utc[present])):
        texts[index] = text
    return texts


def iso_with_offset(utc: np.ndarray, zone: ZoneTable) -> list[str | None]:
    """Shopify style: local wall clock plus the zone's offset at that instant; NEVER -> None."""
    def render(instants: np.ndarray) -> list[str]:
        offsets = zone.offsets_at(instants)
        suffixes = {int(offset): _offset_text(int(offset)) for offset in np.unique(offsets)}
        return [text + suffixes[offset] for text, offset in zip(_wall_clock(instants + offsets), offsets.tolist())]
    return _present_only(utc, render)


def iso_naive(utc: np.ndarray, zone: ZoneTable | None) -> list[str | None]:
    """WooCommerce style: wall clock without offset, in `zone` (None = GMT); NEVER -> None."""
    return _present_only(utc, lambda instants: _wall_clock(
        instants + zone.offsets_at(instants) if zone is not None else instants))
