"""restore-orders, on SQLite and PostgreSQL: rows lost or damaged in the warehouse come back from
raw_orders exactly as the ingest wrote them, orders refused under an old catalogue load once it
has their SKUs, and a restore never undoes a newer version or moves the cursor."""

from datetime import timedelta

import pandas as pd
from sqlalchemy import func, select, text, update

from flows.ingest import ingest_orders
from flows.restore import restore_orders
from shopops.settings import reset_settings_cache
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR, DAYS
from tests.flow.conftest import RUN_METADATA, wipe
from warehouse.models import LoadAudit, Order, OrderLine, RawOrder, Refund, SyncState

START = ANCHOR - timedelta(days=DAYS)
ORDER_TABLES = ("orders", "order_lines", "refunds", "customers")


def contents(engine) -> dict:
    """The order tables, risk flags included: the ingest's and the restore's both end screened
    against each customer's whole history (tasks/rescreen.py)."""
    return {t: table_contents(engine, t, exclude=RUN_METADATA.get(t, ())) for t in ORDER_TABLES}


def in_window(sandbox, source: str) -> pd.DataFrame:
    truth = sandbox.truth(source).orders(ANCHOR)
    return truth[truth["visible"] & (truth["updated_at"] >= pd.Timestamp(START)) & (truth["updated_at"] < pd.Timestamp(ANCHOR))]


def restore_audit(engine, run_id: str) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(select(LoadAudit.__table__).where(LoadAudit.run_id == run_id)).all()
    return {row.source: row for row in rows}


def test_lost_and_damaged_rows_come_back_exactly_and_a_repeated_restore_changes_nothing(configured, engine):
    ingest_orders(start=START, end=ANCHOR)
    loaded = contents(engine)
    with engine.connect() as conn:
        cursors = conn.execute(select(SyncState.source, SyncState.cursor)).all()
    assert len(loaded["orders"]) > 500 and loaded["refunds"]

    with engine.begin() as conn:  # shop-us loses every order row; woo-eu's totals are overwritten
        for model in (Refund, OrderLine, Order):
            conn.execute(model.__table__.delete().where(model.source == "shop-us"))
        conn.execute(text("DELETE FROM customers"))
        conn.execute(update(Order).where(Order.source == "woo-eu").values(total=0))

    summary = {row["source"]: row for row in restore_orders()}
    assert contents(engine) == loaded
    with engine.connect() as conn:
        assert conn.execute(select(SyncState.source, SyncState.cursor)).all() == cursors  # the cursor stays
        run_id = conn.execute(select(Order.run_id).where(Order.source == "shop-us").limit(1)).scalar_one()

    audits = restore_audit(engine, run_id)
    for source in ("shop-us", "woo-eu"):
        inside = in_window(configured, source)
        keyed = inside[inside["malformed"] != "missing_id"]  # a record with no id never reaches raw_orders
        good, bad = int(keyed["malformed"].isna().sum()), int(keyed["malformed"].notna().sum())
        row = audits[source]
        assert row.status == "succeeded" and row.fetched == len(keyed) == summary[source]["fetched"]
        assert (row.inserted, row.updated) == ((good, 0) if source == "shop-us" else (0, good))
        assert (row.unchanged, row.duplicates, row.quarantined) == (0, 0, bad)

    restore_orders()  # with every order in place, a restore rewrites them as they are
    assert contents(engine) == loaded


def test_orders_refused_for_unknown_skus_load_once_the_catalogue_has_them(configured, engine, monkeypatch):
    monkeypatch.setenv("SHOPOPS_QUARANTINE_MAX_SHARE", "1.0")  # the first load refuses nearly everything
    reset_settings_cache()
    ingest_orders(sources=["woo-eu"], start=START, end=ANCHOR)  # no Shopify shop yet: an empty catalogue
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(Order)).scalar_one() == 0
    ingest_orders(sources=["shop-us"], start=START, end=ANCHOR)  # brings the product catalogue

    restore_orders(sources=["woo-eu"])
    restored = contents(engine)

    wipe(engine)  # what a load with the catalogue in place from the start gives
    ingest_orders(start=START, end=ANCHOR)
    assert contents(engine) == restored
    good = in_window(configured, "woo-eu")["malformed"].isna().sum()
    assert sum(1 for row in restored["orders"] if row[0] == "woo-eu") == good > 100


def test_a_restore_keeps_a_newer_version_and_replays_only_its_window(configured, engine):
    ingest_orders(start=START, end=ANCHOR)
    middle = START + timedelta(days=DAYS // 2)
    with engine.begin() as conn:
        newest = conn.execute(select(Order.external_id, Order.updated_at).where(Order.source == "woo-eu")
                              .order_by(Order.updated_at.desc()).limit(1)).one()
        # a newer version loaded after the raw one (as the hourly run would): a restore must keep it
        conn.execute(update(Order).where(Order.source == "woo-eu", Order.external_id == newest.external_id)
                     .values(updated_at=newest.updated_at + timedelta(hours=1), total=1))
        conn.execute(update(Order).values(total=0))  # everything else damaged
        conn.execute(update(Order).where(Order.source == "woo-eu", Order.external_id == newest.external_id)
                     .values(total=1))
        raw_in_window = conn.execute(select(func.count(func.distinct(RawOrder.external_id))).where(
            RawOrder.source == "woo-eu", RawOrder.updated_at >= middle)).scalar_one()

    summary = restore_orders(sources=["woo-eu"], start=middle)
    assert summary[0]["fetched"] == raw_in_window and summary[0]["unchanged"] == 1
    with engine.connect() as conn:
        totals = dict(conn.execute(select(Order.external_id, Order.total).where(Order.source == "woo-eu")).all())
        late = set(conn.execute(select(Order.external_id).where(Order.source == "woo-eu",
                                                                Order.updated_at >= middle)).scalars())
        early_shop = conn.execute(select(func.count()).select_from(Order).where(Order.source == "shop-us",
                                                                                Order.total != 0)).scalar_one()
    assert totals[newest.external_id] == 1
    assert all(totals[e] > 0 for e in late)  # replayed: real totals back (every sandbox order costs something)
    assert any(total == 0 for e, total in totals.items() if e not in late)  # before the window: untouched
    assert early_shop == 0  # another source: untouched
