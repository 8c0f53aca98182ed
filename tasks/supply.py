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
from warehouse.io import upsert_frame

COLUMNS = ["sku", "supplier", "pack_size", "moq", "lead_time_days", "lead_time_std_days"]
REQUIRED = ["sku", "pack_size", "lead_time_days"]


@dataclass
class SupplyImport:
    loaded: int = 0
    problems: list[str] = field(default_factory=list)


def read_supply(path: Path) -> tuple[pd.DataFrame, list[str]]:
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise ValueError(f"{path}: missing column(s) {', '.join(missing)}; expected {', '.join(COLUMNS)}")
    for name in COLUMNS:
        if name not in frame.columns:
            frame[name] = ""
    frame = frame[COLUMNS].apply(lambda s: s.str.strip())
    numbers = {name: pd.to_numeric(frame[name].replace("", None), errors="coerce")
               for name in ("pack_size", "moq", "lead_time_days", "lead_time_std_days")}
    line = frame.index + 2  # the header is line 1
    checks = [
        (frame["sku"] == "", "sku is empty"),
        (frame["sku"].duplicated(keep=False) & (frame["sku"] != ""), "sku appears more than once"),
        (~(numbers["pack_size"] >= 1) | (numbers["pack_size"] % 1 != 0), "pack_size must be a whole number ≥ 1"),
        (numbers["moq"].notna() & ((numbers["moq"] < 1) | (numbers["moq"] % 1 != 0)), "moq must be a whole number ≥ 1"),
        (~(numbers["lead_time_days"] >= 0) | (numbers["lead_time_days"] % 1 != 0), "lead_time_days must be a whole number ≥ 0"),
        (numbers["lead_time_std_days"].notna() & (numbers["lead_time_std_days"] < 0), "lead_time_std_days must be ≥ 0"),
        ((frame["lead_time_std_days"] != "") & numbers["lead_time_std_days"].isna(), "lead_time_std_days is not a number"),
    ]
    bad = pd.Series(False, index=frame.index)
    problems = []
    for mask, message in checks:
        mask = mask.fillna(True) if mask.dtype == object else mask
        for position in frame.index[mask]:
            problems.append(f"line {line[position]}: {message} (sku {frame.at[position, 'sku'] or '—'})")
        bad |= mask
    good = frame[~bad]
    out = pd.DataFrame({
        "sku": good["sku"],
        "supplier": good["supplier"].replace("", None),
        "pack_size": numbers["pack_size"][~bad].astype("Int64"),
        "moq": numbers["moq"][~bad].fillna(1).astype("Int64"),
        "lead_time_days": numbers["lead_time_days"][~bad].astype("Int64"),
        "lead_time_std_days": numbers["lead_time_std_days"][~bad],
    })
    return out, problems


def import_supply(engine: Engine, path: Path) -> SupplyImport:
    rows, problems = read_supply(path)
    rows["updated_at"] = pd.Timestamp(datetime.now(timezone.utc))
    with write_transaction(engine) as conn:
        upsert_frame(conn, "products", rows, ["sku"], [c for c in rows.columns if c != "sku"])
    return SupplyImport(loaded=len(rows), problems=problems)
