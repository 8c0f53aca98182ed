"""The ingest fan-out and backfill chunks on a local Dask cluster give the warehouse the default
runner gives."""

from datetime import timedelta

import pytest

from flows.backfill import backfill
from flows.ingest import ingest_orders
from shopops.settings import reset_settings_cache
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR
from tests.flow.conftest import DATA_TABLES, RUN_METADATA, wipe

pytest.importorskip("prefect_dask")
START = ANCHOR - timedelta(days=7)
COUNTS = ("source", "status", "fetched", "inserted", "updated", "unchanged", "duplicates", "quarantined")


def snapshot(engine) -> dict:
    return {t: table_contents(engine, t, exclude=RUN_METADATA.get(t, ())) for t in DATA_TABLES}


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_the_ingest_fan_out_on_dask_loads_what_threads_load(configured, engine, monkeypatch):
    monkeypatch.setenv("SHOPOPS_INGEST_TASK_RUNNER", "dask")
    monkeypatch.setenv("SHOPOPS_DASK_WORKERS", "2")
    reset_settings_cache()
    on_dask = ingest_orders(start=START, end=ANCHOR)
    assert [row["status"] for row in on_dask] == ["succeeded", "succeeded"]
    loaded_on_dask = snapshot(engine)
    assert len(loaded_on_dask["orders"]) > 100

    wipe(engine)
    monkeypatch.setenv("SHOPOPS_INGEST_TASK_RUNNER", "threads")
    reset_settings_cache()
    on_threads = ingest_orders(start=START, end=ANCHOR)
    assert snapshot(engine) == loaded_on_dask
    counts = lambda rows: [{k: row[k] for k in COUNTS} for row in rows]  # noqa: E731
    assert counts(on_threads) == counts(on_dask)
    assert {row["ran on"] for row in on_dask} == {"dask"}


@pytest.mark.parametrize("warehouse_url", ["postgres"], indirect=True)  # workers of a cluster share PostgreSQL
def test_backfill_chunks_on_dask_load_what_threads_load(configured, engine, monkeypatch):
    window = dict(flow="ingest-orders", start=START.date(), end=ANCHOR.date() - timedelta(days=1))
    monkeypatch.setenv("SHOPOPS_BACKFILL_TASK_RUNNER", "dask")
    reset_settings_cache()
    on_dask = backfill(**window, max_concurrent=2)
    assert on_dask["completed"] == 7 and on_dask["ran_on"] == "a local cluster of 2 worker processes"
    loaded_on_dask = snapshot(engine)

    wipe(engine)
    monkeypatch.setenv("SHOPOPS_BACKFILL_TASK_RUNNER", "threads")
    reset_settings_cache()
    assert backfill(**window)["completed"] == 7
    assert snapshot(engine) == loaded_on_dask
