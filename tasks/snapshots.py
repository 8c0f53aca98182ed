"""Sparse daily snapshots: a series' value holds from its row's day until its next row, so a
day's sync writes rows only for what changed (stock of 50,000 SKUs a day would otherwise be
18 million rows a year, nearly all repeats).

For the day of the sync, a series whose current value differs from its latest earlier row gets
a row (a later sync the same day overwrites it, or removes it when the value is back where the
day began). Done in frames, not in one SQL statement: the correlated forms of it were slow on
PostgreSQL, and the catalogue fits in memory (one row per SKU and location).
"""

from __future__ import annotations

from datetime import date, datetime

import pandas as pd
from sqlalchemy import Connection, Date, and_, bindparam, func, select, text

from warehouse.io import create_temp_table, insert_frame, read_frame, upsert_frame
from warehouse.models import TABLES
from warehouse.sql_names import sql_name


def write_day_changes(conn: Connection, table: str, keys: list[str], values: list[str], current: pd.DataFrame,
                      scope: dict[str, str], day: date, run_id: str, taken_at: datetime,
                      absent: dict[str, object] | None = None) -> int:
    """Bring `table`'s rows for `day` in line with `current` (one row per series: `keys` and
    `values`); `scope` restricts the series looked at (e.g. one shop's). A series that has no
    current row takes the `absent` values (e.g. stock 0), or is left as it was. Returns the
    number of series whose value changed that day."""
    earlier = _latest_before(conn, table, keys, values, scope, day)
    if absent is not None:
        gone = earlier.merge(current[keys], on=keys, how="left", indicator=True)
        gone = gone[gone["_merge"] == "left_only"][keys].assign(**absent)
        current = pd.concat([current, gone], ignore_index=True) if len(gone) else current
    merged = current.merge(earlier, on=keys, how="left", suffixes=("", "_before"), indicator=True)
    changed = (merged["_merge"] == "left_only").to_numpy(copy=True)
    for name in values:
        now, before = merged[name], merged[f"{name}_before"]
        changed |= ~((now == before) | (now.isna() & before.isna())).to_numpy()
    rows = merged.loc[changed, keys + values].assign(snapshot_date=day, run_id=run_id, taken_at=pd.Timestamp(taken_at))
    upsert_frame(conn, table, rows, keys + ["snapshot_date"], values + ["run_id", "taken_at"], only_if_changed=values)
    _delete_day_rows(conn, table, keys, merged.loc[~changed, keys], scope, day)
    return int(changed.sum())


def _latest_before(conn: Connection, table: str, keys: list[str], values: list[str], scope: dict[str, str],
                   day: date) -> pd.DataFrame:
    """Each series' latest row before `day`: its keys and values."""
    t = TABLES[table]
    in_scope = [t.c[name] == value for name, value in scope.items()]
    latest = select(*(t.c[k] for k in keys), func.max(t.c.snapshot_date).label("day")).where(
        t.c.snapshot_date < day, *in_scope).group_by(*(t.c[k] for k in keys)).subquery()
    return read_frame(conn, select(*(t.c[k] for k in keys + values)).join(latest, and_(
        *(latest.c[k] == t.c[k] for k in keys), latest.c.day == t.c.snapshot_date)))


def _delete_day_rows(conn: Connection, table: str, keys: list[str], unchanged: pd.DataFrame, scope: dict[str, str],
                     day: date) -> None:
    """Remove the day's rows of series whose value ended the day where it began."""
    t = TABLES[table]
    written = read_frame(conn, select(*(t.c[k] for k in keys)).where(
        t.c.snapshot_date == day, *(t.c[name] == value for name, value in scope.items())))
    back = written.merge(unchanged, on=keys)
    if back.empty:
        return
    create_temp_table(conn, "unchanged_series", ", ".join(f"{k} TEXT" for k in keys))
    insert_frame(conn, "unchanged_series", back, keys)
    table = sql_name(table)
    matches = " AND ".join(f"u.{sql_name(k)} = {table}.{sql_name(k)}" for k in keys)
    conn.execute(text(f"DELETE FROM {table} WHERE snapshot_date = :day AND EXISTS "
                      f"(SELECT 1 FROM unchanged_series u WHERE {matches})").bindparams(
        bindparam("day", type_=Date)), {"day": day})
