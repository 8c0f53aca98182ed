"""Run locks: one run at a time per flow and business date, across processes and machines.

A scheduled run and a backfill chunk of the same flow and date would otherwise interleave their
deletes and inserts of that date's rows. The lock lives where the warehouse lives, so it holds
for every worker that writes there, and it dies with the process holding it (nothing to clean
up after a crash):

- PostgreSQL: a session-level advisory lock on a connection of its own (autocommit, so no
  transaction stays open while the flow works).
- SQLite: an exclusive `flock` on a file beside the database (one machine is all SQLite serves).

A run that finds the lock taken waits, logging every minute, and fails after the timeout with an
error that names the lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import re
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from sqlalchemy import Engine, text
from sqlalchemy.engine import make_url

from shopops.logs import get_logger
from shopops.settings import get_settings

POLL_SECONDS = 0.5
LOG_EVERY_SECONDS = 60.0


class RunLockTimeout(RuntimeError):
    pass


def run_key(flow: str, day) -> str:
    return f"{flow}:{day}"


@contextmanager
def run_lock(engine: Engine, key: str, timeout_seconds: float | None = None) -> Iterator[None]:
    """Hold the lock `key` (e.g. "replenishment:2026-11-20") for the block; wait for it when taken."""
    if timeout_seconds is None:
        timeout_seconds = get_settings().run_lock_timeout_minutes * 60
    holder = _PostgresLock(engine, key) if engine.dialect.name == "postgresql" else _FileLock(engine, key)
    log = get_logger("shopops.locks")
    began = last_log = time.monotonic()
    logged = False
    while not holder.try_acquire():
        waited = time.monotonic() - began
        if waited >= timeout_seconds:
            holder.close()
            raise RunLockTimeout(f"another run holds {key!r} (same flow, same date) and still held it after "
                                 f"{waited / 60:.1f} min; it may be a backfill chunk or the scheduled run — let it "
                                 f"finish, or raise SHOPOPS_RUN_LOCK_TIMEOUT_MINUTES")
        if not logged or time.monotonic() - last_log >= LOG_EVERY_SECONDS:
            log.info("waiting for %s: another run of the same flow and date holds it (%.0f s so far)", key, waited)
            logged, last_log = True, time.monotonic()
        time.sleep(POLL_SECONDS)
    if logged:
        log.info("took %s after %.0f s", key, time.monotonic() - began)
    try:
        yield
    finally:
        holder.release()


class _PostgresLock:
    def __init__(self, engine: Engine, key: str) -> None:
        digest = hashlib.blake2b(f"shopops:run:{key}".encode(), digest_size=8).digest()
        self.key = int.from_bytes(digest, "big", signed=True)
        self.conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")

    def try_acquire(self) -> bool:
        return bool(self.conn.execute(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}).scalar())

    def release(self) -> None:
        try:
            self.conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
        except Exception:
            self.conn.invalidate()  # the session, and with it the lock, is dropped rather than pooled
        finally:
            self.conn.close()

    close = release


class _FileLock:
    def __init__(self, engine: Engine, key: str) -> None:
        database = make_url(str(engine.url)).database
        folder = (Path(database).parent / f"{Path(database).name}.locks" if database and database != ":memory:"
                  else get_settings().data_dir / "locks")
        folder.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", key)
        self.fd = os.open(folder / f"{name}.lock", os.O_RDWR | os.O_CREAT, 0o644)

    def try_acquire(self) -> bool:
        try:
            fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return False
        return True

    def release(self) -> None:
        os.close(self.fd)  # closing drops the flock

    close = release
