"""The promotion calendar the team edits (CSV), checked row by row into `promotions` rows.

    promotion_id, name, type, parameters, starts_at, ends_at, skus, categories, channels,
    member_only, codes

- `type`: percentage | fixed | threshold | gift | flash | member.
- `parameters`: JSON, what the type needs:
    percentage / member  {"percent": 20}
    fixed                {"amount": "5.00"}                       (off the order)
    threshold            {"tiers": [{"spend": "100", "off": "20"}, {"spend": "200", "off": "50"}]}
    gift                 {"gift_sku": "MUG-1", "min_spend": "50", "gift_cost": "3.10"}  (gift_cost optional:
                         the gift's unit cost in the catalogue otherwise)
    flash                {"phases": [{"minutes": 60, "percent": 30}, {"gift_sku": "MUG-1"}]}
  any type may add {"shipping_cost_per_order": "4.90"} when it waives shipping.
- `starts_at`, `ends_at`: ISO times; without an offset they are UTC.
- `skus`, `categories`, `channels` (source names), `codes`: separated by `;` or `,`; empty means all
  SKUs / every channel / no code (the promotion applies by scope and window).

A bad row is reported with its line and every reason and loads nothing; the good rows load, and
re-importing updates them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from tasks.sheets import failing_rows, read_sheet
from warehouse.engine import write_transaction
from warehouse.io import upsert_frame

COLUMNS = ["promotion_id", "name", "type", "parameters", "starts_at", "ends_at", "skus", "categories", "channels",
           "member_only", "codes"]
TYPES = ("percentage", "fixed", "threshold", "gift", "flash", "member")
# A promotion running longer than this (a welcome code, a standing member discount) is part of
# normal trading: its days are neither left out of baselines nor out of the demand history.
EVERGREEN_DAYS = 28
TRUE, FALSE = {"1", "true", "yes", "y"}, {"", "0", "false", "no", "n"}
VALUE_COLUMNS = ["origin", "name", "type", "parameters", "starts_at", "ends_at", "scope_skus", "scope_categories",
                 "scope_channels", "member_only", "codes"]


@dataclass
class CalendarImport:
    loaded: int = 0
    problems: list[str] = field(default_factory=list)


def read_calendar(path: Path) -> tuple[pd.DataFrame, list[str]]:
    frame = read_sheet(path, COLUMNS, ["promotion_id", "type", "starts_at", "ends_at"])
    kind = frame["type"].str.lower()
    parameters = frame["parameters"].map(_json_object)
    starts, ends = (pd.to_datetime(frame[c].replace("", None), utc=True, errors="coerce", format="ISO8601")
                    for c in ("starts_at", "ends_at"))
    member = frame["member_only"].str.lower()
    problems_of = pd.Series([parameter_problem(k, p) for k, p in zip(kind, parameters)], index=frame.index)
    bad, problems = failing_rows(frame, [
        (frame["promotion_id"] == "", "promotion_id is required"),
        (frame["promotion_id"].duplicated(keep=False) & (frame["promotion_id"] != ""), "promotion_id appears twice"),
        (~kind.isin(TYPES), f"type must be one of {', '.join(TYPES)}"),
        (parameters.isna(), 'parameters must be a JSON object, e.g. {"percent": 20}'),
        (starts.isna() | ends.isna(), "starts_at and ends_at must be ISO times, e.g. 2026-11-27T08:00:00Z"),
        (starts >= ends, "ends_at must be after starts_at"),
        (~member.isin(TRUE | FALSE), "member_only must be true or false"),
    ], key="promotion_id")
    # A parameter problem names what is missing, so it gets its own line per row.
    wrong = ~bad & parameters.notna() & kind.isin(TYPES) & (problems_of != "")
    problems = sorted(problems + [f"line {i + 2}: {problems_of[i]} (promotion_id {frame.at[i, 'promotion_id']})"
                                  for i in frame.index[wrong]], key=lambda text: int(text.split()[1].rstrip(":")))
    ok = ~(bad | wrong)
    good = frame[ok]
    return pd.DataFrame({
        "promotion_id": "calendar:" + good["promotion_id"],
        "origin": "calendar",
        "name": good["name"].where(good["name"] != "", good["promotion_id"]),
        "type": kind[ok],
        "parameters": parameters[ok].map(lambda p: json.dumps(p, sort_keys=True)),
        "starts_at": starts[ok], "ends_at": ends[ok],
        "scope_skus": good["skus"].map(_json_list), "scope_categories": good["categories"].map(_json_list),
        "scope_channels": good["channels"].map(_json_list), "member_only": member[ok].isin(TRUE),
        "codes": good["codes"].map(lambda text: _json_list(text.upper())),
    }), problems


def import_calendar(engine: Engine, path: Path) -> CalendarImport:
    rows, problems = read_calendar(path)
    store_promotions(engine, rows)
    return CalendarImport(loaded=len(rows), problems=problems)


def store_promotions(engine: Engine, rows: pd.DataFrame) -> None:
    """Upsert `promotions` rows (from the calendar or a marketplace); unchanged rows stay as they were."""
    rows = rows.assign(updated_at=pd.Timestamp(datetime.now(timezone.utc)))
    with write_transaction(engine) as conn:
        upsert_frame(conn, "promotions", rows, ["promotion_id"], VALUE_COLUMNS + ["updated_at"],
                     only_if_changed=VALUE_COLUMNS)


def parameter_problem(kind: str, parameters: dict | None) -> str:
    """What a promotion of `kind` lacks in its parameters ("" when nothing)."""
    if not isinstance(parameters, dict):
        return "parameters must be a JSON object"
    if kind in ("percentage", "member") and not _share(parameters.get("percent")):
        return f"a {kind} promotion needs a percent between 0 and 100"
    if kind == "fixed" and _amount(parameters.get("amount")) is None:
        return "a fixed promotion needs an amount"
    if kind == "threshold":
        tiers = parameters.get("tiers")
        if not isinstance(tiers, list) or not tiers or any(
                not isinstance(t, dict) or _amount(t.get("spend")) is None or _amount(t.get("off")) is None
                for t in tiers):
            return 'a threshold promotion needs tiers like [{"spend": "100", "off": "20"}]'
    if kind == "gift" and not parameters.get("gift_sku"):
        return "a gift promotion needs a gift_sku"
    if kind == "flash":
        phases = parameters.get("phases")
        if not isinstance(phases, list) or not phases or not all(isinstance(p, dict) for p in phases):
            return 'a flash promotion needs phases like [{"minutes": 60, "percent": 30}, {"gift_sku": "MUG-1"}]'
    return ""


def tiers_of(parameters: dict) -> list[tuple[Decimal, Decimal]]:
    """A threshold promotion's (spend, off) tiers, the highest spend first."""
    tiers = [(_amount(t.get("spend")), _amount(t.get("off"))) for t in parameters.get("tiers") or []]
    return sorted(((s, o) for s, o in tiers if s is not None and o is not None), reverse=True)


def is_evergreen(starts_at, ends_at) -> bool:
    return pd.Timestamp(ends_at) - pd.Timestamp(starts_at) > pd.Timedelta(days=EVERGREEN_DAYS)


def as_list(text) -> list[str]:
    """A `promotions` JSON list column as a list ([] when empty)."""
    if text is None or (isinstance(text, float) and text != text) or text == "":
        return []
    return [str(item) for item in json.loads(text)]


def _share(value) -> bool:
    try:
        return 0 < float(value) <= 100
    except (TypeError, ValueError):
        return False


def _amount(value) -> Decimal | None:
    try:
        amount = Decimal(str(value))
    except (InvalidOperation, ValueError):
        return None
    return amount if amount.is_finite() and amount >= 0 else None


def _json_object(text: str) -> dict | None:
    if not text:
        return {}
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _json_list(text: str) -> str | None:
    items = [item.strip() for item in text.replace(";", ",").split(",") if item.strip()]
    return json.dumps(items) if items else None
