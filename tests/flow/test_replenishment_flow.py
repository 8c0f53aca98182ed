"""replenishment end to end over the sandbox, on SQLite and PostgreSQL."""

from datetime import datetime, time, timedelta, timezone

import pandas as pd
import pytest

from flows.ingest import ingest_orders
from flows.replenishment import replenishment
from tasks.purchasing import import_purchase_orders
from tasks.stock_history import import_stock_history
from tasks.supply import import_supply
from tests.conftest import table_contents
from tests.contract.conftest import ANCHOR, DAYS

START = ANCHOR - pd.Timedelta(days=DAYS)
RUN_COLUMNS = ("run_id", "computed_at")


def import_purchasing_data(sandbox, engine, tmp_path, known_at) -> None:
    """What the purchasing team hands over at `known_at`: supplier terms, the ERP's stock history,
    the purchase orders."""
    import_supply(engine, sandbox.write_supply_csv(tmp_path / "supply.csv"))
    stock = import_stock_history(engine, sandbox.write_stock_history_csv(tmp_path / "stock.csv", until=known_at))
    orders = import_purchase_orders(engine, sandbox.write_purchase_orders_csv(tmp_path / "po.csv", as_of=known_at))
    assert stock.problems == [] and orders.problems == []


@pytest.fixture
def planned(configured, engine, tmp_path):
    """The sandbox's history ingested with the purchasing data, and a plan for the anchor's date
    (the catalogue sync dates its stock snapshot by the shop's clock: the sandbox's)."""
    ingest_orders(start=START, end=ANCHOR)
    import_purchasing_data(configured, engine, tmp_path, ANCHOR)
    # The sandbox's history is three weeks: a slow mover is one idle for two of them.
    parameters = {"as_of": ANCHOR.date(), "history_days": DAYS, "slow_mover_days": 14}
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


def test_ongoing_stock_outs_are_critical_unless_enough_is_on_order_and_dead_stock_never_alerts(planned, tmp_path):
    sandbox, _, _, rows, alerts = planned
    truth = sandbox.truth("shop-us")
    outs = truth.stock_outs()
    out_now = set(outs.loc[outs["end"].isna(), "sku"])
    products = truth.products()
    dead = set(products.loc[products["is_dead_stock"], "sku"])
    level = alerts.set_index("sku")["level"].reindex(rows["sku"]).fillna("ok")

    selling_but_out = rows[rows["sku"].isin(out_now) & (rows["forecast_daily"] > 0)]
    covered = selling_but_out["inventory_position"] >= selling_but_out["forecast_daily"] * selling_but_out["lead_time_days"]
    assert covered.sum() > 0 and (~covered).sum() > 0  # the sandbox has open orders for some, not all
    assert (level.reindex(selling_but_out.loc[~covered, "sku"]) == "critical").all()
    assert (level.reindex(selling_but_out.loc[covered, "sku"]) != "critical").all()
    assert not set(alerts.loc[alerts["level"].isin(["critical", "warning"]), "sku"]) & dead


def test_open_purchase_orders_are_on_order_and_in_the_inventory_position(planned, tmp_path):
    _, _, _, rows, _ = planned
    orders = pd.read_csv(tmp_path / "po.csv")
    still_to_come = orders[orders["status"] == "open"].assign(
        units=lambda o: o["quantity"] - o["received_quantity"]).groupby(["sku", "stock_pool"])["units"].sum()
    planned_on_order = rows.set_index(["sku", "location"])["on_order"]
    assert len(still_to_come) > 5
    expected = still_to_come.rename_axis(["sku", "location"]).reindex(planned_on_order.index, fill_value=0)
    assert (planned_on_order == expected).all()
    assert (rows["inventory_position"] == rows["available"] + rows["on_order"]).all()


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


def test_a_backfill_plans_a_past_date_from_what_was_known_then(configured, engine, tmp_path):
    """Plan a date a week back with only what was known then, then again after a week of new
    orders, edits of older ones (fulfilments, refunds, cancellations), receipts and price changes:
    the same rows."""
    day = (ANCHOR - timedelta(days=7)).date()
    known_at = datetime.combine(day, time(2), tzinfo=timezone.utc)  # orders that showed up late are in
    parameters = {"as_of": day, "history_days": DAYS - 7, "slow_mover_days": 7}
    configured.clock.set(known_at)
    ingest_orders(start=START, end=known_at)
    (tmp_path / "then").mkdir()
    import_purchasing_data(configured, engine, tmp_path / "then", known_at)
    replenishment(**parameters)
    then = table_contents(engine, "replenishment_suggestions", RUN_COLUMNS)

    configured.clock.set(ANCHOR)
    ingest_orders(start=known_at, end=ANCHOR)
    (tmp_path / "now").mkdir()
    import_purchasing_data(configured, engine, tmp_path / "now", ANCHOR)
    replenishment(**parameters)
    assert table_contents(engine, "replenishment_suggestions", RUN_COLUMNS) == then
    assert len(then) > 100
    # What was learnt since does change the plan of a later date.
    replenishment(**{**parameters, "as_of": ANCHOR.date()})
    with engine.connect() as conn:
        later = pd.read_sql(f"SELECT * FROM replenishment_suggestions WHERE as_of_date = '{ANCHOR.date()}'", conn)
    assert len(later) >= len(then)


def test_the_reminder_reaches_purchasing_through_a_notification_block(planned):
    from shopops.blocks import save_reminder_block

    sandbox, parameters, summary, _, alerts = planned
    block = save_reminder_block("purchasing-test", sandbox.notification_url("purchasing"))
    before = len(sandbox.notifications("purchasing"))
    result = replenishment(**parameters, reminder_block=block)
    assert result["reminder"] == "sent"
    received = sandbox.notifications("purchasing")[before:]
    assert len(received) == 1
    message = received[0]["body"]
    assert message["subject"] == (f"Replenishment {parameters['as_of']}: {summary['critical']} critical, "
                                  f"{summary['warning']} warning, {summary['to_order']} SKUs to order")
    top = alerts[alerts["level"] == "critical"].sort_values("revenue_at_risk", ascending=False).iloc[0]
    assert f"  {top['sku']} (shop-us): order {top['suggested_quantity']}" in message["body"]
    assert all(path in message["body"] for path in result["purchase_lists"])
    assert "@" not in message["body"]  # SKUs and numbers only: no customer's contact


def test_a_reminder_that_cannot_be_sent_is_reported_and_the_plan_still_stands(planned, engine):
    from shopops.blocks import save_reminder_block

    _, parameters, summary, rows, _ = planned
    block = save_reminder_block("purchasing-down", "http://127.0.0.1:9/nobody-listens")
    result = replenishment(**parameters, reminder_block=block)
    assert result["reminder"].startswith("failed:")
    assert {k: v for k, v in result.items() if k != "reminder"} == {k: v for k, v in summary.items() if k != "reminder"}
    missing = replenishment(**parameters, reminder_block="custom-webhook/no-such-block")
    assert "not found" in missing["reminder"] and "shopops blocks create-reminder" in missing["reminder"]
    with engine.connect() as conn:
        assert conn.exec_driver_sql("SELECT COUNT(*) FROM replenishment_suggestions").scalar_one() == len(rows)


def test_every_sku_to_order_is_on_its_suppliers_purchase_list(planned):
    _, _, summary, rows, _ = planned
    lists = pd.concat([pd.read_csv(path).assign(file=path) for path in summary["purchase_lists"]])
    to_order = rows[rows["suggested_quantity"] > 0]
    assert sorted(lists["sku"]) == sorted(to_order["sku"])
    assert (lists.set_index("sku")["quantity"].sort_index() == to_order.set_index("sku")["suggested_quantity"].sort_index()).all()
    supplier_of = to_order.set_index("sku")["supplier"]
    for path, group in lists.groupby("file"):
        assert group["sku"].map(supplier_of).nunique() == 1, path


def test_the_next_day_holds_yesterdays_level_while_within_the_margin(planned, engine):
    _, parameters, _, _, first = planned
    next_day = {**parameters, "as_of": parameters["as_of"] + timedelta(days=1), "history_days": DAYS + 1}
    replenishment(**next_day)
    with engine.connect() as conn:
        alerts = pd.read_sql(f"SELECT * FROM stock_alerts WHERE as_of_date = '{next_day['as_of']}'", conn)
    yesterday = first.set_index("sku")["level"]
    assert (alerts["previous_level"] == alerts["sku"].map(yesterday).fillna("ok")).all()
    held = alerts[alerts["level"] != alerts["raw_level"]]
    assert len(held) > 0  # a day without sales moved some items just past a threshold
    assert (held["level"] == held["previous_level"]).all()
    assert held["reason"].str.endswith("(held from the day before: within 10% of the threshold)").all()
    replenishment(**{**next_day, "hysteresis": 0})  # off: every level is the day's own
    with engine.connect() as conn:
        plain = pd.read_sql(f"SELECT level, raw_level FROM stock_alerts WHERE as_of_date = '{next_day['as_of']}'", conn)
    assert (plain["level"] == plain["raw_level"]).all()
