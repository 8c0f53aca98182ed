"""Order exports dropped as files → the canonical model.

A source's `columns` mapping names, for each canonical field, the file's column (CSV) or key
(JSON Lines). A CSV row is one order line, its order's fields repeated on every row of the order;
a JSON Lines object is either such a row or a whole order with its lines in a list (`lines`).
Rows with the same order id and update time are one version of one order.

Times without an offset are read in the source's `timezone`; statuses go through the source's
`statuses` mapping (a canonical status may also be written as it is); money is decimal text.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from connectors.sources import ConfigError
from tasks.normalize.common import (
    CANONICAL_STATUSES, CONTACT_COLUMNS, LINE_COLUMNS, ORDER_COLUMNS, REFUND_COLUMNS, Normalized, Reasons,
    customer_keys, email_addresses, empty_frame, external_ids, fields, parse_int, parse_money, payloads, text,
)
from tasks.normalize.flatten import flatten, sum_by

ORDER_FIELDS = (
    "external_id", "order_number", "status", "currency", "created_at", "updated_at", "processed_at",
    "cancelled_at", "closed_at", "fulfilled_at", "subtotal", "discount_total", "shipping_total", "tax_total",
    "total", "refunded_total", "email", "customer_id", "phone", "accepts_marketing", "payment_method",
    "billing_country", "shipping_country", "discount_codes",
)
LINE_FIELDS = ("line_id", "sku", "title", "quantity", "unit_price", "line_discount", "refunded_quantity")
REQUIRED = ("external_id", "updated_at", "created_at", "status", "total", "sku", "quantity", "unit_price")
TIMESTAMPS = ("created_at", "updated_at", "processed_at", "cancelled_at", "closed_at", "fulfilled_at")
ZERO_IF_MISSING = ("discount_total", "shipping_total", "tax_total", "refunded_total")
_TRUE, _FALSE = {"true", "yes", "y", "1"}, {"false", "no", "n", "0"}


@dataclass(frozen=True)
class FileLayout:
    """How one source's files map onto the canonical fields (from its sources.yaml entry)."""

    columns: dict[str, str]                      # canonical field -> the file's column or key
    statuses: dict[str, str] = field(default_factory=dict)   # the file's status (any case) -> canonical
    timezone: str = "UTC"                        # for times written without an offset
    currency: str | None = None                  # when the file has no currency column
    lines_key: str = "lines"                     # JSON Lines: the key holding an order's lines

    @classmethod
    def from_options(cls, source: str, options: dict) -> "FileLayout":
        columns = options.get("columns") or {}
        unknown = sorted(set(columns) - set(ORDER_FIELDS) - set(LINE_FIELDS))
        if unknown:
            raise ConfigError(f"{source}: `columns` names unknown fields {unknown}; known: "
                              f"{', '.join(ORDER_FIELDS + LINE_FIELDS)}")
        required = [f for f in REQUIRED if f not in columns] + (
            ["currency"] if "currency" not in columns and not options.get("currency") else [])
        if required:
            raise ConfigError(f"{source}: `columns` must say which column holds {', '.join(required)}")
        statuses = {str(k).lower(): v for k, v in (options.get("statuses") or {}).items()}
        wrong = sorted(v for v in statuses.values() if v not in CANONICAL_STATUSES)
        if wrong:
            raise ConfigError(f"{source}: `statuses` maps to {wrong}, which are not canonical statuses "
                              f"({', '.join(CANONICAL_STATUSES)})")
        try:
            pd.Timestamp("2026-01-01").tz_localize(options.get("timezone", "UTC"))
        except Exception:
            raise ConfigError(f"{source}: unknown `timezone` {options.get('timezone')!r}") from None
        return cls({k: str(v) for k, v in columns.items()}, statuses, options.get("timezone", "UTC"),
                   options.get("currency"), options.get("lines_key", "lines"))

    def missing_columns(self, header: list[str]) -> list[str]:
        """Required columns a CSV header lacks, as "Column (field)"."""
        wanted = REQUIRED + (("currency",) if "currency" in self.columns else ())
        return [f"{self.columns[f]} ({f})" for f in wanted if self.columns[f] not in header]


def _nested(row: dict, key: str) -> bool:
    return isinstance(row.get(key), list)


def order_records(rows: list[dict], layout: FileLayout) -> list[dict]:
    """The file's rows grouped into order versions, in canonical names: one record per (order id,
    update time) with its lines and the rows it came from (1-based). An order field that differs
    between the rows of one order is noted in `conflicts` (the first row's value is kept)."""
    order_map = {f: layout.columns[f] for f in ORDER_FIELDS if f in layout.columns}
    line_map = {f: layout.columns[f] for f in LINE_FIELDS if f in layout.columns}
    records: dict[tuple, dict] = {}
    for number, row in enumerate(rows, start=1):
        order = {f: _value(row.get(column)) for f, column in order_map.items()}
        items = row.get(layout.lines_key) if _nested(row, layout.lines_key) else [row]
        key = (order.get("external_id"), order.get("updated_at"))
        if not all(isinstance(part, (str, int, float)) for part in key):
            key = ("row", number)  # no id or no version: its own record, quarantined with its reason
        record = records.get(key)
        if record is None:
            record = records[key] = {**order, "lines": [], "rows": [], "conflicts": []}
        else:
            record["conflicts"].extend(f for f, value in order.items()
                                       if value != record.get(f) and f not in record["conflicts"])
        record["rows"].append(number)
        record["lines"].extend({f: _value(item.get(column)) if isinstance(item, dict) else None
                                for f, column in line_map.items()} for item in items)
    return list(records.values())


def _value(value):
    """Empty CSV fields are missing values; numbers and text pass as they are."""
    if isinstance(value, str):
        value = value.strip()
        return value or None
    return value


def normalize_file_orders(records: list, source: str, secret: bytes, layout: FileLayout) -> Normalized:
    reasons = Reasons()
    rid = np.arange(len(records))
    top = fields(records, list(ORDER_FIELDS) + ["lines", "rows", "conflicts"])
    conflicts = [(r, c) for r, c in zip(rid.tolist(), top["conflicts"].tolist()) if c]
    for position, names in conflicts:
        reasons.by_rid[position].append(f"orders: the rows of this order disagree on {', '.join(names)}")

    external_id = external_ids(top["external_id"])
    times = {name: reasons.parsed(rid, top[name], lambda v: _local_times(v, layout.timezone), "timestamp",
                                  layout.columns.get(name, name))
             for name in TIMESTAMPS}
    money = {name: reasons.parsed(rid, top[name], parse_money, "money", layout.columns.get(name, name))
             for name in ("subtotal", "discount_total", "shipping_total", "tax_total", "total", "refunded_total")}
    for name in ZERO_IF_MISSING:
        money[name] = money[name].mask(top[name].isna().to_numpy(), 0)

    lines, line_reasons = _lines(top, source, external_id, layout)
    reasons.merge(line_reasons)
    gross = sum_by(lines["rid"], lines["quantity"] * lines["unit_price"], len(records))
    money["subtotal"] = money["subtotal"].where(top["subtotal"].notna().to_numpy(), gross)

    source_status = text(top["status"], max_length=64)
    lowered = source_status.str.lower()
    status = lowered.map(layout.statuses)
    status = status.where(status.notna(), lowered.where(lowered.isin(CANONICAL_STATUSES)))
    status = status.where(status.notna(), "unknown (" + source_status.fillna("none") + ")")
    currency = text(top["currency"], upper=True)
    if layout.currency:
        currency = currency.fillna(layout.currency.upper())

    key = customer_keys(top["email"], top["customer_id"], source, secret)
    billing_country = text(top["billing_country"], upper=True)
    orders = pd.DataFrame({
        "rid": rid,
        "source": source,
        "external_id": external_id,
        "order_number": text(top["order_number"], max_length=64),
        "status": status,
        "source_status": source_status,
        "currency": currency,
        **times,
        **money,
        "customer_key": key,
        "payment_method": text(top["payment_method"], max_length=64),
        "billing_country": billing_country,
        "shipping_country": text(top["shipping_country"], upper=True),
        "discount_codes": text(top["discount_codes"], max_length=500),
        "line_count": np.bincount(lines["rid"].to_numpy(dtype=np.int64), minlength=len(records)),
        "item_count": sum_by(lines["rid"], lines["quantity"], len(records)),
        "is_deleted": (status == "deleted").to_numpy(),
    })[ORDER_COLUMNS]

    contacts = pd.DataFrame({
        "rid": rid,
        "customer_key": key,
        "email": email_addresses(top["email"]),
        "phone": text(top["phone"]),
        "accepts_marketing": [_flag(v) for v in top["accepts_marketing"].tolist()],
        "country": billing_country,
        "order_created_at": times["created_at"],
    })[CONTACT_COLUMNS]
    contacts = contacts[contacts["customer_key"].notna()]

    keys = pd.DataFrame({"rid": rid, "external_id": external_id, "updated_at": times["updated_at"]})
    return Normalized(source, payloads(records), keys, orders, lines[LINE_COLUMNS], empty_frame(REFUND_COLUMNS),
                      contacts, reasons)


def _lines(top: pd.DataFrame, source: str, external_id: pd.Series, layout: FileLayout) -> tuple[pd.DataFrame, Reasons]:
    reasons = Reasons()
    rids, items = flatten(top["lines"])
    if not items:
        return empty_frame(LINE_COLUMNS), reasons
    item = fields(items, list(LINE_FIELDS))
    name = lambda f: f"lines.{layout.columns.get(f, f)}"  # noqa: E731  (the file's own column in reasons)
    quantity = reasons.parsed(rids, item["quantity"], parse_int, "quantity", name("quantity"))
    unit_price = reasons.parsed(rids, item["unit_price"], parse_money, "money", name("unit_price"))
    discount = reasons.parsed(rids, item["line_discount"], parse_money, "money", name("line_discount"))
    discount = discount.mask(item["line_discount"].isna().to_numpy(), 0)
    refunded = reasons.parsed(rids, item["refunded_quantity"], parse_int, "quantity", name("refunded_quantity"))
    # Without a line id, a line is known by its place in the order (1, 2, …).
    place = pd.Series(rids).groupby(rids).cumcount().add(1).astype(str)
    line_id = external_ids(item["line_id"])
    lines = pd.DataFrame({
        "rid": rids,
        "source": source,
        "external_order_id": external_id.to_numpy()[rids],
        "line_id": line_id.where(line_id.notna(), place.to_numpy()),
        "sku": text(item["sku"], max_length=64),
        "title": text(item["title"]),
        "quantity": quantity,
        "unit_price": unit_price,
        "discount": discount,
        "line_total": quantity * unit_price - discount,
        "refunded_quantity": refunded.fillna(0),
    })
    return lines, reasons


def _local_times(values: pd.Series, zone: str) -> tuple[pd.Series, pd.Series]:
    """ISO 8601 times (a space may stand for the T) to UTC: with an offset as written, without one
    in `zone`. A local time that does not exist or happens twice at a DST change is unparsable:
    guessing would put an order an hour off."""
    strings = pd.Series([v if type(v) is str else None for v in values.tolist()], index=values.index, dtype=object)
    offset = strings.str.contains(r"(?:Z|[+-]\d\d:?\d\d)$", regex=True, na=False).to_numpy()
    parsed = pd.Series(pd.NaT, index=values.index, dtype="datetime64[us, UTC]")
    if offset.any():
        parsed[offset] = pd.to_datetime(strings[offset], utc=True, format="ISO8601", errors="coerce")
    local = ~offset & strings.notna().to_numpy()
    if local.any():
        naive = pd.to_datetime(strings[local], format="ISO8601", errors="coerce")
        parsed[local] = naive.dt.tz_localize(zone, ambiguous="NaT", nonexistent="NaT").dt.tz_convert("UTC")
    return parsed, values.notna() & parsed.isna()


def _flag(value) -> bool | None:
    if type(value) is bool:
        return value
    lowered = str(value).strip().lower() if value is not None else ""
    return True if lowered in _TRUE else False if lowered in _FALSE else None
