"""The purchasing team's supplier catalogue (CSV) → purchasing attributes of `products`.

Marketplaces do not know pack sizes, minimum orders or lead times; purchasing keeps them in a
sheet with the columns below. Good rows are loaded; each bad row is reported with its line
number and what is wrong, and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine

from warehouse.engine import write_transaction
from tasks.sheets import failing_rows, numbers, read_sheet
from warehouse.io import upsert_frame

COLUMNS = ["sku", "supplier", "pack_size", "moq", "lead_time_days", "lead_time_std_days"]
REQUIRED = ["sku", "pack_size", "lead_time_days"]


@dataclass
class SupplyImport:
    loaded: int = 0
    problems: list[str] = field(default_factory=list)


def read_supply(path: Path) -> tuple[pd.DataFrame, list[str]]:
    frame = read_sheet(path, COLUMNS, REQUIRED)
    number = numbers(frame, ["pack_size", "moq", "lead_time_days", "lead_time_std_days"])
    bad, problems = failing_rows(frame, [
        (frame["sku"] == "", "sku is empty"),
        (frame["sku"].duplicated(keep=False) & (frame["sku"] != ""), "sku appears more than once"),
        (~(number["pack_size"] >= 1) | (number["pack_size"] % 1 != 0), "pack_size must be a whole number ≥ 1"),
        (number["moq"].notna() & ((number["moq"] < 1) | (number["moq"] % 1 != 0)), "moq must be a whole number ≥ 1"),
        (~(number["lead_time_days"] >= 0) | (number["lead_time_days"] % 1 != 0), "lead_time_days must be a whole number ≥ 0"),
        (number["lead_time_std_days"].notna() & (number["lead_time_std_days"] < 0), "lead_time_std_days must be ≥ 0"),
        ((frame["lead_time_std_days"] != "") & number["lead_time_std_days"].isna(), "lead_time_std_days is not a number"),
    ], key="sku")
    good = frame[~bad]
    out = pd.DataFrame({
        "sku": good["sku"],
        "supplier": good["supplier"].replace("", None),
        "pack_size": number["pack_size"][~bad].astype("Int64"),
        "moq": number["moq"][~bad].fillna(1).astype("Int64"),
        "lead_time_days": number["lead_time_days"][~bad].astype("Int64"),
        "lead_time_std_days": number["lead_time_std_days"][~bad],
    })
    return out, problems


def import_supply(engine: Engine, path: Path) -> SupplyImport:
    rows, problems = read_supply(path)
    rows["updated_at"] = pd.Timestamp(datetime.now(timezone.utc))
    with write_transaction(engine) as conn:
        upsert_frame(conn, "products", rows, ["sku"], [c for c in rows.columns if c != "sku"])
    return SupplyImport(loaded=len(rows), problems=problems)
