"""ingest-orders end to end, on SQLite and PostgreSQL: idempotent, reconciled, nothing lost."""

import json
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import select

from flows.ingest import ingest_orders
from shopops.settings import reset_settings_cache
from tasks import ingest as ingest_module
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR, DAYS
from tests.flow.conftest import DATA_TABLES, RUN_METADATA, wipe
from warehouse.models import LoadAudit, Order, Quarantine, SyncState

START = ANCHOR - timedelta(days=DAYS)


def snapshot(engine) -> dict:
    return {t: table_contents(engine, t, exclude=RUN_METADATA.get(t, ())) for t in DATA_TABLES}


def audit(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(select(LoadAudit.__table__)).mappings().all())


def test_the_same_window_twice_leaves_every_table_identical(configured, engine):
    first = ingest_orders(start=START, end=ANCHOR)
    after_first = {t: table_contents(engine, t) for t in DATA_TABLES}  # including run metadata
    second = ingest_orders(start=START, end=ANCHOR)
    assert {t: table_contents(engine, t) for t in DATA_TABLES} == after_first
    assert all(row["inserted"] == 0 and row["updated"] == 0 for row in second)
    assert [r["fetched"] for r in first] == [r["fetched"] for r in second]
    assert len(after_first["orders"]) > 500


def test_counts_reconcile_per_source_and_match_the_source(configured, engine):
    summary = ingest_orders(start=START, end=ANCHOR)
    rows = audit(engine)
    orders = rows[rows["stream"] == "orders"].set_index("source")
    for source, row in orders.iterrows():
        assert row["fetched"] == row["inserted"] + row["updated"] + row["unchanged"] + row["duplicates"] + row["quarantined"]
        assert row["status"] == "succeeded" and row["chunks"] >= 2
        truth = configured.truth(source).orders(ANCHOR)
        inside = truth[truth["visible"] & (truth["updated_at"] >= pd.Timestamp(START)) & (truth["updated_at"] < pd.Timestamp(ANCHOR))]
        assert row["fetched"] == len(inside) + int(inside["duplicated"].sum())
        assert row["duplicates"] == int(inside["duplicated"].sum())
        assert row["quarantined"] == int(inside["malformed"].notna().sum())
        assert row["inserted"] == int(inside["malformed"].isna().sum())
    assert {r["source"] for r in summary} == {"shop-us", "woo-eu"}
    with engine.connect() as conn:
        cursors = dict(conn.execute(select(SyncState.source, SyncState.cursor).where(SyncState.stream == "orders")).all())
    assert cursors == {"shop-us": ANCHOR, "woo-eu": ANCHOR}


EXPECTED_REASON = {
    "missing_id": "the order id is missing",
    "negative_quantity": "quantity must be a whole number from 1 to 10,000 (got -1)",
    "unknown_sku": "the SKU is not in the product catalogue",
    "bad_money": "unparsable money",
    "impossible_date": "created_at",
    "missing_lines": "the order has no line items",
}


def test_every_malformed_record_is_quarantined_with_a_reason_a_person_can_act_on(configured, engine):
    ingest_orders(start=START, end=ANCHOR)
    with engine.connect() as conn:
        quarantined = conn.execute(select(Quarantine.source, Quarantine.external_id, Quarantine.reasons)
                                   .where(Quarantine.stream == "orders")).all()
        loaded = set(conn.execute(select(Order.source, Order.external_id)).all())
    by_id = {(s, e): json.loads(r) for s, e, r in quarantined if e is not None}
    keyless = [json.loads(r) for s, e, r in quarantined if e is None]
    kinds_seen = set()
    for source in ("shop-us", "woo-eu"):
        truth = configured.truth(source).orders(ANCHOR)
        inside = truth[truth["visible"] & (truth["updated_at"] >= pd.Timestamp(START)) & (truth["updated_at"] < pd.Timestamp(ANCHOR))]
        for _, order in inside[inside["malformed"].notna()].iterrows():
            kinds_seen.add(order["malformed"])
            if order["malformed"] == "missing_id":
                continue
            reasons = by_id[(source, str(order["id"]))]
            assert any(EXPECTED_REASON[order["malformed"]] in reason for reason in reasons), (order["malformed"], reasons)
            assert (source, str(order["id"])) not in loaded
        assert sum(1 for s, e, _ in quarantined if s == source and e is None) == int((inside["malformed"] == "missing_id").sum())
    assert kinds_seen == set(EXPECTED_REASON), "the scenario needs every kind of damage"
    assert keyless and all("the order id is missing" in " ".join(r) for r in keyless)


def test_a_crash_between_chunks_loses_nothing_and_the_rerun_resumes_from_the_cursor(configured, engine, monkeypatch):
    from tasks.validate import ContractValidator
    from connectors import build_connector
    from connectors.sources import load_sources
    from shopops.settings import get_settings

    ingest_orders(start=START, end=ANCHOR)
    clean = snapshot(engine)
    wipe(engine)

    real_commit, calls = ingest_module.commit, []

    def crash_on_third_chunk(*args, **kwargs):
        calls.append(1)
        if len(calls) == 3:
            raise KeyboardInterrupt("process killed")  # not an Exception: nothing may catch it
        return real_commit(*args, **kwargs)

    monkeypatch.setattr(ingest_module, "commit", crash_on_third_chunk)
    config = next(c for c in load_sources(get_settings().resolved_sources_file()) if c.name == "shop-us")
    from tasks.catalog import sync_shopify_catalog
    sync_shopify_catalog(build_connector(config), engine, run_id="crashed", is_master=True, currency="USD",
                         validator=ContractValidator.shared(), now=ANCHOR)
    with pytest.raises(KeyboardInterrupt):
        ingest_module.ingest_orders_from(build_connector(config), engine, run_id="crashed", start=START, end=ANCHOR,
                                         settings=get_settings(), validator=ContractValidator.shared(), now=ANCHOR)
    monkeypatch.setattr(ingest_module, "commit", real_commit)
    with engine.connect() as conn:
        cursor = conn.execute(select(SyncState.cursor).where(SyncState.source == "shop-us")).scalar_one()
        loaded_before = conn.execute(select(Order.external_id).where(Order.source == "shop-us")).all()
    assert START < cursor < ANCHOR and 0 < len(loaded_before)

    resumed = ingest_orders(start=None, end=ANCHOR)  # from the committed cursor minus the lookback
    shop = next(r for r in resumed if r["source"] == "shop-us")
    assert shop["window"].startswith((cursor - timedelta(minutes=120)).strftime("%Y-%m-%d %H:%M"))
    assert snapshot(engine) == clean


def late_version(sandbox, lookback: timedelta):
    """An order version updated shortly before T1 that the source only shows after T1."""
    truth_store = sandbox.truth("shop-us")
    for hours in range(24 * 3, 24 * 15):
        t2 = ANCHOR - timedelta(hours=hours)
        t1 = t2 - timedelta(hours=1)
        orders = truth_store.orders(t2)
        visible_at = orders["updated_at"] + pd.to_timedelta(orders["late_visibility_minutes"], unit="min")
        late = orders[orders["visible"] & orders["malformed"].isna() & (orders["late_visibility_minutes"] > 0)
                      & (orders["updated_at"] >= pd.Timestamp(t1 - lookback)) & (orders["updated_at"] < pd.Timestamp(t1))
                      & (visible_at > pd.Timestamp(t1))]
        if len(late):
            return t1, t2, late.iloc[0]
    raise AssertionError("no late-visible version in the sandbox data")


@pytest.mark.parametrize("lookback_minutes, caught", [(120, True), (0, False)])
def test_a_late_edit_is_caught_by_the_lookback(configured, engine, monkeypatch, lookback_minutes, caught):
    monkeypatch.setenv("SHOPOPS_LOOKBACK_MINUTES", str(lookback_minutes))
    reset_settings_cache()
    t1, t2, order = late_version(configured, timedelta(minutes=120))
    configured.clock.set(t1)
    ingest_orders(start=START, end=t1)
    configured.clock.set(t2)
    ingest_orders(start=None, end=t2)
    with engine.connect() as conn:
        stored = conn.execute(select(Order.updated_at).where(Order.source == "shop-us", Order.external_id == str(order["id"]))).scalar()
    assert (stored == order["updated_at"]) is caught


def test_a_batch_failing_the_contract_beyond_the_limit_fails_the_run_and_says_why(configured, engine, monkeypatch):
    monkeypatch.setenv("SHOPOPS_QUARANTINE_MAX_SHARE", "0.001")
    monkeypatch.setenv("SHOPOPS_QUARANTINE_MIN_FAILURES", "2")
    reset_settings_cache()
    with pytest.raises(Exception) as failure:
        ingest_orders(sources=["woo-eu"], start=START, end=ANCHOR)
    message = str(failure.value)
    assert "woo-eu orders:" in message and "failed validation, above the 0% limit" in message
    assert "rows" in message and "quarantine table" in message
    rows = audit(engine)
    woo = rows[(rows["source"] == "woo-eu") & (rows["stream"] == "orders")].iloc[0]
    assert woo["status"] == "failed" and "QuarantineLimitExceeded" in woo["error"]
    with engine.connect() as conn:
        assert conn.execute(select(Quarantine.id).where(Quarantine.source == "woo-eu")).first() is not None


def test_catalogue_syncs_leave_one_stock_snapshot_per_level_dated_by_the_shops_clock(configured, engine):
    read_on = ANCHOR + timedelta(days=2, hours=9)
    configured.clock.set(read_on)  # the shop's clock: its Date header dates what it serves
    for _ in range(2):  # the second sync of the day overwrites the first
        ingest_orders(start=ANCHOR - timedelta(days=1), end=ANCHOR)
    configured.clock.set(read_on + timedelta(days=1))
    ingest_orders(start=ANCHOR - timedelta(days=1), end=ANCHOR)  # the next day, no stock moved: no new rows
    with engine.connect() as conn:
        levels = pd.read_sql("SELECT source, location_id, sku, available FROM inventory_levels", conn)
        snapshots = pd.read_sql("SELECT source, location_id, sku, snapshot_date, available FROM inventory_snapshots", conn)
    assert len(levels) > 0 and len(snapshots) == len(levels)
    # Dated when the shop read the stock, not by the window, which ended on the anchor.
    assert set(pd.to_datetime(snapshots["snapshot_date"]).dt.date) == {read_on.date()}
    keys = ["source", "location_id", "sku"]
    both = levels.merge(snapshots, on=keys, suffixes=("_level", "_snapshot"))
    assert len(both) == len(levels) and (both["available_level"] == both["available_snapshot"]).all()


def test_one_process_per_source_loads_exactly_what_threads_load(configured, engine, monkeypatch):
    monkeypatch.setenv("SHOPOPS_INGEST_TASK_RUNNER", "threads")
    reset_settings_cache()
    on_threads = ingest_orders(start=START, end=ANCHOR)
    threaded = snapshot(engine)
    wipe(engine)
    # A three-week window over two sources: "auto" takes one process per source.
    monkeypatch.setenv("SHOPOPS_INGEST_TASK_RUNNER", "auto")
    reset_settings_cache()
    on_processes = ingest_orders(start=START, end=ANCHOR)
    assert {row["ran on"] for row in on_threads} == {"threads"}
    assert {row["ran on"] for row in on_processes} == {"processes"}
    assert snapshot(engine) == threaded
    assert [r["inserted"] for r in on_processes] == [r["inserted"] for r in on_threads]
