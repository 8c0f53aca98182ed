"""Engine set-up for SQLite (default) and PostgreSQL, and the schema check flows run first."""

from __future__ import annotations

import threading
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import make_url

from shopops.settings import get_settings

_engines: dict[str, Engine] = {}
_lock = threading.Lock()


def normalize_url(url: str) -> str:
    """Accept the plain `postgresql://` form and use psycopg 3 (the driver we ship)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def get_engine(url: str | None = None) -> Engine:
    """One engine per URL per process (engines hold the connection pool)."""
    url = normalize_url(url or get_settings().resolved_warehouse_url())
    with _lock:
        engine = _engines.get(url)
        if engine is None:
            engine = _create(url)
            _engines[url] = engine
        return engine


def dispose_engines() -> None:
    with _lock:
        for engine in _engines.values():
            engine.dispose()
        _engines.clear()


def _create(url: str) -> Engine:
    parsed = make_url(url)
    if parsed.get_backend_name() != "sqlite":
        # UTC sessions: timestamps never depend on the server's or the client's zone.
        return create_engine(url, pool_pre_ping=True, future=True, connect_args={"options": "-c timezone=UTC"})
    if parsed.database and parsed.database != ":memory:":
        Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(url, connect_args={"timeout": 60}, future=True)
    _make_sqlite_transactional(engine)
    return engine


_SQLITE_BEGIN = {"DEFERRED": "BEGIN DEFERRED", "IMMEDIATE": "BEGIN IMMEDIATE"}


def _make_sqlite_transactional(engine: Engine) -> None:
    """SQLAlchemy's documented recipe: let SQLAlchemy, not pysqlite, emit BEGIN.

    Writers ask for BEGIN IMMEDIATE (see `write_transaction`) so two loads never deadlock on a
    lock upgrade; readers use a deferred BEGIN and, thanks to WAL, do not block writers.
    """

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection):
        mode = conn.get_execution_options().get("sqlite_begin", "DEFERRED")
        conn.exec_driver_sql(_SQLITE_BEGIN[mode])


@contextmanager
def write_transaction(engine: Engine) -> Iterator[Connection]:
    """A transaction that writes: committed on success, rolled back on any error."""
    with engine.connect() as conn:
        if engine.dialect.name == "sqlite":
            conn = conn.execution_options(sqlite_begin="IMMEDIATE")
        with conn.begin():
            yield conn


def is_postgres(engine_or_conn: Engine | Connection) -> bool:
    return engine_or_conn.dialect.name == "postgresql"
