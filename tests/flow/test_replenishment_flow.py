"""replenishment end to end over the sandbox, on SQLite and PostgreSQL."""

from datetime import datetime, timezone

import pandas as pd
import pytest

from flows.ingest import ingest_orders
from flows.replenishment import replenishment
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR, DAYS

START = ANCHOR - pd.Timedelta(days=DAYS)
RUN_COLUMNS = ("run_id", "computed_at")


@pytest.fixture
def planned(configured, engine):
    """The sandbox's history ingested; a plan for today (the stock snapshot is today's) that
    looks back far enough to cover the whole history, whatever the date the tests run on."""
    ingest_orders(start=START, end=ANCHOR)
    today = datetime.now(timezone.utc).date()
    # The sandbox's history is three weeks: a slow mover is one idle for two of them.
    parameters = {"as_of": today, "history_days": (today - START.date()).days, "slow_mover_days": 14}
    summary = replenishment(**parameters)
    with engine.connect() as conn:
        rows = pd.read_sql("SELECT * FROM replenishment_suggestions", conn)
        alerts = pd.read_sql("SELECT * FROM stock_alerts", conn)
    return configured, parameters, summary, rows, alerts


def test_running_twice_for_the_same_date_gives_the_same_rows(planned, engine):
    _, parameters, summary, _, _ = planned
    before = {t: table_contents(engine, t, RUN_COLUMNS) for t in ("replenishment_suggestions", "stock_alerts")}
    assert replenishment(**parameters) == summary
    after = {t: table_contents(engine, t, RUN_COLUMNS) for t in ("replenishment_suggestions", "stock_alerts")}
    assert after == before and len(before["replenishment_suggestions"]) > 100


def test_demand_counts_every_unit_sold_once_including_the_store_without_stock(planned, engine):
    # woo-eu has no stock of its own: the sandbox maps it to shop-us's pool.
    _, _, _, rows, _ = planned
    with engine.connect() as conn:
        lines = pd.read_sql(
            "SELECT l.sku, l.quantity - COALESCE(l.refunded_quantity, 0) AS units, o.source FROM order_lines l "
            "JOIN orders o ON o.source = l.source AND o.external_id = l.external_order_id "
            "WHERE o.status NOT IN ('cancelled', 'failed', 'deleted')", conn)
    planned_skus = set(rows["sku"])
    expected = lines[lines["sku"].isin(planned_skus)]["units"].sum()
    assert set(lines["source"]) == {"shop-us", "woo-eu"}
    assert set(rows["location"]) == {"shop-us"}
    assert rows["units_sold"].sum() == pytest.approx(expected)


def test_ongoing_stock_outs_are_critical_and_dead_stock_never_alerts(planned):
    sandbox, _, _, rows, alerts = planned
    truth = sandbox.truth("shop-us")
    outs = truth.stock_outs()
    out_now = set(outs.loc[outs["end"].isna(), "sku"])
    products = truth.products()
    dead = set(products.loc[products["is_dead_stock"], "sku"])

    selling_but_out = rows[rows["sku"].isin(out_now) & (rows["forecast_daily"] > 0)]
    assert len(selling_but_out) > 0
    flagged = alerts.set_index("sku")["level"]
    assert (flagged.reindex(selling_but_out["sku"]) == "critical").all()
    assert not set(alerts.loc[alerts["level"].isin(["critical", "warning"]), "sku"]) & dead


def test_every_suggestion_explains_itself_and_presale_skus_are_not_reordered(planned):
    _, _, summary, rows, alerts = planned
    ordered = rows[rows["suggested_quantity"] > 0]
    assert len(ordered) == summary["to_order"] > 0
    assert ordered["quantity_reason"].str.startswith("need ").all()
    assert (ordered["suggested_quantity"] % ordered["pack_size"] == 0).all()
    assert (ordered["suggested_quantity"] >= ordered["moq"]).all()
    assert rows["safety_stock_rule"].notna().all() and rows["demand_class"].notna().all()
    presale = rows[rows["presale_pool"] > 0]
    assert (presale["suggested_quantity"] == 0).all()
    assert summary["critical"] == (alerts["level"] == "critical").sum() > 0


def test_dead_stock_gets_delisting_warnings_and_stocked_out_best_sellers_do_not(planned):
    sandbox, _, summary, rows, _ = planned
    products = sandbox.truth("shop-us").products().set_index("sku")

    def known(flag):  # the sandbox's own word on each planned SKU
        return rows["sku"].map(products[flag]).fillna(False).astype(bool)

    eligible = ~known("is_presale") & (rows["available"] > 0)
    dead = rows[eligible & known("is_dead_stock")]
    assert len(dead) > 10
    assert dead["delisting_warning"].mean() >= 0.9  # the rest sold a unit within the last two weeks
    best = rows[known("is_best_seller")]
    assert not best["delisting_warning"].any()  # in stock they sell; out of stock they are a stock-out
    warned = rows[rows["delisting_warning"].astype(bool)]
    assert summary["delisting_warnings"] == len(warned)
    assert (warned["idle_in_stock_days"] >= 14).all() and warned["slow_mover_action"].ne("").all()
    assert warned["delisting_reason"].str.startswith("no sale in ").all()
