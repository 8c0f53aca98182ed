"""The pricing team's sheets (CSV): the competitor catalogue and the pricing rules.

    competitor catalogue: sku, competitor, url, price_selector (optional), active (optional, true)
    pricing rules:        sku, role (traffic | regular), min_margin (optional), member_price (optional)

Importing upserts by key, so a sheet can be re-imported after every edit; a catalogue row is
switched off with `active` false rather than deleted. Each bad row is reported with its line and
reason and changes nothing; the good rows load.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from tasks.sheets import failing_rows, numbers, read_sheet
from warehouse.engine import write_transaction
from warehouse.io import upsert_frame

CATALOGUE_COLUMNS = ["sku", "competitor", "url", "price_selector", "active"]
RULE_COLUMNS = ["sku", "role", "min_margin", "member_price"]
ROLES = ("traffic", "regular")
TRUE, FALSE = {"", "1", "true", "yes", "y"}, {"0", "false", "no", "n"}


@dataclass
class SheetImport:
    loaded: int = 0
    problems: list[str] = field(default_factory=list)


def read_catalogue(path: Path) -> tuple[pd.DataFrame, list[str]]:
    frame = read_sheet(path, CATALOGUE_COLUMNS, ["sku", "competitor", "url"])
    active = frame["active"].str.lower()
    key = frame["sku"] + " at " + frame["competitor"]
    bad, problems = failing_rows(frame.assign(row=key), [
        ((frame["sku"] == "") | (frame["competitor"] == "") | (frame["url"] == ""), "sku, competitor and url are required"),
        (~frame["url"].str.lower().str.match(r"https?://[^/\s]+"), "url must be an http(s) address"),
        (key.duplicated(keep=False), "the same SKU and competitor appear twice"),
        (~active.isin(TRUE | FALSE), "active must be true or false"),
    ], key="row")
    good = frame[~bad]
    return pd.DataFrame({
        "sku": good["sku"], "competitor": good["competitor"], "url": good["url"],
        "price_selector": good["price_selector"].replace("", None), "active": active[~bad].isin(TRUE),
    }), problems


def read_rules(path: Path) -> tuple[pd.DataFrame, list[str]]:
    frame = read_sheet(path, RULE_COLUMNS, ["sku", "role"])
    number = numbers(frame, ["min_margin"])
    member = frame["member_price"].map(_money)
    role = frame["role"].str.lower()
    bad, problems = failing_rows(frame, [
        (frame["sku"] == "", "sku is required"),
        (frame["sku"].duplicated(keep=False) & (frame["sku"] != ""), "sku appears more than once"),
        (~role.isin(ROLES), f"role must be one of {', '.join(ROLES)}"),
        ((frame["min_margin"] != "") & ~((number["min_margin"] >= 0) & (number["min_margin"] < 1)),
         "min_margin must be a share from 0 to below 1 (0.15 is 15%)"),
        ((frame["member_price"] != "") & member.isna(), "member_price must be an amount ≥ 0"),
    ], key="sku")
    ok = ~bad
    return pd.DataFrame({"sku": frame["sku"][ok], "role": role[ok], "min_margin": number["min_margin"][ok],
                         "member_price": member[ok]}), problems


def import_catalogue(engine: Engine, path: Path) -> SheetImport:
    rows, problems = read_catalogue(path)
    return _upsert(engine, "competitor_products", rows, ["sku", "competitor"], problems)


def import_rules(engine: Engine, path: Path) -> SheetImport:
    rows, problems = read_rules(path)
    return _upsert(engine, "pricing_rules", rows, ["sku"], problems)


def _upsert(engine: Engine, table: str, rows: pd.DataFrame, keys: list[str], problems: list[str]) -> SheetImport:
    rows = rows.assign(updated_at=pd.Timestamp(datetime.now(timezone.utc)))
    values = [c for c in rows.columns if c not in keys]
    with write_transaction(engine) as conn:
        upsert_frame(conn, table, rows, keys, values, only_if_changed=[c for c in values if c != "updated_at"])
    return SheetImport(loaded=len(rows), problems=problems)


def _money(text: str) -> Decimal | None:
    """A plain amount as the team types it ("12.50"); None when empty or not one."""
    try:
        value = Decimal(text) if text else None
    except InvalidOperation:
        return None
    return value if value is not None and value.is_finite() and value >= 0 else None
