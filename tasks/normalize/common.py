"""The canonical order model every source is normalised into, and the parsing it shares.

Staging only renames, casts and normalises units (the dbt habit); deciding things — risk,
what to load — happens later. Each normaliser returns a `Normalized` batch: one frame per
canonical table plus, per record, the reasons it cannot be loaded as it is. Rows carry `rid`,
the record's position in the batch, so every finding maps back to the record it came from.
"""

from __future__ import annotations

import hashlib
import hmac
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation

import numpy as np
import orjson
import pandas as pd

from connectors.base import parse_timestamps

from warehouse.models import CANONICAL_STATUSES  # noqa: F401  (re-exported for normalisers)

ORDER_COLUMNS = [
    "rid", "source", "external_id", "order_number", "status", "source_status", "currency",
    "created_at", "updated_at", "processed_at", "cancelled_at", "closed_at",
    "subtotal", "discount_total", "shipping_total", "tax_total", "total", "refunded_total",
    "customer_key", "payment_method", "billing_country", "shipping_country", "discount_codes",
    "line_count", "item_count", "is_deleted",
]
LINE_COLUMNS = [
    "rid", "source", "external_order_id", "line_id", "sku", "title", "quantity",
    "unit_price", "discount", "line_total", "refunded_quantity",
]
REFUND_COLUMNS = [
    "rid", "source", "external_id", "external_order_id", "created_at", "created_at_estimated",
    "amount", "currency", "reason",
]
# Contact details travel only in this frame, on their way to the `customers` table.
CONTACT_COLUMNS = [
    "rid", "customer_key", "email", "phone", "accepts_marketing", "country", "order_created_at",
]
TIMESTAMP_COLUMNS = ("created_at", "updated_at", "processed_at", "cancelled_at", "closed_at")


@dataclass
class Reasons:
    """Every reason each record cannot be loaded, in the order they were found."""

    by_rid: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))

    def add(self, rids, message: str | pd.Series) -> None:
        """`message` is one sentence for all `rids`, or a Series of sentences aligned with them."""
        rids = np.asarray(rids)
        if rids.size == 0:
            return
        if isinstance(message, pd.Series):
            for rid, text in zip(rids.tolist(), message.tolist()):
                self.by_rid[rid].append(text)
        else:
            for rid in rids.tolist():
                self.by_rid[rid].append(message)

    def merge(self, other: "Reasons") -> None:
        for rid, texts in other.by_rid.items():
            self.by_rid[rid].extend(texts)

    def rids(self) -> set[int]:
        return {rid for rid, texts in self.by_rid.items() if texts}


@dataclass
class Normalized:
    """A batch of records in canonical form."""

    source: str
    records: list            # the raw records, as fetched (index = rid)
    keys: pd.DataFrame       # rid, external_id (None if missing), updated_at (NaT if unparsable)
    orders: pd.DataFrame
    lines: pd.DataFrame
    refunds: pd.DataFrame
    contacts: pd.DataFrame
    reasons: Reasons


# --- parsing helpers ----------------------------------------------------------------

def column(records: list, *path: str) -> pd.Series:
    """The value at `path` in every record (None where a level is missing or not a mapping)."""
    values = []
    for record in records:
        value = record
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        values.append(value)
    return pd.Series(values, dtype=object)


def parse_money(values: pd.Series, *, allow_number: bool = False) -> tuple[pd.Series, pd.Series]:
    """Exact `Decimal`s from money strings; returns (amounts, unparsable mask).

    A missing value is not unparsable (callers decide whether it is required). Numbers are
    accepted only where the source documents them, because a float has already lost exactness.
    """
    def to_decimal(value):
        if isinstance(value, str):
            try:
                amount = Decimal(value.strip())
            except InvalidOperation:
                return _BAD
            return amount if amount.is_finite() else _BAD
        if allow_number and isinstance(value, (int, float)) and not isinstance(value, bool):
            amount = Decimal(repr(value))
            return amount if amount.is_finite() else _BAD
        return _BAD

    present = values.notna()
    parsed = pd.Series([to_decimal(v) if ok else None for v, ok in zip(values.tolist(), present.tolist())],
                       index=values.index, dtype=object)
    bad = parsed.map(lambda v: v is _BAD)
    return parsed.where(~bad, None), bad


_BAD = object()


def parse_int(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers (ints, or strings/floats holding one) as nullable Int64; returns (ints, bad)."""
    numeric = pd.to_numeric(values.where(values.map(lambda v: not isinstance(v, bool)), np.nan), errors="coerce")
    whole = numeric.notna() & np.isfinite(numeric.astype(float)) & (numeric == np.floor(numeric)) & (numeric.abs() < 2**31)
    bad = values.notna() & ~whole
    return numeric.where(whole).astype("Int64"), bad


def parse_times(values: pd.Series, *, naive_is_utc: bool = False) -> tuple[pd.Series, pd.Series]:
    parsed = parse_timestamps(values, naive_is_utc=naive_is_utc)
    return parsed, values.notna() & parsed.isna()


def text(values: pd.Series, *, upper: bool = False, max_length: int | None = None) -> pd.Series:
    out = values.map(lambda v: None if v is None or v == "" else str(v), na_action="ignore")
    out = out.astype(object).where(out.notna(), None)
    if upper:
        out = out.str.upper()
    if max_length:
        out = out.str.slice(0, max_length)
    return out


def external_ids(values: pd.Series) -> pd.Series:
    """Marketplace ids as text; None when missing, empty or not a scalar id."""
    def as_id(value):
        if isinstance(value, bool) or not isinstance(value, (int, str)):
            return None
        value = str(value).strip()
        return value or None

    return pd.Series([as_id(v) for v in values.tolist()], index=values.index, dtype=object)


def join_codes(codes: pd.Series) -> pd.Series:
    """Discount or coupon codes (a list of objects with `code`) as one comma-separated text."""
    def join(items):
        if not isinstance(items, list):
            return None
        names = [str(c.get("code")) for c in items if isinstance(c, dict) and c.get("code")]
        return ",".join(names)[:500] or None

    return pd.Series([join(v) for v in codes.tolist()], index=codes.index, dtype=object)


def payloads(records: list) -> list[str]:
    return [orjson.dumps(r).decode() for r in records]


def record_hashes(payload_texts: list[str]) -> list[str]:
    return [hashlib.sha256(p.encode()).hexdigest() for p in payload_texts]


def customer_keys(emails: pd.Series, fallback_ids: pd.Series, source: str, secret: bytes) -> pd.Series:
    """HMAC-SHA256 of the normalised e-mail (the same person across marketplaces gets one key);
    without an e-mail, of the source's customer id; None for an anonymous guest."""
    email = emails.map(lambda v: v.strip().lower() if isinstance(v, str) and "@" in v else None)
    fallback = fallback_ids.map(lambda v: f"{source}:customer:{v}" if v not in (None, 0, "0", "") else None)
    identity = email.where(email.notna(), fallback)
    unique = {v: hmac.new(secret, v.encode(), hashlib.sha256).hexdigest() for v in identity.dropna().unique()}
    return identity.map(unique, na_action="ignore").astype(object).where(identity.notna(), None)


def describe_bad(kind: str, field_name: str, values: pd.Series, *, show_value: bool = True) -> pd.Series:
    """Sentences like "unparsable money in total_price: 'N/A'" (values shown only when they
    cannot be personal data)."""
    if not show_value:
        return pd.Series([f"{kind} in {field_name}"] * len(values), index=values.index, dtype=object)
    return values.map(lambda v: f"{kind} in {field_name}: {_short(v)}", na_action=None)


def _short(value) -> str:
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def empty_frame(columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame({name: pd.Series(dtype=object) for name in columns})
