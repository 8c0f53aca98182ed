"""The few functions that move frames in and out of the warehouse, fast on both backends.

Writes are bulk: PostgreSQL gets one `COPY … FROM STDIN` (text format) per frame, SQLite one `executemany`.
Values are formatted the way SQLAlchemy's own types store them (UTC timestamps, exact decimal
text), so rows written here and rows written through the ORM compare equal.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Iterable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import Connection, Numeric, text
from sqlalchemy.sql.expression import Executable

from warehouse.engine import is_postgres
from warehouse.models import TABLES
from warehouse.sql_names import sql_column_definitions, sql_name, sql_names
from warehouse.types import MONEY_SCALE, money_text



def insert_frame(conn: Connection, table: str, frame: pd.DataFrame, columns: Sequence[str]) -> int:
    """Append `frame[columns]` to `table` (names checked by sql_name). Returns rows written.

    Integer columns that the table declares as money are ten-thousandths (see warehouse.types).
    """
    if frame.empty:
        return 0
    frame = frame[list(columns)]
    money = _money_columns(table)
    if is_postgres(conn):
        raw = conn.connection.driver_connection  # the psycopg connection, inside our transaction
        with raw.cursor() as cursor:
            with cursor.copy(f"COPY {sql_name(table)} ({sql_names(frame.columns)}) FROM STDIN") as copy:
                copy.write(memoryview(copy_text(frame, money)))
    else:
        placeholders = ", ".join("?" for _ in columns)
        sql = f"INSERT INTO {sql_name(table)} ({sql_names(columns)}) VALUES ({placeholders})"
        conn.exec_driver_sql(sql, list(_sqlite_rows(frame, money)))
    return len(frame)


def copy_text(frame: pd.DataFrame, money: set[str]) -> pa.Buffer:
    """The frame as `COPY … FROM STDIN` input in PostgreSQL's text format, built by Arrow's
    compute kernels (C++, outside the GIL): tab between fields, a newline after each row, `\\N` for
    NULL, and backslash, tab, newline and carriage return escaped, so NULL and "" stay apart. Text
    rather than CSV: the server parses JSON payloads, full of quotes, in about half the CPU. Times
    are UTC with a `Z`; money is ten-thousandths reinterpreted as NUMERIC(18, 4), exact."""
    fields = [_text_field(_arrow_column(values, name in money)) for name, values in frame.items()]
    rows = pc.binary_join_element_wise(*fields, _TAB, null_handling="replace", null_replacement="\\N")
    rows = pc.binary_join_element_wise(rows, _NOTHING, _NEWLINE)
    # No NULL row is left, so the joined rows are the data buffer between the first and last offsets.
    offsets = np.frombuffer(rows.buffers()[1], dtype=np.int64, count=len(rows) + 1, offset=8 * rows.offset)
    return rows.buffers()[2][int(offsets[0]):int(offsets[-1])]


_TAB, _NEWLINE, _NOTHING = (pa.scalar(text, pa.large_string()) for text in ("\t", "\n", ""))
_MONEY_TYPE = pa.decimal128(18, MONEY_SCALE)
_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))  # backslash first


def _text_field(column: pa.Array | pa.ChunkedArray) -> pa.Array:
    """One column as COPY text: numbers, booleans, dates and decimals in Arrow's (and PostgreSQL's)
    notation; text escaped, each escape applied only to columns where it occurs."""
    if isinstance(column, pa.ChunkedArray):
        column = column.combine_chunks()
    if pa.types.is_dictionary(column.type):  # a pandas categorical
        column = column.dictionary_decode()
    if pa.types.is_string(column.type) or pa.types.is_large_string(column.type):
        # Whether a character occurs at all, from the raw bytes (one SIMD pass, several times
        # faster than a per-string search); the buffer may hold a little more, which costs a
        # needless replace at worst.
        data = column.buffers()[2]
        data = np.frombuffer(data, dtype=np.uint8) if data is not None else np.empty(0, dtype=np.uint8)
        for character, escaped in _ESCAPES:
            if (data == ord(character)).any():
                column = pc.replace_substring(column, character, escaped)
    return pc.cast(column, pa.large_string())


def _arrow_column(values: pd.Series, is_money: bool) -> pa.Array:
    kind, values = _classify(values, is_money)
    if kind == "time":
        # Arrow formats naive times ~30x faster than zoned ones; the values are UTC already.
        naive = pa.array(values.dt.tz_localize(None).astype("datetime64[us]"), from_pandas=True)
        return pc.binary_join_element_wise(pc.cast(naive, pa.string()), "Z", "")
    if kind == "money":
        return _money_array(values)
    if kind == "decimal":
        return pa.array(values.map(_decimal_text, na_action="ignore"), type=pa.string(), from_pandas=True)
    if values.dtype != object:
        return pa.array(values, from_pandas=True)
    try:  # text, numbers or dates held as Python objects
        column = pa.array(values, from_pandas=True)
        if not pa.types.is_nested(column.type):
            return column
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # mixed kinds: written as their text
        pass
    return pa.array([v if v is None or type(v) is str else str(v) for v in values.tolist()], type=pa.string(),
                    mask=values.isna().to_numpy())


def _money_array(units: pd.Series) -> pa.Array:
    """Ten-thousandths as decimal128(18, 4) without arithmetic: a decimal128 is a 128-bit
    two's-complement integer of its unscaled value, so each int64 becomes (value, sign word)."""
    missing = units.isna().to_numpy()
    values = units.to_numpy(dtype=np.int64, na_value=0)
    words = np.empty((len(values), 2), dtype=np.int64)
    words[:, 0], words[:, 1] = values, values >> 63
    validity = pa.array(~missing).buffers()[1] if missing.any() else None
    return pa.Array.from_buffers(_MONEY_TYPE, len(values), [validity, pa.py_buffer(words)],
                                 null_count=int(missing.sum()))


def _sqlite_rows(frame: pd.DataFrame, money: set[str]) -> Iterable[tuple]:
    columns = []
    for name, values in frame.items():
        kind, values = _classify(values, name in money)
        missing = values.isna().to_numpy()
        if kind == "time":
            converted = np.char.replace(_iso_times(values, missing), "T", " ").astype(object)
        elif kind == "money":
            converted = money_text(values).to_numpy(dtype=object)
        elif kind == "decimal":
            converted = values.map(_decimal_text, na_action="ignore").to_numpy(dtype=object)
        elif pd.api.types.is_bool_dtype(values.dtype):
            converted = values.fillna(False).to_numpy(dtype=bool).astype(np.int64).astype(object)
        else:
            converted = values.astype(object).to_numpy()
        converted = np.array(converted, dtype=object)  # a copy: to_numpy may give a read-only view
        converted[missing] = None
        columns.append(converted.tolist())
    return zip(*columns)


def _iso_times(values: pd.Series, missing: np.ndarray) -> np.ndarray:
    """`YYYY-MM-DDTHH:MM:SS.ffffff` in UTC, vectorised (strftime is a Python loop)."""
    naive = values.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(dtype="datetime64[us]")
    text = np.datetime_as_string(naive, unit="us")
    return np.where(missing, "", text)


def _classify(values: pd.Series, is_money: bool) -> tuple[str, pd.Series]:
    """What a column holds: "time" (any zone, converted to UTC), "money" (ten-thousandths),
    "decimal" (Decimal objects) or "other". Naive timestamps are refused: their zone is unknown."""
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        return "time", values.dt.tz_convert("UTC")
    if pd.api.types.is_datetime64_dtype(values.dtype):
        if values.notna().any():
            raise ValueError(f"column {values.name!r} holds naive timestamps; the warehouse stores UTC only")
        return "other", values.astype(object)
    if is_money and pd.api.types.is_integer_dtype(values.dtype):
        return "money", values
    if values.dtype == object:
        if _holds(values, Decimal):
            return "decimal", values
        if _holds(values, datetime):
            return "time", pd.to_datetime(values, utc=True)
        if is_money and _holds(values, (int, np.integer)):
            return "money", values.astype("Int64")
    return "other", values


def _money_columns(table: str) -> set[str]:
    """Columns the table (or the table a `stg_` copy was made from) declares as money."""
    model = TABLES.get(table.removeprefix("stg_"))
    return {c.name for c in model.columns if isinstance(c.type, Numeric)} if model is not None else set()


def _holds(values: pd.Series, kind) -> bool:
    first = values.first_valid_index()
    return first is not None and isinstance(values[first], kind)


def _decimal_text(value) -> str:
    return format(value, "f") if isinstance(value, Decimal) else str(value)


def create_temp_table(conn: Connection, name: str, columns_sql: str) -> None:
    """A scratch table private to this connection, gone at commit (PostgreSQL) and replaced on reuse."""
    name, columns_sql = sql_name(name), sql_column_definitions(columns_sql)
    if is_postgres(conn):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns_sql}) ON COMMIT DROP")
    else:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} ({columns_sql})")


def analyze_scratch(conn: Connection, name: str) -> None:
    """Planner statistics for a scratch table just filled. Autovacuum never sees temporary tables,
    and without statistics PostgreSQL guesses a few thousand rows: it then sorted the whole orders
    table to join a 25,000-row chunk to it (1.4 s at a million orders, against 0.3 s)."""
    if is_postgres(conn):
        conn.exec_driver_sql(f"ANALYZE {sql_name(name)}")


def stage_like(conn: Connection, table: str) -> str:
    """An empty scratch copy of `table`'s columns, private to this transaction; returns its name."""
    table = sql_name(table)
    name = f"stg_{table}"
    if is_postgres(conn):
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS pg_temp.{name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} (LIKE {table} INCLUDING DEFAULTS) ON COMMIT DROP")
    else:
        conn.exec_driver_sql(f"DROP TABLE IF EXISTS temp.{name}")
        conn.exec_driver_sql(f"CREATE TEMP TABLE {name} AS SELECT * FROM main.{table} WHERE 0")
    return name


def upsert_frame(conn: Connection, table: str, frame: pd.DataFrame, keys: Sequence[str],
                 update: Sequence[str], only_if_changed: Sequence[str] = (), newer_by: str | None = None) -> int:
    """Insert rows, or overwrite `update` columns where the key exists (set-based, one statement).
    With `only_if_changed`, an existing row is overwritten only when one of those columns differs,
    so a re-run leaves unchanged rows (and their run ids) exactly as they were. With `newer_by`
    (a time column), an older version never overwrites a newer one."""
    if frame.empty:
        return 0
    columns = list(keys) + [c for c in frame.columns if c not in keys]
    staged = stage_like(conn, table)
    insert_frame(conn, staged, frame, columns)
    table, names = sql_name(table), sql_names(columns)
    action = ("DO UPDATE SET " + ", ".join(f"{sql_name(c)} = excluded.{sql_name(c)}" for c in update)
              if update else "DO NOTHING")
    conditions = []
    if update and only_if_changed:
        differs = "IS DISTINCT FROM" if is_postgres(conn) else "IS NOT"  # null-safe "differs"
        conditions.append("(" + " OR ".join(f"{table}.{sql_name(c)} {differs} excluded.{sql_name(c)}"
                                            for c in only_if_changed) + ")")
    if update and newer_by:
        conditions.append(f"{table}.{sql_name(newer_by)} <= excluded.{sql_name(newer_by)}")
    if conditions:
        action += " WHERE " + " AND ".join(conditions)
    conn.exec_driver_sql(
        f"INSERT INTO {table} ({names}) SELECT {names} FROM {sql_name(staged)} WHERE true "
        f"ON CONFLICT ({sql_names(keys)}) {action}"
    )
    return len(frame)


def replace_rows_of_day(conn: Connection, table: str, day, frame: pd.DataFrame, column: str = "as_of_date") -> int:
    """Make `frame` the table's rows for `day` (a re-run of a business date replaces its rows).
    `frame` has every column of the table."""
    model = TABLES[table]
    conn.execute(model.delete().where(model.c[column] == day))
    return insert_frame(conn, table, frame, [c.name for c in model.columns])


def read_frame(conn: Connection, statement: Executable | str, params: dict | None = None,
               columns: Sequence[str] | None = None) -> pd.DataFrame:
    """Rows of a statement as a frame. Give a typed statement (a select on the models, or text with
    `.columns(...)`) where types matter: SQLite returns timestamps as text and money as floats."""
    statement = text(statement) if isinstance(statement, str) else statement
    result = conn.execute(statement, params or {})
    # Plain tuples: pandas probes a Row for array attributes, and each probe raises inside SQLAlchemy.
    rows = [tuple(row) for row in result.fetchall()]
    return pd.DataFrame(rows, columns=list(columns or result.keys()))


def read_large_frame(conn: Connection, statement: Executable, params: dict | None = None, *,
                     times: Sequence[str] = (), dates: Sequence[str] = (), batch_rows: int = 100_000) -> pd.DataFrame:
    """Rows of a big read as a frame, from the driver's own values: SQLAlchemy's conversion of
    every value is skipped, and the `times` columns become UTC timestamps and the `dates` columns
    midnight timestamps in one vectorised step each. For text, numbers, times and dates only: money
    would come back as the driver gives it (a float on SQLite).

    Streamed `batch_rows` at a time, each batch made a frame at once: neither the driver's rows (a
    Python tuple and objects per value) nor, on PostgreSQL, the whole result (a server-side cursor)
    ever exist at once, only the frame's compact columns do."""
    # SQLite's cursor reads lazily by itself; PostgreSQL needs a server-side cursor.
    result = (conn.execution_options(stream_results=True) if is_postgres(conn) else conn).execute(statement, params or {})
    columns = list(result.keys())
    parts = []
    try:
        # SQLAlchemy reads a server-side cursor a row ahead to learn its columns: the rows it holds
        # (the cursor's position tells how many) come through it, the rest straight from the driver.
        ahead = getattr(result.cursor, "rownumber", None) or 0
        if ahead:
            parts.append(pd.DataFrame.from_records([tuple(row) for row in result.fetchmany(ahead)], columns=columns))
        while rows := result.cursor.fetchmany(batch_rows):
            parts.append(pd.DataFrame.from_records(rows, columns=columns))
    finally:
        result.close()
    if len(parts) > 1:  # a batch of only None is an object column: infer it again over the whole
        frame = pd.concat(parts, ignore_index=True).infer_objects()
    else:
        frame = parts[0] if parts else pd.DataFrame.from_records([], columns=columns)
    for name in times:  # SQLite gives ISO text in UTC, PostgreSQL aware datetimes
        frame[name] = pd.to_datetime(frame[name], utc=True, format="ISO8601")
    for name in dates:
        frame[name] = pd.to_datetime(frame[name], format="ISO8601")
    return frame


def lock_source(conn: Connection, source: str) -> None:
    """Serialise loads of one source across processes (SQLite is serialised by BEGIN IMMEDIATE)."""
    lock_name(conn, f"shopops:load:{source}")


def lock_name(conn: Connection, key: str) -> None:
    """Hold the lock named `key` until the transaction ends (PostgreSQL; SQLite writes one at a time)."""
    if is_postgres(conn):
        conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:key))"), {"key": key})
