"""Stock history from before shopops ran (an ERP or WMS export, CSV) → inventory_snapshots.

    date, stock_pool, location, sku, available

One row per day, shop, warehouse location and SKU: the stock at the end of that day. `location`
is the Shopify location's id or name; the shop's locations must have been synced once
(`shopops ingest`), so that imported rows and the daily sync's rows are the same series and
never counted twice. Rows that repeat the previous day's value of their series are not stored
(the snapshots are sparse: a value holds until the next row). Importing again is harmless: a
day's value is overwritten only when it differs. Each bad row is reported and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from tasks.sheets import dates, failing_rows, numbers, read_sheet
from warehouse.engine import write_transaction
from warehouse.io import read_frame, upsert_frame
from warehouse.models import InventoryLevel

COLUMNS = ["date", "stock_pool", "location", "sku", "available"]
SERIES = ["stock_pool", "location_id", "sku"]
RUN_ID = "stock-history-import"


@dataclass
class StockHistoryImport:
    rows: int = 0           # good rows in the file
    stored: int = 0         # of those, changes written (the rest repeat the day before)
    problems: list[str] = field(default_factory=list)


def read_stock_history(path: Path, locations: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Good rows with their location id, and a line per bad row. `locations` has (source,
    location_id, location_name) of the synced shops."""
    frame = read_sheet(path, COLUMNS, COLUMNS)
    number = numbers(frame, ["available"])
    day = dates(frame, ["date"])["date"]
    by_id = locations.assign(key=locations["location_id"])
    by_name = locations.assign(key=locations["location_name"])
    names = pd.concat([by_id, by_name]).drop_duplicates(["source", "key"]).rename(columns={"source": "stock_pool"})
    resolved = frame.merge(names[["stock_pool", "key", "location_id"]], how="left",
                           left_on=["stock_pool", "location"], right_on=["stock_pool", "key"]).set_axis(frame.index)
    synced = frame["stock_pool"].isin(set(locations["source"]))
    location_id = resolved["location_id"].fillna(frame["location"])
    series_day = frame["stock_pool"] + "/" + location_id + "/" + frame["sku"] + "/" + frame["date"]
    bad, problems = failing_rows(frame.assign(row=frame["sku"] + " on " + frame["date"]), [
        (day.isna(), "date must be a date (YYYY-MM-DD)"),
        ((frame["sku"] == "") | (frame["stock_pool"] == "") | (frame["location"] == ""),
         "stock_pool, location and sku are required"),
        (~synced & (frame["stock_pool"] != ""),
         "no synced shop has this stock_pool: run `shopops ingest` first so its locations are known"),
        (synced & resolved["location_id"].isna(), "location is neither the id nor the name of one of the shop's locations"),
        ((frame["available"] == "") | number["available"].isna() | (number["available"] % 1 != 0),
         "available must be a whole number"),
        (series_day.duplicated(keep=False), "the same SKU, location and date appear twice"),
    ], key="row")
    good = pd.DataFrame({
        "stock_pool": frame["stock_pool"], "location_id": resolved["location_id"], "sku": frame["sku"],
        "snapshot_date": day, "available": number["available"],
    })[~bad]
    return good.astype({"available": "int64"}), problems


def import_stock_history(engine: Engine, path: Path) -> StockHistoryImport:
    with engine.connect() as conn:
        locations = read_frame(conn, select(InventoryLevel.source, InventoryLevel.location_id,
                                            InventoryLevel.location_name).distinct())
    rows, problems = read_stock_history(path, locations)
    changes = _changes_only(rows)
    stored = pd.DataFrame({
        "source": changes["stock_pool"], "location_id": changes["location_id"], "sku": changes["sku"],
        "snapshot_date": changes["snapshot_date"].dt.date, "available": changes["available"],
        "run_id": RUN_ID, "taken_at": pd.Timestamp(datetime.now(timezone.utc)),
    })
    with write_transaction(engine) as conn:
        upsert_frame(conn, "inventory_snapshots", stored, ["source", "location_id", "sku", "snapshot_date"],
                     ["available", "run_id", "taken_at"], only_if_changed=["available"])
    return StockHistoryImport(rows=len(rows), stored=len(stored), problems=problems)


def _changes_only(rows: pd.DataFrame) -> pd.DataFrame:
    """The first row of each series and every row whose value differs from the one before."""
    ordered = rows.sort_values([*SERIES, "snapshot_date"])
    same_series = (ordered[SERIES] == ordered[SERIES].shift()).all(axis=1)
    repeat = same_series & (ordered["available"] == ordered["available"].shift())
    return ordered[~repeat]
