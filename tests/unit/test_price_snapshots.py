"""Our own prices by day: sparse rows on each change, and the plan of a past date priced as it stood."""

from datetime import date, datetime, timezone
from decimal import Decimal

import pandas as pd

from tasks.catalog import _snapshot_prices
from tasks.catalogue_on import products_on
from warehouse.engine import write_transaction
from warehouse.io import upsert_frame

LISTED = pd.Timestamp(datetime(2026, 11, 1, tzinfo=timezone.utc))


def sync(engine, day: int, prices: dict[str, str], listed=LISTED) -> None:
    """The catalogue on 2026-11-<day>: these SKUs at these list prices (cost 4)."""
    frame = pd.DataFrame({"sku": list(prices), "list_price": [Decimal(p) for p in prices.values()],
                          "unit_cost": Decimal("4"), "currency": "USD", "listed_at": listed,
                          "updated_at": pd.Timestamp(datetime(2026, 11, day, tzinfo=timezone.utc))})
    with write_transaction(engine) as conn:
        upsert_frame(conn, "products", frame, ["sku"], ["list_price", "unit_cost", "listed_at", "updated_at"])
        _snapshot_prices(conn, f"sync-{day}", taken_at=datetime(2026, 11, day, 8, tzinfo=timezone.utc))


def test_a_row_per_change_and_each_date_priced_as_it_stood(engine):
    sync(engine, 2, {"A": "10.00", "B": "7.00"})
    sync(engine, 3, {"A": "12.00", "B": "7.00"})   # A's price goes up
    sync(engine, 4, {"A": "12.00", "B": "7.00"})   # nothing changes: no rows
    with engine.connect() as conn:
        rows = conn.exec_driver_sql("SELECT sku, snapshot_date, list_price, run_id FROM price_snapshots").all()
        then = {day: products_on(conn, date(2026, 11, day))["list_price"].to_dict() for day in (2, 3, 5)}
    assert sorted((sku, str(day)[:10], Decimal(str(price)), run) for sku, day, price, run in rows) == [
        ("A", "2026-11-02", Decimal("10"), "sync-2"), ("A", "2026-11-03", Decimal("12"), "sync-3"),
        ("B", "2026-11-02", Decimal("7"), "sync-2")]
    assert then[2] == {"A": Decimal("10"), "B": Decimal("7")}
    assert then[3] == then[5] == {"A": Decimal("12"), "B": Decimal("7")}


def test_before_any_snapshot_a_listed_sku_keeps_its_current_price_and_a_later_listing_has_none(engine):
    sync(engine, 20, {"A": "10.00"})
    sync(engine, 20, {"C": "9.00"}, listed=pd.Timestamp(datetime(2026, 11, 15, tzinfo=timezone.utc)))
    with engine.connect() as conn:
        before = products_on(conn, date(2026, 11, 10))
    assert before.loc["A", "list_price"] == Decimal("10")   # listed on 11-01: the best known price
    assert pd.isna(before.loc["C", "list_price"])             # listed on 11-15: not sold yet on 11-10
