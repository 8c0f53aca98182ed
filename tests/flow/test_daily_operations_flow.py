"""daily-operations as real Prefect runs over the sandbox: the load gate, the four flows side by side,
and one failing without stopping the others."""


import pandas as pd
import pytest
from prefect import flow

import flows.daily_operations as daily
from flows.daily_operations import GateClosed, daily_operations
from tests.contract.conftest import ANCHOR

AS_OF = ANCHOR.date()


def test_nothing_runs_while_the_orders_are_not_loaded(configured, engine):
    with pytest.raises(GateClosed) as closed:
        daily_operations(as_of=AS_OF, ingest=False)
    for source in ("shop-us", "woo-eu"):
        assert f"{source}: orders are loaded up to never, not to the cut-off 2026-11-21 00:00 UTC" in str(closed.value)
    with engine.connect() as conn:
        assert pd.read_sql("SELECT COUNT(*) AS n FROM replenishment_suggestions", conn)["n"][0] == 0


def test_the_day_loads_then_runs_the_four_flows(configured, engine):
    summary = daily_operations(as_of=AS_OF)
    assert {name: summary[name] for name in daily.OPERATIONS} == {name: "completed" for name in daily.OPERATIONS}
    with engine.connect() as conn:
        cursors = pd.read_sql("SELECT source, cursor FROM sync_state WHERE stream = 'orders'", conn)
        scores = pd.read_sql(f"SELECT COUNT(*) AS n FROM satisfaction_scores WHERE score_date = '{AS_OF}'", conn)
    assert (pd.to_datetime(cursors["cursor"], utc=True) >= pd.Timestamp(ANCHOR)).all() and len(cursors) == 2
    results = summary["results"]
    assert results["replenishment"]["as_of"] == AS_OF.isoformat() and results["replenishment"]["skus_planned"] > 0
    assert results["promotion-review"]["as_of"] == AS_OF.isoformat()
    assert results["satisfaction-survey"]["as_of"] == AS_OF.isoformat() and scores["n"][0] > 0
    # Run again for the same date: the gate holds on what is loaded, the plan comes out the same.
    with engine.connect() as conn:
        plan = pd.read_sql("SELECT sku, location, suggested_quantity, reorder_point, delisting_reason FROM replenishment_suggestions "
                           "ORDER BY sku, location", conn)
    again = daily_operations(as_of=AS_OF)
    assert {name: again[name] for name in daily.OPERATIONS} == {name: "completed" for name in daily.OPERATIONS}
    assert again["results"]["replenishment"] == results["replenishment"]
    with engine.connect() as conn:
        assert plan.equals(pd.read_sql("SELECT sku, location, suggested_quantity, reorder_point, delisting_reason "
                                       "FROM replenishment_suggestions ORDER BY sku, location", conn))


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)  # the other two cover PostgreSQL
def test_one_flow_failing_does_not_stop_the_others_but_fails_the_day(configured, engine, monkeypatch):
    @flow(name="promotion-review")
    def broken_review(as_of, read_marketplaces=True):
        raise ValueError("the promotion calendar is unreadable")

    monkeypatch.setitem(daily.OPERATIONS, "promotion-review", broken_review)
    with pytest.raises(RuntimeError) as failed:
        daily_operations(as_of=AS_OF)
    assert "1 of 4 failed" in str(failed.value)
    assert "promotion-review: ValueError: the promotion calendar is unreadable" in str(failed.value)
    with engine.connect() as conn:  # the others ran to the end
        scores = pd.read_sql(f"SELECT COUNT(*) AS n FROM satisfaction_scores WHERE score_date = '{AS_OF}'", conn)
    assert scores["n"][0] > 0
