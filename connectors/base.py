"""What every order connector offers the pipeline, and the half-open window rule they share."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Iterator, Protocol

import pandas as pd


class MaybeSent(Exception):
    """A message was handed over and then the connection failed: it may have arrived. Never resend it."""


class OrderConnector(Protocol):
    """IO only: yields pages of raw order records updated in `[start, end)`, as the source sent them.

    A record whose cursor field cannot be parsed is passed on (never dropped) so that the
    pipeline quarantines it with its reason.
    """

    name: str
    kind: str

    def order_pages(self, start: datetime, end: datetime) -> Iterator[list[dict]]: ...

    def close(self) -> None: ...


def utc(moment: datetime) -> datetime:
    if moment.tzinfo is None:
        raise ValueError(f"naive datetime {moment!r}: windows are given in UTC")
    return moment.astimezone(timezone.utc)


def iso_utc(moment: datetime) -> str:
    """`2026-03-08T06:30:00+00:00`, second precision (what marketplaces accept)."""
    return utc(moment).replace(microsecond=0).isoformat()


def within_window(records: list[dict], field: str, start: datetime, end: datetime,
                  *, naive_is_utc: bool = False) -> tuple[list[dict], datetime | None]:
    """Records whose `field` is in `[start, end)` plus those whose `field` cannot be parsed,
    and the latest parsed `field` among the kept ones.

    Sources express their bounds differently (Shopify's max is inclusive, WooCommerce's are
    exclusive); applying the half-open rule here, on parsed times, makes the hourly run and any
    backfill meet exactly at their edges. Unparsable records are passed on, never dropped, so
    the pipeline quarantines them with their reason.
    """
    if not records:
        return records, None
    values = pd.Series([r.get(field) if isinstance(r, dict) else None for r in records], dtype=object)
    parsed = parse_timestamps(values, naive_is_utc=naive_is_utc)
    inside = (parsed >= pd.Timestamp(utc(start))) & (parsed < pd.Timestamp(utc(end)))
    keep = (inside | parsed.isna()).to_numpy()
    latest = parsed[inside].max()
    latest = None if pd.isna(latest) else latest.to_pydatetime()
    if keep.all():
        return records, latest
    return [record for record, kept in zip(records, keep) if kept], latest


def parse_timestamps(values: pd.Series, *, naive_is_utc: bool = False) -> pd.Series:
    """Vectorised ISO-8601 parse to UTC; anything unparsable becomes NaT.

    Offsets are honoured (a Shopify shop's local offset changes with daylight saving). Naive
    values are taken as UTC only when the source says so (WooCommerce `*_gmt` fields);
    otherwise they are rejected as NaT, because their zone is unknown.
    """
    strings = [v if type(v) is str else None for v in values.tolist()]
    if not naive_is_utc:  # keep only values that end in Z or ±hh:mm
        strings = [v if v is not None and (v[-1:] == "Z" or (len(v) > 6 and v[-6] in "+-" and v[-3] == ":")) else None
                   for v in strings]
    parsed = pd.to_datetime(pd.Series(strings, index=values.index, dtype=object), utc=True, format="ISO8601",
                            errors="coerce")
    return parsed.astype("datetime64[us, UTC]")
