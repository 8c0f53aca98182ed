"""backfill as real Prefect runs: chunks in date order, resumed after a kill to exactly the tables of
an uninterrupted backfill (and of one whose chunks ran side by side), a failing chunk stopping the
rest, and the same backfill refused twice."""

import os
import signal
import subprocess
import sys
import threading
import time
from datetime import date, timedelta

import pandas as pd
import pytest
from prefect import flow
from prefect.settings import PREFECT_API_URL
from sqlalchemy import select

import flows.backfill as backfills
from flows.backfill import backfill, chunks
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR
from tests.flow.conftest import DATA_TABLES, RUN_METADATA, wipe
from tasks.ingest import STAGES
from shopops.settings import reset_settings_cache
from warehouse.locks import RunLockTimeout, run_lock
from warehouse.models import BackfillChunk

LAST = ANCHOR.date() - timedelta(days=1)
FIRST = LAST - timedelta(days=4)  # five days, five chunks


def chunk_rows(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(select(BackfillChunk.__table__).order_by(BackfillChunk.chunk)).mappings().all()
    return pd.DataFrame(rows, columns=[c.name for c in BackfillChunk.__table__.columns])


def snapshot(engine) -> dict:
    return {t: table_contents(engine, t, exclude=RUN_METADATA.get(t, ())) for t in DATA_TABLES}


def test_chunks_cover_the_range_by_day_iso_week_and_month():
    assert chunks(date(2026, 11, 27), date(2026, 11, 29), "day") == [
        (date(2026, 11, 27), date(2026, 11, 27)), (date(2026, 11, 28), date(2026, 11, 28)),
        (date(2026, 11, 29), date(2026, 11, 29))]
    # 2026-11-25 is a Wednesday: the first week ends on Sunday the 29th.
    assert chunks(date(2026, 11, 25), date(2026, 12, 9), "week") == [
        (date(2026, 11, 25), date(2026, 11, 29)), (date(2026, 11, 30), date(2026, 12, 6)),
        (date(2026, 12, 7), date(2026, 12, 9))]
    assert chunks(date(2026, 1, 30), date(2026, 3, 2), "month") == [
        (date(2026, 1, 30), date(2026, 1, 31)), (date(2026, 2, 1), date(2026, 2, 28)),
        (date(2026, 3, 1), date(2026, 3, 2))]
    with pytest.raises(ValueError, match="before start"):
        chunks(date(2026, 3, 2), date(2026, 3, 1), "day")


def _start_backfill_process() -> subprocess.Popen:
    """`shopops backfill` in a process of its own, on the same Prefect server and settings."""
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}
    return subprocess.Popen([sys.executable, "-m", "shopops.cli", "backfill", "ingest-orders", "--start", str(FIRST),
                             "--end", str(LAST)], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)


def _wait_for(condition, seconds: float, what: str, process: subprocess.Popen):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return
        if process.poll() is not None:
            raise AssertionError(f"the backfill ended before {what}: {process.stderr.read().decode()[-2000:]}")
        time.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


def test_a_killed_backfill_resumes_to_exactly_the_tables_of_an_uninterrupted_one(configured, engine):
    process = _start_backfill_process()
    try:
        completed = lambda n: (lambda: (chunk_rows(engine)["status"] == "completed").sum() >= n)  # noqa: E731
        _wait_for(completed(2), 180, "two chunks completed", process)
        for store in ("shop-us", "woo-eu"):  # slow the third chunk down so the kill lands inside it
            configured.faults.arm(store, "slow", seconds=30, delay=1.0)
        _wait_for(lambda: (chunk_rows(engine)["status"] == "running").any(), 60, "the third chunk running", process)
        time.sleep(1.5)
        process.send_signal(signal.SIGKILL)
        process.wait(10)
    finally:
        process.kill()
        configured.faults.clear()
    killed = chunk_rows(engine)
    assert list(killed["status"]) == ["completed", "completed", "running", "pending", "pending"]

    resumed = backfill(flow="ingest-orders", start=FIRST, end=LAST)
    rows = chunk_rows(engine)
    assert resumed["completed"] == 5 and list(rows["status"]) == ["completed"] * 5
    assert list(rows["attempts"]) == [1, 1, 2, 1, 1]  # the first two were not run again
    assert rows["first_date"].astype(str).tolist() == [str(FIRST + timedelta(days=i)) for i in range(5)]
    after_resume = snapshot(engine)
    assert len(after_resume["orders"]) > 100

    wipe(engine)
    clean = backfill(flow="ingest-orders", start=FIRST, end=LAST)
    assert list(chunk_rows(engine)["attempts"]) == [1] * 5
    assert set(clean["stage_seconds"]) == set(STAGES)  # summed over the chunks' sources, for the benchmark
    assert clean["stage_seconds"]["validate"] > 0  # Great Expectations alone takes tenths of a second per chunk
    assert snapshot(engine) == after_resume

    # Chunks side by side, each customer's earlier orders in any order: the same tables, risk flags
    # included (every source's run ends screening them again).
    wipe(engine)
    assert backfill(flow="ingest-orders", start=FIRST, end=LAST, max_concurrent=3)["completed"] == 5
    assert snapshot(engine) == after_resume


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)  # the kill test covers PostgreSQL
def test_a_failing_chunk_stops_the_rest_and_the_next_start_resumes_from_it(configured, engine, monkeypatch):
    ran = []

    @flow(name="replenishment")
    def flaky_replenishment(as_of, history_days=90):
        ran.append((as_of, history_days))
        if as_of == FIRST + timedelta(days=1) and len(ran) < 3:
            raise ValueError("the stock levels are not in yet")
        return {"as_of": as_of.isoformat()}

    monkeypatch.setitem(backfills.DATED_FLOWS, "replenishment", flaky_replenishment)
    window = dict(flow="replenishment", start=FIRST, end=FIRST + timedelta(days=2), parameters={"history_days": 60})
    with pytest.raises(RuntimeError) as failed:
        backfill(**window)
    message = str(failed.value)
    assert f"{FIRST + timedelta(days=1)} → {FIRST + timedelta(days=1)}: ValueError: the stock levels are not in yet" in message
    assert f"1 of 3 completed. Start it again with the same arguments to resume from {FIRST + timedelta(days=1)}" in message
    assert list(chunk_rows(engine)["status"]) == ["completed", "failed", "pending"]  # the third never started

    assert backfill(**window)["completed"] == 3
    assert ran == [(FIRST, 60), (FIRST + timedelta(days=1), 60), (FIRST + timedelta(days=1), 60),
                   (FIRST + timedelta(days=2), 60)]
    assert list(chunk_rows(engine)["attempts"]) == [1, 2, 1]
    backfill(**window, restart=True)  # everything again on request
    assert list(chunk_rows(engine)["attempts"]) == [2, 3, 2]


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_chunks_run_side_by_side_when_asked_and_one_backfill_runs_once(configured, engine, monkeypatch):
    running, most, side_by_side = [0], [0], threading.Barrier(2, timeout=30)
    lock = threading.Lock()

    @flow(name="promotion-review")
    def slow_review(as_of):
        with lock:
            running[0] += 1
            most[0] = max(most[0], running[0])
        if "promotion-review" not in backfills.ORDER_DEPENDENT:
            side_by_side.wait()  # two chunks in at once, or this times out
        time.sleep(0.2)
        with lock:
            running[0] -= 1
        return {"as_of": as_of.isoformat()}

    monkeypatch.setitem(backfills.DATED_FLOWS, "promotion-review", slow_review)
    summary = backfill(flow="promotion-review", start=FIRST, end=LAST, max_concurrent=2)
    assert summary["completed"] == 5 and most[0] == 1  # its dates share rows: one at a time regardless
    monkeypatch.delitem(backfills.ORDER_DEPENDENT, "promotion-review")  # as if its dates stood alone
    summary = backfill(flow="promotion-review", start=FIRST, end=FIRST + timedelta(days=3), max_concurrent=2)
    assert summary["completed"] == 4 and most[0] == 2

    key = backfills.backfill_key("promotion-review", FIRST, LAST, "day", {})
    with run_lock(engine, f"backfill:{key}", timeout_seconds=0):  # as if another run of it were going on
        with pytest.raises(RuntimeError, match="the same backfill is already running"):
            backfill(flow="promotion-review", start=FIRST, end=LAST, restart=True)


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)  # tests/unit/test_run_locks.py: both backends
@pytest.mark.parametrize("name", sorted(backfills.DATED_FLOWS))
def test_every_daily_flow_waits_for_another_run_of_its_date(configured, engine, monkeypatch, name):
    monkeypatch.setenv("SHOPOPS_RUN_LOCK_TIMEOUT_MINUTES", "0.01")
    reset_settings_cache()
    with run_lock(engine, f"{name}:{LAST}", timeout_seconds=0):  # a backfill chunk of that date, say
        with pytest.raises(RunLockTimeout, match=f"another run holds '{name}:{LAST}'"):
            backfills.DATED_FLOWS[name](as_of=LAST)
