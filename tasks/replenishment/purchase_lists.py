"""What purchasing acts on: one CSV of suggested orders per supplier, and the morning reminder.

Files go to `<purchase_lists_dir>/<as_of>/`; a re-run for the date replaces them all, so the
folder always holds exactly the latest plan for that date. The reminder names SKUs and numbers
only — no customer data is involved.
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from tasks.replenishment.store import ALERT_ORDER

NO_SUPPLIER = "no supplier on file"
COLUMNS = ["sku", "stock_pool", "quantity", "packs", "pack_size", "unit_cost", "line_cost", "level",
           "days_of_cover", "stockout_date", "on_order", "reason"]


@dataclass(frozen=True)
class PurchaseList:
    supplier: str
    path: Path
    lines: int
    units: int
    cost: float   # NaN when a unit cost is missing


def write_purchase_lists(rows: pd.DataFrame, as_of: date, directory: Path) -> list[PurchaseList]:
    """One CSV per supplier of the rows with a suggested quantity, most urgent first."""
    folder = directory / as_of.isoformat()
    if folder.exists():
        shutil.rmtree(folder)
    to_order = rows[rows["suggested_quantity"] > 0]
    if to_order.empty:
        return []
    folder.mkdir(parents=True)
    urgency = to_order["level"].map({level: rank for rank, level in enumerate(ALERT_ORDER)}).fillna(len(ALERT_ORDER))
    table = pd.DataFrame({
        "supplier": to_order["supplier"].fillna(NO_SUPPLIER),
        "sku": to_order["sku"], "stock_pool": to_order["location"],
        "quantity": to_order["suggested_quantity"].astype(np.int64),
        "packs": (to_order["suggested_quantity"] // to_order["pack_size"].clip(lower=1)).astype(np.int64),
        "pack_size": to_order["pack_size"],
        "unit_cost": to_order["unit_cost"].round(2),
        "line_cost": (to_order["unit_cost"] * to_order["suggested_quantity"]).round(2),
        "level": to_order["level"], "days_of_cover": to_order["days_of_cover"].round(1),
        "stockout_date": to_order["stockout_date"], "on_order": to_order["on_order"].astype(np.int64),
        "reason": to_order["quantity_reason"],
        "_urgency": urgency, "_risk": to_order["revenue_at_risk"],
    }).sort_values(["supplier", "_urgency", "_risk", "sku"], ascending=[True, True, False, True])
    lists = []
    for supplier, group in table.groupby("supplier", sort=True):  # one file per supplier: tens, not rows
        path = folder / f"{_slug(supplier)}.csv"
        group[COLUMNS].to_csv(path, index=False)
        cost = group["line_cost"].sum(min_count=len(group))
        lists.append(PurchaseList(supplier, path, len(group), int(group["quantity"].sum()), float(cost)))
    return lists


def reminder(as_of: date, summary: dict, alerts: pd.DataFrame, lists: list[PurchaseList], top: int = 10) -> tuple[str, str]:
    """Subject and plain-text body of the reminder to purchasing."""
    subject = (f"Replenishment {as_of}: {summary['critical']} critical, {summary['warning']} warning, "
               f"{summary['to_order']} SKUs to order")
    lines = [subject, ""]
    urgent = alerts[alerts["level"] == "critical"].head(top)
    if len(urgent):
        lines.append(f"Most revenue at risk (critical, top {len(urgent)}):")
        lines += [f"  {row.sku} ({row.location}): order {int(row.suggested_quantity)}, "
                  f"{_cover(row.days_of_cover)}, {row.revenue_at_risk:,.2f} at risk" for row in urgent.itertuples()]
        lines.append("")
    if lists:
        lines.append("Purchase lists:")
        lines += [f"  {item.supplier}: {item.lines} SKUs, {item.units} units, "
                  f"{'cost unknown' if np.isnan(item.cost) else f'{item.cost:,.2f}'} — {item.path}" for item in lists]
    else:
        lines.append("Nothing to order today.")
    return subject, "\n".join(lines)


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "supplier"


def _cover(days) -> str:
    return "no stock left" if pd.isna(days) or days <= 0 else f"{days:.1f} days of cover"
