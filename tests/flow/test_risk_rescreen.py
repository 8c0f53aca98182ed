"""Risk flags end the same whatever order the orders were loaded in (SQLite and PostgreSQL).

A customer's earlier order that is loaded after the later ones (a later chunk, another source,
another run) changes what the later ones say; the re-screen at the end of each run puts that
right, for the queued customers only."""

from datetime import datetime, timedelta, timezone

import pandas as pd
from sqlalchemy import func, insert, select, text, update

from flows.ingest import ingest_orders
from shopops.settings import get_settings
from tasks.clean import RiskRules
from tasks.rescreen import rescreen_queued
from tests.builders import insert_orders, insert_products
from tests.contract.conftest import ANCHOR, DAYS
from tests.flow.conftest import wipe
from warehouse.models import LoadAudit, Order, RiskRescreen

DAY1 = datetime(2026, 11, 2, 10, tzinfo=timezone.utc)
FAR_ABOVE, NEW_AND_HIGH, FRAGILE = ("amount far above the customer's history", "new customer with a high amount",
                                    "fragile or special goods")


def flags(engine) -> dict:
    with engine.connect() as conn:
        rows = conn.execute(select(Order.external_id, Order.risk_level, Order.risk_reasons)).all()
    return {external_id: (level, reasons) for external_id, level, reasons in rows}


def test_the_queued_customers_orders_are_screened_against_their_whole_history(engine):
    insert_products(engine, {"GLASS-1": "Glassware", "MUG-1": "Kitchen"}, listed_at=DAY1 - timedelta(days=30))
    orders = pd.DataFrame({
        "external_id": ["a", "b", "c", "d", "e"],
        "created_at": [DAY1, DAY1 + timedelta(days=1), DAY1 + timedelta(days=2), DAY1 + timedelta(days=2),
                       DAY1 + timedelta(days=3)],
        "sku": ["MUG-1", "GLASS-1", "MUG-1", "MUG-1", "MUG-1"],
        "quantity": [1, 1, 1, 1, 1], "unit_price": [100.0, 120.0, 700.0, 50.0, 550.0], "discount": [0.0] * 5,
        "code": [None] * 5})
    insert_orders(engine, orders)
    with engine.begin() as conn:
        conn.execute(update(Order).values(payment_method="paypal"))
        conn.execute(update(Order).where(Order.external_id.in_(["a", "b", "c", "d"])).values(customer_key="K"))
        # c was loaded before a and b, so its first screen saw no history: a new customer spending 700
        conn.execute(update(Order).where(Order.external_id == "c").values(risk_level="medium",
                                                                          risk_reasons=NEW_AND_HIGH))
        conn.execute(insert(RiskRescreen), [{"customer_key": "K", "since": DAY1 + timedelta(days=1)},
                                            {"customer_key": "K", "since": DAY1}])

    done = rescreen_queued(engine, RiskRules.from_settings(get_settings()))

    after = flags(engine)
    # c: two earlier orders averaging (100 + 120) / 2 = 110, and 700 > 3 × 110 = 330 (weight 2)
    assert after["c"] == ("medium", FAR_ABOVE)
    # d was created at the same moment as c: its history is a and b only, and 50 is no outlier
    assert after["d"] == ("none", None)
    assert after["b"] == ("low", FRAGILE)  # one earlier order is below the two the history rule needs
    assert after["a"] == ("none", None)
    assert after["e"] == ("none", None)  # customer not queued: left as it was (its 550 would flag it)
    assert (done.customers, done.orders, done.changed) == (1, 4, 2)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RiskRescreen)).scalar_one() == 0
    assert rescreen_queued(engine, RiskRules.from_settings(get_settings())).orders == 0


def test_only_orders_whose_earlier_orders_changed_are_screened_again(engine):
    insert_products(engine, {"MUG-1": "Kitchen"}, listed_at=DAY1 - timedelta(days=30))
    days = [0, 1, 3, 4]
    insert_orders(engine, pd.DataFrame({
        "external_id": ["a", "b", "d", "e"], "created_at": [DAY1 + timedelta(days=n) for n in days],
        "sku": ["MUG-1"] * 4, "quantity": [1] * 4, "unit_price": [100.0, 120.0, 50.0, 80.0], "discount": [0.0] * 4,
        "code": [None] * 4}))
    rules = RiskRules.from_settings(get_settings())
    with engine.begin() as conn:
        conn.execute(update(Order).values(customer_key="K", payment_method="paypal"))
        conn.execute(insert(RiskRescreen), [{"customer_key": "K", "since": DAY1}])
    assert rescreen_queued(engine, rules).orders == 4  # loaded without the inputs they were screened with

    with engine.connect() as conn:
        inputs = dict(conn.execute(select(Order.external_id, Order.risk_prior_orders)).all())
        totals = dict(conn.execute(select(Order.external_id, Order.risk_prior_total)).all())
    assert inputs == {"a": 0, "b": 1, "d": 2, "e": 3}
    assert {k: float(v) for k, v in totals.items()} == {"a": 0.0, "b": 100.0, "d": 220.0, "e": 270.0}

    with engine.begin() as conn:  # queued again with nothing new: every order's inputs still hold
        conn.execute(insert(RiskRescreen), [{"customer_key": "K", "since": DAY1}])
    assert rescreen_queued(engine, rules).orders == 0

    # c arrives late, created between b and d: only d and e have a new history (a and b do not,
    # though the customer is queued from a on, as a load of an edited a would queue it).
    insert_orders(engine, pd.DataFrame({
        "external_id": ["c"], "created_at": [DAY1 + timedelta(days=2)], "sku": ["MUG-1"], "quantity": [1],
        "unit_price": [900.0], "discount": [0.0], "code": [None]}))
    with engine.begin() as conn:
        conn.execute(update(Order).where(Order.external_id == "c").values(customer_key="K", payment_method="paypal",
                                                                          risk_prior_orders=2,
                                                                          risk_prior_total=220))
        conn.execute(insert(RiskRescreen), [{"customer_key": "K", "since": DAY1}])
    done = rescreen_queued(engine, rules)
    assert done.orders == 2
    with engine.connect() as conn:
        inputs = dict(conn.execute(select(Order.external_id, Order.risk_prior_orders)).all())
        totals = dict(conn.execute(select(Order.external_id, Order.risk_prior_total)).all())
    assert inputs == {"a": 0, "b": 1, "c": 2, "d": 3, "e": 4}
    assert {k: float(v) for k, v in totals.items()} == {"a": 0.0, "b": 100.0, "c": 220.0, "d": 1120.0,
                                                        "e": 1170.0}


def test_after_an_ingest_in_small_chunks_every_flag_matches_the_whole_history(configured, engine):
    start = ANCHOR - timedelta(days=DAYS)
    # The newer half first, as a backfill of later dates can run first: every customer's earlier
    # orders then arrive after their later ones, across runs, chunks (400 orders) and sources.
    ingest_orders(start=ANCHOR - timedelta(days=DAYS // 2), end=ANCHOR)
    ingest_orders(start=start, end=ANCHOR - timedelta(days=DAYS // 2))

    rules = RiskRules.from_settings(get_settings())
    with engine.connect() as conn:
        # The oracle: each order's earlier orders of the same customer, counted in SQL from scratch.
        rows = conn.execute(text(
            "SELECT o.external_id, o.source, CAST(o.total AS FLOAT), o.risk_reasons, COUNT(p.external_id), "
            "COALESCE(SUM(CAST(p.total AS FLOAT)), 0), o.risk_prior_orders, CAST(o.risk_prior_total AS FLOAT) "
            "FROM orders o LEFT JOIN orders p ON p.customer_key = o.customer_key AND p.created_at < o.created_at "
            "WHERE o.customer_key IS NOT NULL "
            "GROUP BY o.source, o.external_id, o.total, o.risk_reasons, o.risk_prior_orders, o.risk_prior_total")).all()
        queued = conn.execute(select(func.count()).select_from(RiskRescreen)).scalar_one()
    frame = pd.DataFrame(rows, columns=["external_id", "source", "total", "reasons", "prior", "prior_total",
                                        "kept_prior", "kept_prior_total"])
    reasons = frame["reasons"].fillna("")
    expected_far = (frame["prior"] >= rules.history_min_orders) & (
        frame["total"] > rules.history_multiple * frame["prior_total"] / frame["prior"].where(frame["prior"] > 0))
    expected_new = (frame["prior"] == 0) & (frame["total"] >= rules.new_customer_amount)
    assert queued == 0
    assert (frame["prior"] > 0).sum() > 100  # repeat customers, so the history rules are exercised
    assert expected_far.sum() > 0 and expected_new.sum() > 0
    assert (reasons.str.contains(FAR_ABOVE, regex=False) == expected_far).all()
    assert (reasons.str.contains(NEW_AND_HIGH, regex=False) == expected_new).all()
    # Each order keeps the history its flags were worked out from, which is the whole history now.
    assert (frame["kept_prior"] == frame["prior"]).all()
    assert ((frame["kept_prior_total"] - frame["prior_total"]).abs() < 0.005).all()


def test_the_last_source_of_a_run_to_finish_screens_for_all(configured, engine, monkeypatch):
    from tasks import ingest

    calls = []

    def counted(engine, rules, **kwargs):
        with engine.connect() as conn:  # who is still loading when the re-screen starts
            calls.append(conn.execute(select(func.count()).select_from(LoadAudit).where(
                LoadAudit.status == "running")).scalar_one())
        return rescreen_queued(engine, rules, **kwargs)

    monkeypatch.setattr(ingest, "rescreen_queued", counted)
    summary = ingest_orders(start=ANCHOR - timedelta(days=DAYS), end=ANCHOR)
    assert len(summary) > 1  # several sources, one re-screen, with no source loading any more
    assert calls == [0]
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RiskRescreen)).scalar_one() == 0
        assert conn.execute(select(func.count()).where(Order.risk_prior_orders.is_(None))).scalar_one() == 0


def test_a_run_whose_re_screen_failed_leaves_its_customers_queued_for_the_next(configured, engine, monkeypatch):
    start = ANCHOR - timedelta(days=DAYS)

    def fails(*args, **kwargs):
        raise RuntimeError("the warehouse went away")

    with monkeypatch.context() as patched:
        patched.setattr("tasks.ingest.rescreen_queued", fails)
        ingest_orders(start=start, end=ANCHOR)  # the loads are committed all the same
    with engine.connect() as conn:
        queued = conn.execute(select(func.count(func.distinct(RiskRescreen.customer_key)))).scalar_one()
        customers = conn.execute(select(func.count(func.distinct(Order.customer_key)))).scalar_one()
    assert queued == customers > 0

    ingest_orders(start=start, end=ANCHOR)  # nothing new to load; the queue is screened and emptied
    after_retry = flags(engine)
    with engine.connect() as conn:
        assert conn.execute(select(func.count()).select_from(RiskRescreen)).scalar_one() == 0

    wipe(engine)  # the same window loaded cleanly gives the same flags
    ingest_orders(start=start, end=ANCHOR)
    assert flags(engine) == after_retry
