"""promotion-review as a real Prefect run over a hand-built warehouse history, on SQLite and
PostgreSQL: the verdicts, the costs, a running promotion, re-running the same date.

The shop sells ten SKUs at 10.00 (cost 6.00) for 70 days from 2026-09-01, each about 8 units a
day, one unit an order: Kitchen K1–K4 and Garden G1–G6.
- KITCHEN10: 10% off K1 and K2 with a code, days 35–41; demand doubles (true lift +100%).
  By hand: ~350 extra units × 4.00 = ~1,400 margin for 10% of ~700 units × 10.00 = ~700: ROI ≈ +1.
- GARDEN20: 20% off G1 and G2 with a code, days 50–56; demand does not move (true lift 0).
- LATE: 15% off G5 from day 68 to day 75, still running on the review date (day 69).
"""

import json
from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest

from flows.promotion_review import promotion_review
from tasks.promotions.calendar import store_promotions
from tests.builders import insert_orders, insert_products
from tests.conftest import table_contents

DAY0 = datetime(2026, 9, 1, tzinfo=timezone.utc)
SKUS = {"K1": "Kitchen", "K2": "Kitchen", "K3": "Kitchen", "K4": "Kitchen",
        **{f"G{i}": "Garden" for i in range(1, 7)}}
PROMOTIONS = {  # id: (skus, first day, last day + 1, discount, true multiplier, code)
    "KITCHEN10": (["K1", "K2"], 35, 42, 0.10, 2.0, "KITCHEN10"),
    "GARDEN20": (["G1", "G2"], 50, 57, 0.20, 1.0, "GARDEN20"),
    "LATE": (["G5"], 68, 76, 0.15, 1.0, "LATE15"),
}
AS_OF = (DAY0 + timedelta(days=69)).date()


def history(seed=11):
    rng = np.random.default_rng(seed)
    rows = []
    for day in range(70):
        for sku in SKUS:
            rate, discount, code = 25.0, 0.0, None
            for skus, first, end, off, multiplier, promo_code in PROMOTIONS.values():
                if sku in skus and first <= day < end:
                    rate, discount, code = rate * multiplier, off, promo_code
            for n in range(rng.poisson(rate)):
                rows.append((day, sku, discount, code, n))
    frame = pd.DataFrame(rows, columns=["day", "sku", "discount", "code", "n"])
    frame["external_id"] = [f"o{i}" for i in range(len(frame))]
    frame["created_at"] = pd.Timestamp(DAY0) + pd.to_timedelta(frame["day"], unit="D") + pd.to_timedelta(
        (frame["n"] * 37) % 1440, unit="min")
    return frame


def load(engine, frame):
    insert_orders(engine, frame.assign(quantity=1, unit_price=10.0, discount=frame["discount"] * 10.0))
    insert_products(engine, SKUS, DAY0)
    store_promotions(engine, pd.DataFrame([{
        "promotion_id": f"calendar:{pid}", "origin": "calendar", "name": pid, "type": "percentage",
        "parameters": f'{{"percent": {int(off * 100)}}}',
        "starts_at": pd.Timestamp(DAY0 + timedelta(days=first)), "ends_at": pd.Timestamp(DAY0 + timedelta(days=end)),
        "scope_skus": pd.Series(skus).to_json(orient="values"), "scope_categories": None, "scope_channels": None,
        "member_only": False, "codes": f'["{code}"]',
    } for pid, (skus, first, end, off, _, code) in PROMOTIONS.items()]))


@pytest.fixture
def reviewed(engine):
    frame = history()
    load(engine, frame)
    summary = promotion_review(as_of=AS_OF)
    with engine.connect() as conn:
        reviews = pd.read_sql("SELECT * FROM promotion_reviews", conn).set_index("promotion_id")
        attributed = pd.read_sql("SELECT * FROM promotion_attributions", conn)
    return frame, summary, reviews, attributed


def test_the_verdicts_and_lifts_come_out_of_the_warehouse_history(reviewed):
    frame, summary, reviews, _ = reviewed
    kitchen, garden = reviews.loc["calendar:KITCHEN10"], reviews.loc["calendar:GARDEN20"]
    assert kitchen["verdict"] == "repeat" and garden["verdict"] == "stop"
    assert kitchen["lift_percent_low"] < 100 < kitchen["lift_percent_high"]
    assert garden["lift_percent_low"] < 0 < garden["lift_percent_high"]
    assert float(kitchen["roi_low"]) < 1.0 < float(kitchen["roi_high"])  # the true ROI is inside the interval
    assert summary["promotions"] == 3 and summary["repeat"] == 1 and summary["stop"] >= 1
    assert kitchen["baseline_method"].startswith(("difference in differences", "pre-period daily average"))


def test_costs_and_counts_are_those_of_the_orders_that_used_the_code(reviewed):
    frame, _, reviews, attributed = reviewed
    used = frame[frame["code"] == "KITCHEN10"]
    kitchen = reviews.loc["calendar:KITCHEN10"]
    assert int(kitchen["orders"]) == len(used) == int(kitchen["units"])
    assert float(kitchen["discount_cost"]) == pytest.approx(len(used) * 1.00)  # 10% of 10.00 an order
    assert float(kitchen["sales"]) == pytest.approx(len(used) * 9.00)
    mine = attributed[attributed["promotion_id"] == "calendar:KITCHEN10"]
    assert sorted(mine["external_order_id"]) == sorted(used["external_id"])
    assert (mine["matched_by"] == "code").all()


def test_a_running_promotion_is_provisional(reviewed):
    _, summary, reviews, _ = reviewed
    late = reviews.loc["calendar:LATE"]
    assert bool(late["provisional"]) and int(late["days"]) == 2  # days 68 and 69 of 8
    assert summary["provisional"] == 1


def test_the_same_date_twice_gives_the_same_rows(reviewed, engine):
    _, summary, _, _ = reviewed
    before = {t: table_contents(engine, t, ("run_id", "computed_at")) for t in ("promotion_reviews",
                                                                               "promotion_attributions")}
    assert promotion_review(as_of=AS_OF) == summary
    after = {t: table_contents(engine, t, ("run_id", "computed_at")) for t in ("promotion_reviews",
                                                                              "promotion_attributions")}
    assert after == before and len(before["promotion_attributions"]) > 300


# --- the sandbox's promotions, whose true effects its generator knows ------------------------

SANDBOX_DAYS = 120
# A 120-day sandbox ingested per test: on SQLite only (the hand-built tests above cover PostgreSQL).
SQLITE_ONLY = pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def promotion_sandbox():
    from connectors.sandbox import Sandbox
    from tests.contract.conftest import small_config

    with Sandbox(small_config(days=SANDBOX_DAYS, anomalies={})) as running:
        yield running


@pytest.fixture
def sandbox_reviewed(promotion_sandbox, sources_file, warehouse_url, engine, tmp_path, monkeypatch):
    from flows.ingest import ingest_orders
    from tasks.promotions.calendar import import_calendar
    from tests.contract.conftest import ANCHOR
    from tests.flow.conftest import use_sandbox

    sandbox = promotion_sandbox
    use_sandbox(sandbox, sources_file, monkeypatch)
    ingest_orders(start=ANCHOR - timedelta(days=SANDBOX_DAYS), end=ANCHOR)
    # First from the marketplaces alone (their price rules and coupons), then with the calendar.
    marketplace_only = promotion_review(as_of=ANCHOR.date())
    from_marketplaces = _reviewed(engine)
    calendar = import_calendar(engine, sandbox.write_promotion_calendar(tmp_path / "calendar.csv"))
    assert calendar.problems == []
    promotion_review(as_of=ANCHOR.date())
    truth = sandbox.promotion_truth().promotions()
    after = _reviewed(engine)
    with_calendar = truth.assign(promotion_id=lambda t: "calendar:" + t["promotion_id"]).merge(
        after, on="promotion_id", how="left", suffixes=("_true", "_attributed"))
    return with_calendar, (marketplace_only, from_marketplaces, after, truth)


def _reviewed(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        reviews = pd.read_sql("SELECT * FROM promotion_reviews", conn)
        attributed = pd.read_sql(
            "SELECT promotion_id, COUNT(DISTINCT external_order_id) AS orders, "
            "SUM(CASE WHEN is_gift THEN kept_quantity ELSE 0 END) AS gift_units "
            "FROM promotion_attributions GROUP BY promotion_id", conn)
        codes = pd.read_sql("SELECT promotion_id, origin, codes FROM promotions", conn)
    return (reviews.merge(attributed, on="promotion_id", how="left", suffixes=("_review", ""))
            .merge(codes, on="promotion_id", how="left"))


@SQLITE_ONLY
def test_the_marketplaces_promotions_alone_are_reviewed_and_then_give_way_to_the_calendar(sandbox_reviewed):
    with_calendar, (summary, from_marketplaces, after, truth) = sandbox_reviewed
    assert summary["marketplace_errors"] == {}
    # Every promotion with a code came from its marketplace; each attributes the orders that used it.
    coded = truth[~truth["automatic"]].assign(
        code_set=lambda t: t["codes"].map(lambda codes: tuple(sorted(c.upper() for c in codes))))
    read = from_marketplaces.assign(code_set=from_marketplaces["codes"].map(lambda text: tuple(sorted(json.loads(text)))),
                                    store=from_marketplaces["origin"])
    matched = coded.merge(read, on=["store", "code_set"], how="left", suffixes=("_true", ""))
    assert matched["verdict"].notna().all()
    busy = matched[matched["orders_true"] >= 20]
    assert len(busy) >= 10
    assert ((busy["orders"] - busy["orders_true"]).abs() <= 0.1 * busy["orders_true"]).all()
    # With the calendar imported, its rows win: every promotion is reviewed once, from the calendar.
    assert with_calendar["verdict"].notna().all() and len(with_calendar) == len(truth)
    assert (after["origin"] == "calendar").all() and after["promotion_id"].is_unique


@SQLITE_ONLY
def test_the_sandbox_promotions_are_attributed_to_the_orders_that_used_them(sandbox_reviewed):
    sandbox_reviewed = sandbox_reviewed[0]
    rows = sandbox_reviewed[sandbox_reviewed["orders_true"] >= 20]
    assert len(rows) >= 15
    # Within 10%: the truth also counts orders cancelled since, which are not sales.
    assert ((rows["orders_attributed"] - rows["orders_true"]).abs() <= 0.1 * rows["orders_true"]).all()
    gifts = sandbox_reviewed[sandbox_reviewed["gift_units_true"] >= 20]
    assert len(gifts) >= 3
    assert ((gifts["gift_units_attributed"] - gifts["gift_units_true"]).abs() <= 0.1 * gifts["gift_units_true"]).all()


@SQLITE_ONLY
def test_the_sandbox_promotions_true_lift_is_recovered_within_the_stated_tolerance(sandbox_reviewed):
    """Tolerance: for the promotions with at least 100 baseline units in scope (member-only ones
    are left out: the warehouse cannot tell members, so their lift is diluted over every customer),
    at least 70% of the 95% intervals hold the true lift, and the estimates are off by at most 30
    points on average. No promotion without a true lift is told to repeat."""
    rows = sandbox_reviewed[0].assign(true_lift=lambda t: 100 * (t["units_in_scope"] / t["baseline_units"] - 1))
    measured = rows[(rows["baseline_units"] >= 100) & ~rows["member_only"] & rows["lift_percent"].notna()]
    assert len(measured) >= 8
    inside = (measured["lift_percent_low"] <= measured["true_lift"]) & (measured["true_lift"] <= measured["lift_percent_high"])
    assert inside.mean() >= 0.7
    assert (measured["lift_percent"] - measured["true_lift"]).abs().mean() <= 30
    assert not ((rows["uplift"] == 1.0) & (rows["verdict"] == "repeat")).any()
