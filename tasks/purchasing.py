"""Purchase orders: the purchasing system's export (CSV) in, units on order per item out.

One row per SKU on a purchase order:
    po_number, sku, stock_pool, supplier, quantity, received_quantity,
    ordered_on, expected_on, received_on, status (open | received | cancelled)
Importing is an upsert by (po_number, sku): a later export of the same order updates it, so the
file can be re-imported every morning. Each bad row is reported with its line and changes nothing.

On order on a date counts what had been ordered by then (that day included, like the day's stock
snapshot) and had not arrived: an open line's units still to come, and all of a line received
after that date (so a backfill sees the order as it stood). Cancelled lines never count.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import Connection, Engine, case, func, or_, select

from tasks.sheets import dates, failing_rows, numbers, read_sheet
from warehouse.engine import write_transaction
from warehouse.io import read_frame, upsert_frame
from warehouse.models import PurchaseOrderLine

COLUMNS = ["po_number", "sku", "stock_pool", "supplier", "quantity", "received_quantity",
           "ordered_on", "expected_on", "received_on", "status"]
REQUIRED = ["po_number", "sku", "stock_pool", "quantity", "ordered_on", "status"]
STATUSES = ("open", "received", "cancelled")


@dataclass
class PurchaseOrderImport:
    loaded: int = 0
    open_lines: int = 0
    problems: list[str] = field(default_factory=list)


def read_purchase_orders(path: Path) -> tuple[pd.DataFrame, list[str]]:
    frame = read_sheet(path, COLUMNS, REQUIRED)
    number = numbers(frame, ["quantity", "received_quantity"])
    day = dates(frame, ["ordered_on", "expected_on", "received_on"])
    received = number["received_quantity"].fillna(0)
    status = frame["status"].str.lower()
    key = frame["po_number"] + "/" + frame["sku"]
    bad, problems = failing_rows(frame.assign(line=key), [
        ((frame["po_number"] == "") | (frame["sku"] == ""), "po_number and sku are required"),
        (key.duplicated(keep=False), "the same SKU appears twice on this purchase order"),
        (frame["stock_pool"] == "", "stock_pool is empty (the shop whose stock the order goes into)"),
        (~(number["quantity"] >= 1) | (number["quantity"] % 1 != 0), "quantity must be a whole number ≥ 1"),
        ((frame["received_quantity"] != "") & (~(received >= 0) | (received % 1 != 0)),
         "received_quantity must be a whole number ≥ 0"),
        (received > number["quantity"], "received_quantity is more than the quantity ordered"),
        (day["ordered_on"].isna(), "ordered_on must be a date (YYYY-MM-DD)"),
        (((frame["expected_on"] != "") & day["expected_on"].isna())
         | ((frame["received_on"] != "") & day["received_on"].isna()), "expected_on / received_on must be dates"),
        (day["received_on"] < day["ordered_on"], "received_on is before ordered_on"),
        (~status.isin(STATUSES), f"status must be one of {', '.join(STATUSES)}"),
        ((status == "received") & day["received_on"].isna(), "a received line needs received_on"),
    ], key="line")
    ok = ~bad
    out = pd.DataFrame({
        "po_number": frame["po_number"][ok], "sku": frame["sku"][ok], "stock_pool": frame["stock_pool"][ok],
        "supplier": frame["supplier"][ok].replace("", None),
        "quantity": number["quantity"][ok].astype("int64"),
        # A received line without a count received everything.
        "received_quantity": received[ok].where((status[ok] != "received") | (frame["received_quantity"][ok] != ""),
                                                number["quantity"][ok]).astype("int64"),
        **{name: day[name][ok].dt.date for name in ("ordered_on", "expected_on", "received_on")},
        "status": status[ok],
    })
    return out, problems


def import_purchase_orders(engine: Engine, path: Path) -> PurchaseOrderImport:
    rows, problems = read_purchase_orders(path)
    rows["updated_at"] = pd.Timestamp(datetime.now(timezone.utc))
    with write_transaction(engine) as conn:
        upsert_frame(conn, "purchase_orders", rows, ["po_number", "sku"],
                     [c for c in rows.columns if c not in ("po_number", "sku")])
    return PurchaseOrderImport(loaded=len(rows), open_lines=int((rows["status"] == "open").sum()), problems=problems)


def on_order(conn: Connection, as_of: date) -> pd.DataFrame:
    """Units on order on `as_of` per (sku, location), and of those how many are overdue (expected
    before `as_of`)."""
    po = PurchaseOrderLine
    arrived_later = po.received_on.is_not(None) & (po.received_on > as_of)
    units = case((arrived_later, po.quantity), else_=po.quantity - po.received_quantity)
    overdue = case((po.expected_on < as_of, units), else_=0)
    frame = read_frame(conn, select(
        po.sku, po.stock_pool.label("location"), func.sum(units).label("on_order"), func.sum(overdue).label("overdue"),
    ).where(po.ordered_on <= as_of, po.status != "cancelled", or_(po.status == "open", arrived_later)).group_by(
        po.sku, po.stock_pool))
    return frame.set_index(["sku", "location"]).astype(float)
