"""Shared fixtures: a migrated warehouse on SQLite and on PostgreSQL, isolated settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from shopops.settings import reset_settings_cache

POSTGRES_ADMIN_URL = os.environ.get("SHOPOPS_TEST_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres")
# One database per test session, so that two runs on one machine (CI and a developer) never
# drop each other's tables.
POSTGRES_TEST_DB = f"shopops_test_{os.getpid()}"


@pytest.hookimpl(tryfirst=True)
def pytest_xdist_auto_num_workers(config):
    """`-n auto` starts two workers per core. Much of the suite waits on Prefect servers, sandbox
    pacing and PostgreSQL rather than computing: one worker per core left a third of a 2-core
    machine idle (CI 14.4 min with two workers, 10.7 with four)."""
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None  # xdist reads it
    return 2 * len(os.sched_getaffinity(0))


@pytest.fixture(autouse=True)
def isolated_settings(tmp_path, monkeypatch):
    """Every test gets its own data dir and no SHOPOPS_* leaking in from the shell."""
    for name in list(os.environ):
        if name.startswith("SHOPOPS_") and name != "SHOPOPS_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    monkeypatch.setenv("SHOPOPS_DATA_DIR", str(tmp_path / "data"))
    # Flows under test run their sources on threads (a worker process takes seconds to start);
    # the test of the process runner says so itself.
    monkeypatch.setenv("SHOPOPS_INGEST_TASK_RUNNER", "threads")
    reset_settings_cache()
    yield
    reset_settings_cache()


@pytest.fixture(scope="session")
def postgres_url():
    admin = create_engine(POSTGRES_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            _drop_databases_of_dead_sessions(conn)
            conn.execute(text(f"CREATE DATABASE {POSTGRES_TEST_DB}"))
    except Exception as exc:  # the tests must run on PostgreSQL too: say how to get it
        admin.dispose()
        pytest.fail(f"PostgreSQL is not reachable at {POSTGRES_ADMIN_URL} ({type(exc).__name__}); start it with "
                    "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` or set "
                    "SHOPOPS_TEST_POSTGRES_URL")
    yield POSTGRES_ADMIN_URL.rsplit("/", 1)[0] + f"/{POSTGRES_TEST_DB}"
    from warehouse.engine import dispose_engines

    dispose_engines()
    with admin.connect() as conn:
        conn.execute(text(f"DROP DATABASE IF EXISTS {POSTGRES_TEST_DB} WITH (FORCE)"))
    admin.dispose()


def _drop_databases_of_dead_sessions(conn) -> None:
    """Test databases left behind by sessions that were killed before they could clean up."""
    names = conn.execute(text("SELECT datname FROM pg_database WHERE datname LIKE 'shopops\\_test\\_%'")).scalars()
    for name in list(names):
        pid = name.rsplit("_", 1)[1]
        if pid.isdigit() and not Path(f"/proc/{pid}").exists():
            conn.execute(text(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)"))


@pytest.fixture(params=["sqlite", "postgres"])
def warehouse_url(request, tmp_path, monkeypatch) -> str:
    """A freshly migrated, empty warehouse on each backend; SHOPOPS_WAREHOUSE_URL points at it."""
    from warehouse.engine import dispose_engines
    from warehouse.migrate import upgrade

    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'warehouse.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
        dispose_engines()
        engine = create_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    monkeypatch.setenv("SHOPOPS_WAREHOUSE_URL", url)
    reset_settings_cache()
    upgrade(url)
    yield url
    dispose_engines()


@pytest.fixture
def engine(warehouse_url):
    from warehouse.engine import get_engine

    return get_engine(warehouse_url)


def table_contents(engine, table: str, exclude: tuple[str, ...] = ()) -> list[tuple]:
    """Every row of a table, sorted, without the named columns: for comparing whole tables."""
    from warehouse.models import TABLES

    columns = [c for c in TABLES[table].columns if c.name not in exclude]
    with engine.connect() as conn:
        rows = conn.execute(TABLES[table].select().with_only_columns(*columns)).all()
    return sorted((tuple(row) for row in rows), key=repr)


@pytest.fixture
def sources_file(tmp_path: Path, monkeypatch):
    def write(sources: list[dict]) -> Path:
        import yaml

        path = tmp_path / "sources.yaml"
        path.write_text(yaml.safe_dump({"sources": sources}))
        monkeypatch.setenv("SHOPOPS_SOURCES_FILE", str(path))
        reset_settings_cache()
        return path

    return write
