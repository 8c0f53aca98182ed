"""The product as the data team runs it: a real `prefect server` on loopback with its own home, the
`shopops` process work pool, `prefect deploy --all`, a worker, then daily-operations and a three-day
backfill triggered through the API; and the scheduler creating the scheduled runs of a deployment.

Run it alone with `pytest -m e2e`.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pandas as pd
import pytest

from connectors.sandbox import Sandbox
from tasks.purchasing import import_purchase_orders
from tasks.stock_history import import_stock_history
from tasks.supply import import_supply
from tests.contract.conftest import ANCHOR, small_config

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
AS_OF = ANCHOR.date()
BACKFILL = (AS_OF - timedelta(days=3), AS_OF - timedelta(days=1))
FINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _stop(process: subprocess.Popen, seconds: float) -> None:
    process.terminate()
    try:
        process.wait(seconds)
    except subprocess.TimeoutExpired:
        process.kill()


def _prefect(env: dict, *args: str, timeout: float = 180) -> str:
    done = subprocess.run([str(Path(sys.executable).parent / "prefect"), *args], env=env, cwd=ROOT,
                          capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, f"prefect {' '.join(args)} failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    return done.stdout


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory):
    """A Prefect server of its own: its database and settings in a fresh home, nothing shared."""
    home = tmp_path_factory.mktemp("prefect-home")
    port = _free_port()
    env = {name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_API_URL=f"http://127.0.0.1:{port}/api",
               PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_SERVER_UI_ENABLED="false",
               PREFECT_SERVER_SERVICES_SCHEDULER_LOOP_SECONDS="5")
    log = open(home / "server.log", "w")
    server = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
                               "--port", str(port)], env=env, cwd=home, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{env['PREFECT_API_URL']}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None, f"prefect server exited: {(home / 'server.log').read_text()[-3000:]}"
            assert time.monotonic() < deadline, "prefect server did not become healthy in 120 s"
            time.sleep(0.5)
        yield env
    finally:
        _stop(server, 20)
        log.close()


@pytest.fixture
def worker_env(prefect_home, warehouse_url, tmp_path):
    """What the worker (and every flow run it starts) sees: the sandbox's sources and credentials,
    the warehouse, and the repository as the deployments' working directory."""
    with Sandbox(small_config()) as sandbox:
        sandbox.clock.set(ANCHOR)
        import yaml

        sources = sandbox.sources()
        for source in sources:
            source["currency"] = "USD" if source["kind"] == "shopify" else "EUR"
        sources_file = tmp_path / "sources.yaml"
        sources_file.write_text(yaml.safe_dump({"sources": sources, "services": sandbox.support_settings()}))
        env = {**prefect_home, **sandbox.credentials(), "SHOPOPS_HOME": str(ROOT),
               "SHOPOPS_WAREHOUSE_URL": warehouse_url, "SHOPOPS_SOURCES_FILE": str(sources_file),
               "SHOPOPS_DATA_DIR": str(tmp_path / "data"), "SHOPOPS_CHUNK_SIZE": "400",
               "SHOPOPS_INGEST_TASK_RUNNER": "threads"}
        yield env, sandbox


def _api(env: dict, method: str, path: str, **body):
    for attempt in range(10):  # the server answers 503 while its SQLite database is busy (as Prefect's client, retry)
        response = httpx.request(method, f"{env['PREFECT_API_URL']}{path}", json=body or None, timeout=30)
        if response.status_code not in (429, 503):
            break
        time.sleep(0.5 * (attempt + 1))
    assert response.status_code < 300, f"{method} {path}: {response.status_code} {response.text[:500]}"
    return response.json() if response.content else None


def _deployment(env: dict, flow: str, name: str) -> dict:
    return _api(env, "GET", f"/deployments/name/{flow}/{name}")


def _run(env: dict, deployment: dict, parameters: dict) -> dict:
    return _api(env, "POST", f"/deployments/{deployment['id']}/create_flow_run", parameters=parameters)


def _wait(env: dict, run_id: str, seconds: float) -> dict:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        run = _api(env, "GET", f"/flow_runs/{run_id}")
        if run["state_type"] in FINAL:
            return run
        time.sleep(2)
    raise AssertionError(f"flow run {run_id} still {run['state_type']} after {seconds} s")


@pytest.mark.parametrize("warehouse_url", ["postgres"], indirect=True)  # PostgreSQL: the multi-worker warehouse
def test_deploy_schedule_run_and_backfill_on_a_real_server_and_worker(prefect_home, worker_env, engine, tmp_path):
    env, sandbox = worker_env
    _prefect(env, "work-pool", "create", "shopops", "--type", "process")
    _prefect(env, "--no-prompt", "deploy", "--all")
    deployments = {d["name"]: d for d in _api(env, "POST", "/deployments/filter", limit=50)}
    assert {"ingest-orders-hourly", "daily-operations", "backfill", "replenishment-daily", "price-monitoring-daily",
            "promotion-review-daily", "satisfaction-survey-daily", "orders-freshness"} <= set(deployments)

    # The scheduler creates the hourly ingest's scheduled runs, at five past each hour.
    hourly = deployments["ingest-orders-hourly"]
    deadline = time.monotonic() + 90
    while True:
        scheduled = _api(env, "POST", "/flow_runs/filter", deployments={"id": {"any_": [hourly["id"]]}},
                         flow_runs={"state": {"type": {"any_": ["SCHEDULED"]}}}, limit=200)
        if len(scheduled) >= 3 or time.monotonic() > deadline:
            break
        time.sleep(2)
    assert len(scheduled) >= 3, "the scheduler created no runs of ingest-orders-hourly"
    times = sorted(pd.Timestamp(run["expected_start_time"]) for run in scheduled)
    assert all(moment.minute == 5 and moment.second == 0 for moment in times)
    assert all(later - earlier == pd.Timedelta(hours=1) for earlier, later in zip(times, times[1:]))
    # From here on, only what the test triggers runs: no scheduled run may start beside it.
    for deployment in deployments.values():
        _api(env, "PATCH", f"/deployments/{deployment['id']}", paused=True)

    worker = subprocess.Popen([str(Path(sys.executable).parent / "prefect"), "worker", "start", "--pool", "shopops",
                               "--work-queue", "operations"], env=env, cwd=ROOT,
                              stdout=(tmp_path / "worker.log").open("w"), stderr=subprocess.STDOUT)
    failed = lambda run: f"{run['state']['message']}\n--- worker log ---\n{(tmp_path / 'worker.log').read_text()[-6000:]}"  # noqa: E731
    try:
        day = _run(env, deployments["daily-operations"], {"as_of": str(AS_OF)})
        finished = _wait(env, day["id"], 900)
        assert finished["state_type"] == "COMPLETED", failed(finished)
        assert finished["name"] == f"daily operations · {AS_OF}"
        children = {run["name"]: run for run in _subflows(env, day["id"])}
        assert len(children) == 5, list(children)  # the load and the four
        assert {run["state_type"] for run in children.values()} == {"COMPLETED"}

        # What purchasing hands over (the ERP's stock history among it), so past dates can be planned.
        import_supply(engine, sandbox.write_supply_csv(tmp_path / "supply.csv"))
        import_stock_history(engine, sandbox.write_stock_history_csv(tmp_path / "stock.csv", until=ANCHOR))
        import_purchase_orders(engine, sandbox.write_purchase_orders_csv(tmp_path / "po.csv", as_of=ANCHOR))
        backfill = _run(env, deployments["backfill"], {"flow": "replenishment", "start": str(BACKFILL[0]),
                                                       "end": str(BACKFILL[1])})
        done = _wait(env, backfill["id"], 600)
        assert done["state_type"] == "COMPLETED", failed(done)
        assert done["name"] == f"backfill replenishment · {BACKFILL[0]} → {BACKFILL[1]} by day"
    finally:
        _stop(worker, 30)

    with engine.connect() as conn:
        cursors = pd.read_sql("SELECT source, cursor FROM sync_state WHERE stream = 'orders'", conn)
        audit = pd.read_sql("SELECT * FROM load_audit WHERE stream = 'orders'", conn)
        plans = pd.read_sql("SELECT as_of_date, COUNT(*) AS n FROM replenishment_suggestions GROUP BY as_of_date "
                            "ORDER BY as_of_date",
                            conn)
        scores = pd.read_sql(f"SELECT COUNT(*) AS n FROM satisfaction_scores WHERE score_date = '{AS_OF}'", conn)
        chunks = pd.read_sql("SELECT first_date, status, attempts FROM backfill_chunks ORDER BY chunk", conn)
    # daily-operations loaded every source to the end of the date, and the audit adds up.
    assert len(cursors) == 2 and (pd.to_datetime(cursors["cursor"], utc=True)
                                  >= pd.Timestamp(AS_OF + timedelta(days=1), tz="UTC")).all()
    assert (audit["status"] == "succeeded").all()
    assert (audit["fetched"] == audit[["inserted", "updated", "unchanged", "duplicates", "quarantined"]].sum(axis=1)).all()
    # The four flows wrote the date's rows; the backfill planned the three dates before it.
    assert [str(day) for day in plans["as_of_date"]] == [str(BACKFILL[0] + timedelta(days=i)) for i in range(4)]
    assert (plans["n"] > 0).all() and len(set(plans["n"])) == 1  # every date plans every SKU
    assert scores["n"][0] > 0
    assert chunks["status"].tolist() == ["completed"] * 3 and chunks["attempts"].tolist() == [1, 1, 1]

    artifacts = _api(env, "POST", "/artifacts/filter", artifacts={"key": {"any_": [
        "daily-operations", "backfill-replenishment", "replenishment-alerts"]}}, limit=50)
    assert {artifact["key"] for artifact in artifacts} == {"daily-operations", "backfill-replenishment",
                                                           "replenishment-alerts"}
    day_table = json.loads(next(a for a in artifacts if a["key"] == "daily-operations")["data"])
    assert {row["step"]: row["outcome"] for row in day_table if row["step"] in (
        "replenishment", "price-monitoring", "promotion-review", "satisfaction-survey")} == dict.fromkeys(
        ("replenishment", "price-monitoring", "promotion-review", "satisfaction-survey"), "completed")


def _subflows(env: dict, parent_id: str) -> list[dict]:
    """The flow runs started inside `parent_id` (subflows hang off one of its task runs)."""
    tasks = _api(env, "POST", "/task_runs/filter", flow_runs={"id": {"any_": [parent_id]}}, limit=200)
    ids = [task["id"] for task in tasks]
    return _api(env, "POST", "/flow_runs/filter", flow_runs={"parent_task_run_id": {"any_": ids}}, limit=200) if ids else []
