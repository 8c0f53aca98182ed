"""PostgreSQL restarted in the middle of a load, on a server of the test's own (the machine's
shared one keeps serving the other tests): the chunk being written is rolled back with the
connection, the task retries on fresh connections, and the tables end exactly as a clean run's."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text

import flows.ingest as ingest_flow
from flows.ingest import ingest_orders
from shopops.settings import reset_settings_cache
from tasks import ingest as ingest_tasks
from tasks.operations.gate import gate_problems
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR, DAYS
from tests.flow.conftest import DATA_TABLES, RUN_METADATA, wipe
from warehouse.engine import dispose_engines
from warehouse.migrate import upgrade
from warehouse.models import LoadAudit, Order

START = ANCHOR - timedelta(days=DAYS)


class PrivateServer:
    """A PostgreSQL cluster in a temporary directory, on a free port, run as the postgres user."""

    def __init__(self):
        binaries = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
        if not binaries:
            pytest.skip("no PostgreSQL server binaries (/usr/lib/postgresql/*/bin) to start a private server")
        self.bin = Path(binaries[-1]).parent
        self.as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        self.root = Path(tempfile.mkdtemp(prefix="shopops-pg-"))
        if os.geteuid() == 0:
            owner = pwd.getpwnam("postgres")
            os.chown(self.root, owner.pw_uid, owner.pw_gid)
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            self.port = probe.getsockname()[1]
        self._run("initdb", "-D", str(self.root / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
        self.ctl("start")
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, program: str, *args: str) -> None:
        done = subprocess.run([*self.as_postgres, str(self.bin / program), *args], capture_output=True, text=True,
                              timeout=120)
        assert done.returncode == 0, f"{program} {' '.join(args)}: {done.stdout[-2000:]}{done.stderr[-2000:]}"

    def ctl(self, *args: str) -> None:
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._run("pg_ctl", "-D", str(self.root / "data"), "-o", options, "-l", str(self.root / "server.log"),
                  "-w", *args)

    def ensure_running(self) -> None:
        status = subprocess.run([*self.as_postgres, str(self.bin / "pg_ctl"), "-D", str(self.root / "data"), "status"],
                                capture_output=True)
        if status.returncode != 0:
            self.ctl("start")

    def close(self) -> None:
        self.ctl("stop", "-m", "immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture(scope="module")
def server():
    running = PrivateServer()
    yield running
    dispose_engines()
    running.close()


@pytest.fixture
def warehouse_url(server, monkeypatch):
    """This module's warehouse: the private server, migrated."""
    dispose_engines()
    fresh = create_engine(server.url)
    with fresh.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    fresh.dispose()
    monkeypatch.setenv("SHOPOPS_WAREHOUSE_URL", server.url)
    reset_settings_cache()
    upgrade(server.url)
    yield server.url
    dispose_engines()


def snapshot(engine) -> dict:
    return {t: table_contents(engine, t, exclude=RUN_METADATA.get(t, ())) for t in DATA_TABLES}


def test_a_restart_in_the_middle_of_a_chunk_is_retried_and_leaves_exactly_a_clean_runs_tables(
        configured, engine, server, monkeypatch):
    ingest_orders(start=START, end=ANCHOR)
    clean = snapshot(engine)
    assert len(clean["orders"]) > 500
    wipe(engine)

    real_commit, calls = ingest_tasks.commit, []

    def commit_across_a_restart(conn, *args, **kwargs):
        calls.append(1)
        if len(calls) == 3:  # the third chunk: its transaction is open when the server goes away
            server.ctl("restart", "-m", "fast")
        return real_commit(conn, *args, **kwargs)

    monkeypatch.setattr(ingest_tasks, "commit", commit_across_a_restart)
    monkeypatch.setattr(ingest_flow, "ingest_source", ingest_flow.ingest_source.with_options(retry_delay_seconds=1))
    summary = ingest_orders(start=START, end=ANCHOR)

    assert snapshot(engine) == clean
    with engine.connect() as conn:
        run_id = conn.execute(select(LoadAudit.run_id).order_by(LoadAudit.started_at.desc()).limit(1)).scalar_one()
        audits = conn.execute(select(LoadAudit.__table__).where(LoadAudit.run_id == run_id)).all()
    assert len(calls) > 3 and all(row["status"] == "succeeded" for row in summary)
    assert {row.source for row in audits} == {"shop-us", "woo-eu"} and all(row.status == "succeeded" for row in audits)
    assert gate_problems(engine, ["shop-us", "woo-eu"], ANCHOR, run_id) == []  # it adds up, as if never interrupted


def test_a_server_that_stays_down_fails_the_run_with_a_clear_error_and_writes_nothing_half(
        configured, engine, server, monkeypatch):
    ingest_orders(sources=["shop-us"], start=START, end=ANCHOR)  # the catalogue, and orders of another source
    real_commit, calls = ingest_tasks.commit, []

    def commit_then_the_server_stops(conn, *args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            server.ctl("stop", "-m", "fast")
        return real_commit(conn, *args, **kwargs)

    monkeypatch.setattr(ingest_tasks, "commit", commit_then_the_server_stops)
    monkeypatch.setattr(ingest_flow, "ingest_source", ingest_flow.ingest_source.with_options(retry_delay_seconds=1))
    try:
        with pytest.raises(Exception) as failure:
            ingest_orders(sources=["woo-eu"], start=START, end=ANCHOR)
    finally:
        server.ensure_running()
    message = str(failure.value)
    assert "woo-eu orders" in message and "OperationalError" in message and "127.0.0.1" in message
    dispose_engines()
    from warehouse.engine import get_engine

    engine = get_engine(server.url)
    with engine.connect() as conn:
        chunks = conn.execute(select(LoadAudit.chunks).where(LoadAudit.source == "woo-eu")).scalar_one()
        orders = conn.execute(select(func.count()).select_from(Order).where(Order.source == "woo-eu")).scalar_one()
    assert chunks == 1 and 350 < orders <= 400  # the first chunk (400 records) only, whole
