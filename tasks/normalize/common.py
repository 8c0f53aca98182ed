"""The canonical order model every source is normalised into, and the parsing it shares.

Staging only renames, casts and normalises units (the dbt habit); deciding things — risk,
what to load — happens later. Each normaliser returns a `Normalized` batch: one frame per
canonical table plus, per record, the reasons it cannot be loaded as it is. Rows carry `rid`,
the record's position in the batch, so every finding maps back to the record it came from.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from dataclasses import dataclass, field

import numpy as np
import orjson
import pandas as pd

from connectors.base import parse_timestamps
from warehouse.types import MONEY_LIMIT, MONEY_UNIT

from warehouse.models import CANONICAL_STATUSES  # noqa: F401  (re-exported for normalisers)

ORDER_COLUMNS = [
    "rid", "source", "external_id", "order_number", "status", "source_status", "currency",
    "created_at", "updated_at", "processed_at", "cancelled_at", "closed_at", "fulfilled_at",
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
TIMESTAMP_COLUMNS = ("created_at", "updated_at", "processed_at", "cancelled_at", "closed_at", "fulfilled_at")


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

    def parsed(self, rids, values: pd.Series, parse, what: str, field_name: str) -> pd.Series:
        """`parse(values)`, each value it cannot parse reported as "unparsable <what> in <field>: <value>"."""
        result, bad = parse(values)
        self.add(np.asarray(rids)[bad.to_numpy()], describe_bad(f"unparsable {what}", field_name, values[bad]))
        return result

    def merge(self, other: "Reasons") -> None:
        for rid, texts in other.by_rid.items():
            self.by_rid[rid].extend(texts)

    def rids(self) -> set[int]:
        return {rid for rid, texts in self.by_rid.items() if texts}


@dataclass
class Normalized:
    """A batch of records in canonical form. The raw records themselves are not kept: only their
    JSON text (`payload`, index = rid), which is what raw_orders and quarantine store."""

    source: str
    payload: list[str]
    keys: pd.DataFrame       # rid, external_id (None if missing), updated_at (NaT if unparsable)
    orders: pd.DataFrame
    lines: pd.DataFrame
    refunds: pd.DataFrame
    contacts: pd.DataFrame
    reasons: Reasons

    def __len__(self) -> int:
        return len(self.payload)


def concat_batches(batches: list[Normalized]) -> Normalized:
    """One batch from several, with rids renumbered so each still points at its own record."""
    if len(batches) == 1:
        return batches[0]
    offsets = np.cumsum([0] + [len(b) for b in batches[:-1]])
    shifted = lambda name: pd.concat(  # noqa: E731
        [getattr(b, name).assign(rid=getattr(b, name)["rid"] + offset) for b, offset in zip(batches, offsets)],
        ignore_index=True)
    reasons = Reasons()
    for batch, offset in zip(batches, offsets):
        for rid, texts in batch.reasons.by_rid.items():
            if texts:
                reasons.by_rid[int(rid + offset)].extend(texts)
    return Normalized(
        source=batches[0].source,
        payload=[text for b in batches for text in b.payload],
        keys=shifted("keys"), orders=shifted("orders"), lines=shifted("lines"),
        refunds=shifted("refunds"), contacts=shifted("contacts"), reasons=reasons,
    )


# --- parsing helpers ----------------------------------------------------------------

def fields(records: list, names: list[str]) -> pd.DataFrame:
    """The named top-level fields of every record, one object column each (missing → None).

    pandas builds this in C (`dicts_to_array`), several times faster than a loop per field.
    Records that are not JSON objects count as empty ones (their rows are then reported).
    """
    objects = [r if type(r) is dict else {} for r in records]
    frame = pd.DataFrame(objects, columns=names, dtype=object)
    return frame.where(frame.notna(), None) if len(frame) else frame


def nested(values: pd.Series, *path: str) -> pd.Series:
    """The value at `path` inside each element (None where a level is missing or not an object)."""
    out = values.tolist()
    for key in path:
        out = [v.get(key) if type(v) is dict else None for v in out]
    return pd.Series(out, index=values.index, dtype=object)


def first_of(values: pd.Series) -> pd.Series:
    """The first element of each list (None where it is not a non-empty list)."""
    return pd.Series([v[0] if type(v) is list and v else None for v in values.tolist()], index=values.index,
                     dtype=object)


def not_objects(records: list) -> np.ndarray:
    """Positions of records that are not JSON objects."""
    return np.asarray([i for i, r in enumerate(records) if type(r) is not dict], dtype=np.int64)


def email_addresses(values: pd.Series) -> pd.Series:
    """Normalised e-mail addresses (trimmed, lower case); None for anything without an @."""
    return pd.Series([v.strip().lower() if type(v) is str and "@" in v else None for v in values.tolist()],
                     index=values.index, dtype=object)


def parse_money(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Money in ten-thousandths (nullable int64) from strings or numbers; returns (amounts, unparsable).

    Vectorised: the text is parsed as a float and scaled. That is exact for every amount below
    10^11 with at most four decimals (the scaled value stays far inside float's 2^53), and an
    amount with more decimals, beyond the warehouse's range, not finite or not a number at all
    is reported as unparsable. A missing value is not unparsable: callers decide if it is required.
    """
    present = values.notna()
    candidates = pd.Series([None if type(v) is bool else v for v in values.tolist()], index=values.index, dtype=object)
    numbers = pd.to_numeric(candidates, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    with np.errstate(invalid="ignore", over="ignore"):
        scaled = numbers * MONEY_UNIT
        units = np.rint(scaled)
        good = np.isfinite(units) & (np.abs(units) < MONEY_LIMIT) & (np.abs(scaled - units) < 1e-3)
    amounts = pd.Series(np.where(good, units, 0).astype(np.int64), index=values.index).astype("Int64")
    amounts[~good] = pd.NA
    return amounts, present & ~good


def unit_prices(line_totals: pd.Series, quantity: pd.Series) -> pd.Series:
    """The exact unit price of lines that state only their total for all units (WooCommerce's
    subtotal, Amazon's ItemPrice): total / quantity rounded half up to the money scale; lines
    without a positive quantity keep their total (validation reports the quantity)."""
    positive = (quantity > 0).fillna(False).to_numpy()
    prices = line_totals.copy()
    divisor = quantity[positive].astype(np.int64)
    prices[positive] = (2 * line_totals[positive] + divisor) // (2 * divisor)
    return prices


def parse_int(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Whole numbers (ints, or strings/floats holding one) as nullable Int64; returns (ints, bad)."""
    candidates = pd.Series([None if type(v) is bool else v for v in values.tolist()], index=values.index, dtype=object)
    numeric = pd.to_numeric(candidates, errors="coerce")
    whole = numeric.notna() & np.isfinite(numeric.astype(float)) & (numeric == np.floor(numeric)) & (numeric.abs() < 2**31)
    bad = values.notna() & ~whole
    return numeric.where(whole).astype("Int64"), bad


def parse_times(values: pd.Series, *, naive_is_utc: bool = False) -> tuple[pd.Series, pd.Series]:
    parsed = parse_timestamps(values, naive_is_utc=naive_is_utc)
    return parsed, values.notna() & parsed.isna()


def text(values: pd.Series, *, upper: bool = False, max_length: int | None = None) -> pd.Series:
    """Non-empty text, or None."""
    out = []
    for v in values.tolist():
        if v is None or v == "":
            out.append(None)
            continue
        v = v if type(v) is str else str(v)
        if upper:
            v = v.upper()
        out.append(v[:max_length] if max_length else v)
    return pd.Series(out, index=values.index, dtype=object)


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
    """Each record's JSON text. orjson refuses integers beyond 64 bits (its own parser reads them as
    floats, but a record may come from elsewhere): those few go through the standard library."""
    try:
        return [orjson.dumps(r).decode() for r in records]
    except TypeError:
        return [_json_text(r) for r in records]


def _json_text(record) -> str:
    try:
        return orjson.dumps(record).decode()
    except TypeError:
        return json.dumps(record, ensure_ascii=False, default=str)


def record_hashes(payload_texts: list[str]) -> list[str]:
    return [hashlib.sha256(p.encode()).hexdigest() for p in payload_texts]


def customer_keys(emails: pd.Series, fallback_ids: pd.Series, source: str, secret: bytes) -> pd.Series:
    """HMAC-SHA256 of the normalised e-mail (the same person across marketplaces gets one key);
    without an e-mail, of the source's customer id; None for an anonymous guest."""
    identities = []
    for email, fallback in zip(emails.tolist(), fallback_ids.tolist()):
        if type(email) is str and "@" in email:
            identities.append(email.strip().lower())
        elif fallback not in (None, 0, "0", ""):
            identities.append(f"{source}:customer:{fallback}")
        else:
            identities.append(None)
    sign = _hmac_sha256(secret)
    keys = {v: sign(v.encode()) for v in set(identities) if v is not None}
    return pd.Series([keys.get(v) if v is not None else None for v in identities], index=emails.index, dtype=object)


def _hmac_sha256(key: bytes):
    """HMAC-SHA256 (RFC 2104) with the key's pads hashed once. OpenSSL's one-shot HMAC releases
    the GIL on every call, which under concurrent threads turns 2 µs into milliseconds."""
    block = 64
    key = (hashlib.sha256(key).digest() if len(key) > block else key).ljust(block, b"\0")
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key))
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key))

    def sign(message: bytes) -> str:
        digest = inner.copy()
        digest.update(message)
        result = outer.copy()
        result.update(digest.digest())
        return result.hexdigest()

    return sign


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
