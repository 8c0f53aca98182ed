"""The few functions that move frames in and out of the warehouse, fast on both backends.

Writes are bulk: PostgreSQL gets one `COPY … FROM STDIN` per frame, SQLite one `executemany`.
Values are formatted the way SQLAlchemy's own types store them (UTC timestamps, exact decimal
text), so rows written here and rows written through the ORM compare equal.
"""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
from sqlalchemy import Connection, text
from sqlalchemy.sql.expression import Executable

from warehouse.engine import is_postgres

SQLITE_TIMESTAMP = "%Y-%m-%d %H:%M:%S.%f"  # SQLAlchemy's storage format for SQLite DATETIME
_NULL = r"\N"


def insert_frame(conn: Connection, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> int:
    """Append `frame[columns]` to `table` (names are ours, never user input). Returns rows written."""
    if frame.empty:
        return 0
    frame = frame[list(columns)]
    if is_postgres(conn):
        _copy_into(conn, table, frame)
    else:
        placeholders = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({placeholders})"
        conn.exec_driver_sql(sql, list(_sqlite_rows(frame)))
    return len(frame)


def _copy_into(conn: Connection, table: str, frame: pd.DataFrame) -> None:
    buffer = io.StringIO()
    _postgres_text(frame).to_csv(buffer, index=False, header=False, na_rep=_NULL, quoting=csv.QUOTE_MINIMAL)
    raw = conn.connection.driver_connection  # the psycopg connection, inside our transaction
    with raw.cursor() as cursor:
        with cursor.copy(f"COPY {table} ({', '.join(frame.columns)}) FROM STDIN WITH (FORMAT csv, NULL '{_NULL}')") as copy:
            copy.write(buffer.getvalue())


def _postgres_text(frame: pd.DataFrame) -> pd.DataFrame:
    out = {}
    for name, values in frame.items():
        kind, values = _classify(values)
        if kind == "time":
            values = values.dt.strftime("%Y-%m-%d %H:%M:%S.%f+00:00")
        elif kind == "decimal":
            values = values.map(_decimal_text, na_action="ignore")
        out[name] = values
    return pd.DataFrame(out)


def _sqlite_rows(frame: pd.DataFrame) -> Iterable[tuple]:
    columns = []
    for _, values in frame.items():
        kind, values = _classify(values)
        if kind == "time":
            values = values.dt.strftime(SQLITE_TIMESTAMP)
        elif kind == "decimal":
            values = values.map(_decimal_text, na_action="ignore")
        elif values.dtype == bool:
            values = values.astype(np.int64)
        columns.append(values.astype(object).where(values.notna(), None).tolist())
    return zip(*columns)


def _classify(values: pd.Series) -> tuple[str, pd.Series]:
    """("time", values in UTC) for timestamps of any zone, ("decimal", …) for Decimals, else ("other", …).

    A column of timestamps with mixed offsets arrives as objects; naive timestamps are refused,
    since the warehouse cannot know their zone.
    """
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return "time", values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype) and values.notna().any():
        raise ValueError(f"column {values.name!r} holds naive timestamps; the warehouse stores UTC only")
    if values.dtype == object:
        if _holds(values, Decimal):
            return "decimal", values
        if _holds(values, datetime):
            return "time", pd.to_datetime(values, utc=True)
    return "other", values


def _holds(values: pd.Series, kind: type) -> bool:
    first = values.first_valid_index()
    return first is not None and isinstance(values[first], kind)


def _decimal_text(value) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def create_temp_table(conn: Connection, name: str, columns_sql: str) -> None:
    """A scratch table private to this connection, gone at commit (PostgreSQL) and replaced on reuse."""
    if is_postgres(conn):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns_sql}) ON COMMIT DROP")
    else:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns_sql})")


def stage_like(conn: Connection, table: str) -> str:
    """An empty scratch copy of `table`'s columns, private to this transaction; returns its name."""
    name = f"stg_{table}"
    if is_postgres(conn):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    else:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} AS SELECT * FROM main.{table} WHERE 0")
    return name


def upsert_frame(conn: Connection, table: str, frame: pd.DataFrame, keys: Sequence[str],
                 update: Sequence[str]) -> int:
    """Insert rows, or overwrite `update` columns where the key exists (set-based, one statement)."""
    if frame.empty:
        return 0
    columns = list(keys) + [c for c in frame.columns if c not in keys]
    staged = stage_like(conn, table)
    insert_frame(conn, staged, frame, columns)
    names = ", ".join(columns)
    action = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in update)) if update else "DO NOTHING"
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {staged} WHERE true "
        f"ON CONFLICT ({', '.join(keys)}) {action}"
    )
    return len(frame)


def read_frame(conn: Connection, statement: Executable | str, params: dict | None = None,
               columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows of a statement as a frame. Give a typed statement (a select on the models, or text with
    `.columns(...)`) where types matter: SQLite returns timestamps as text and money as floats."""
    statement = text(statement) if isinstance(statement, str) else statement
    result = conn.execute(statement, params or {})
    rows = result.fetchall()
    return pd.DataFrame(rows, columns=list(columns or result.keys()))


def lock_source(conn: Connection, source: str) -> None:
    """Serialise loads of one source across processes (SQLite is serialised by BEGIN IMMEDIATE)."""
    if is_postgres(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": f"shopops:load:{source}"})
