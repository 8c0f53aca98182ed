"""Minutes of 429s and 5xx bursts slow a load down and it still completes to a clean run's tables;
a scheduled load and a backfill of the same dates at once leave no duplicate and lose no update."""

from __future__ import annotations

import threading
import time
from datetime import timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select

from flows.ingest import ingest_orders
from tasks.operations.gate import gate_problems
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR, DAYS
from tests.flow.conftest import DATA_TABLES, RUN_METADATA, wipe
from tests.flow.test_backfill_flow import _start_backfill_process, _wait_for, chunk_rows
from warehouse.models import LoadAudit, Order, RawOrder

START = ANCHOR - timedelta(days=DAYS)
STORES = ("shop-us", "woo-eu")


# What depends on which run loaded a record first, not on the data: a record broken in several
# ways gets the reasons of the last run's clock ("in the future" of a backfill chunk's end, or not
# yet of the scheduled run's). Risk flags do not: every run ends screening them again.
LOAD_ORDER_DEPENDENT = {"quarantine": ("reasons",)}


def snapshot(engine, also_exclude: dict | None = None) -> dict:
    return {t: table_contents(engine, t, exclude=RUN_METADATA.get(t, ()) + (also_exclude or {}).get(t, ()))
            for t in DATA_TABLES}


def served(sandbox) -> dict[str, int]:
    """Responses the sandbox gave so far, by status, over every store and endpoint."""
    totals: dict[str, int] = {}
    for endpoints in sandbox.stats().values():
        for endpoint in endpoints.values():
            for status, count in endpoint["statuses"].items():
                totals[status] = totals.get(status, 0) + count
    return totals


def storm(sandbox, stop: threading.Event) -> None:
    """60 s in which every request is refused with 429 (Retry-After 2 s), then 30 s with a 2 s
    burst of 503, 500 or 502 every 5 s: every request in a burst fails. The first two requests of
    each store after the minute fail too: the run, stalled by the 429s, may finish between bursts."""
    for store in STORES:
        sandbox.faults.arm(store, "429", seconds=60, retry_after=2)
    if stop.wait(60):
        return
    for store in STORES:
        sandbox.faults.arm(store, "503", count=2)
    for burst in range(6):
        for store in STORES:
            sandbox.faults.arm(store, ("503", "500", "502")[burst % 3], seconds=2)
        if stop.wait(5):
            return


@pytest.mark.parametrize("warehouse_url", ["postgres"], indirect=True)  # the several-worker warehouse
def test_minutes_of_429s_and_5xx_bursts_slow_the_run_down_and_it_completes(configured, engine):
    ingest_orders(start=START, end=ANCHOR)
    clean = snapshot(engine)
    wipe(engine)

    before, stop = served(configured), threading.Event()
    weather = threading.Thread(target=storm, args=(configured, stop), daemon=True)
    began = time.monotonic()
    weather.start()
    try:
        summary = ingest_orders(start=START, end=ANCHOR)
    finally:
        stop.set()
        weather.join(10)
        configured.faults.clear()
    took = time.monotonic() - began

    after = served(configured)
    refused = {status: after.get(status, 0) - before.get(status, 0) for status in ("429", "500", "502", "503")}
    assert refused["429"] >= 20, refused  # the stores were asked again and again, for a minute
    assert refused["500"] + refused["502"] + refused["503"] >= 3, refused  # and the bursts hit the run
    assert took > 60  # it waited the storm out instead of failing
    assert all(row["status"] == "succeeded" for row in summary)
    assert snapshot(engine) == clean


def test_a_scheduled_load_and_a_backfill_of_the_same_dates_at_once_lose_nothing_and_double_nothing(
        configured, engine):
    for store in STORES:  # both runs take long enough to overlap whatever the machine's speed
        configured.faults.arm(store, "slow", seconds=20, delay=0.3)
    process = _start_backfill_process()  # `shopops backfill ingest-orders` over the five days before ANCHOR
    try:
        _wait_for(lambda: (chunk_rows(engine)["status"] == "running").any(), 120, "a backfill chunk running", process)
        ingest_orders(start=START, end=ANCHOR)  # the hourly run, over the same days and more
        assert process.wait(300) == 0, process.stderr.read().decode()[-2000:]
    finally:
        process.kill()
        configured.faults.clear()

    chunks = chunk_rows(engine)
    with engine.connect() as conn:
        audits = pd.DataFrame(conn.execute(select(LoadAudit.__table__).where(LoadAudit.stream == "orders")).all())
        raw_versions = conn.execute(select(func.count()).select_from(RawOrder)).scalar_one()
        distinct_versions = conn.execute(select(func.count()).select_from(
            select(RawOrder.source, RawOrder.external_id, RawOrder.updated_at).distinct().subquery())).scalar_one()
        loaded = pd.DataFrame(conn.execute(select(Order.source, Order.external_id, Order.updated_at)).all())
    assert list(chunks["status"]) == ["completed"] * 5
    mine = audits[audits["window_start"] == audits["window_start"].min()]  # the scheduled run's rows
    assert (mine["started_at"].min() < chunks["finished_at"].max()) and (chunks["started_at"].min() < mine["finished_at"].max())
    assert (audits["status"] == "succeeded").all()
    assert (audits["fetched"] == audits[["inserted", "updated", "unchanged", "duplicates", "quarantined"]].sum(axis=1)).all()
    assert gate_problems(engine, list(STORES), ANCHOR, mine["run_id"].iloc[0]) == []
    assert raw_versions == distinct_versions  # no version stored twice

    for store in STORES:  # every order holds the newest version the marketplace has
        truth = configured.truth(store).orders(ANCHOR)
        expected = truth[truth["visible"] & truth["malformed"].isna() & (truth["updated_at"] >= pd.Timestamp(START))
                         & (truth["updated_at"] < pd.Timestamp(ANCHOR))]
        mine_loaded = loaded[loaded["source"] == store].set_index("external_id")["updated_at"]
        assert len(mine_loaded) == len(expected)
        times = pd.to_datetime(mine_loaded.reindex(expected["id"].astype(str)), utc=True)
        assert (times.to_numpy() == pd.to_datetime(expected["updated_at"], utc=True).to_numpy()).all()

    overlapped = snapshot(engine, LOAD_ORDER_DEPENDENT)
    wipe(engine)
    ingest_orders(start=START, end=ANCHOR)
    assert snapshot(engine, LOAD_ORDER_DEPENDENT) == overlapped  # the same tables as the scheduled run alone
