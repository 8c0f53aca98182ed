"""Storing a plan: the date's rows are replaced, and alerts come most urgent first."""

from datetime import date, datetime, timezone

import pandas as pd

from tasks.replenishment.store import replace_plan
from warehouse.engine import write_transaction
from warehouse.models import TABLES

AS_OF = date(2026, 11, 20)
NOW = datetime(2026, 11, 20, 6, 30, tzinfo=timezone.utc)


def plan_rows(levels: dict[str, tuple[str, float]]) -> pd.DataFrame:
    """A plan with one row per SKU: its level and revenue at risk; every other column a plain value."""
    table = TABLES["replenishment_suggestions"]
    filler = {c.name: ("" if c.type.python_type is str else 0) for c in table.columns
              if c.name not in ("run_id", "computed_at")}
    return pd.DataFrame([{**filler, "as_of_date": AS_OF, "sku": sku, "location": "shop-us", "level": level,
                          "raw_level": level, "previous_level": None,
                          "level_reason": f"{level} because", "revenue_at_risk": risk, "days_of_cover": 1.0,
                          "stockout_date": AS_OF} for sku, (level, risk) in levels.items()])


def stored(engine, table: str) -> list[tuple]:
    with engine.connect() as conn:
        return sorted(conn.exec_driver_sql(f"SELECT sku, run_id FROM {table}").all())


def test_alerts_come_most_urgent_first_and_ok_rows_are_not_alerts(engine):
    rows = plan_rows({"A": ("watch", 0), "B": ("critical", 50), "C": ("ok", 0), "D": ("warning", 0),
                      "E": ("critical", 80)})
    with write_transaction(engine) as conn:
        alerts = replace_plan(conn, rows, AS_OF, "run-1", NOW)
    assert list(alerts["sku"]) == ["E", "B", "D", "A"]  # critical by revenue at risk, then warning, then watch
    assert stored(engine, "stock_alerts") == [(s, "run-1") for s in "ABDE"]
    assert len(stored(engine, "replenishment_suggestions")) == 5


def test_a_rerun_for_the_same_date_replaces_its_rows(engine):
    with write_transaction(engine) as conn:
        replace_plan(conn, plan_rows({"A": ("critical", 1), "B": ("watch", 0)}), AS_OF, "run-1", NOW)
    with write_transaction(engine) as conn:
        replace_plan(conn, plan_rows({"A": ("ok", 0)}), AS_OF, "run-2", NOW)  # B is no longer planned
    assert stored(engine, "replenishment_suggestions") == [("A", "run-2")]
    assert stored(engine, "stock_alerts") == []
