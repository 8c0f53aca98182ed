"""Net sales by day: refunds on their own date, reconciled with the orders and with the sandbox's truth."""

from datetime import date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from sqlalchemy import select

from flows.ingest import ingest_orders
from tasks.operations.net_sales import SOLD_STATUSES, net_sales_by_day
from tests.contract.conftest import ANCHOR, DAYS
from warehouse.models import Order, Refund

START = ANCHOR - timedelta(days=DAYS + 1)
FIRST_DAY, LAST_DAY = START.date(), (ANCHOR + timedelta(days=30)).date()


def sold_orders(engine) -> pd.DataFrame:
    with engine.connect() as conn:
        rows = conn.execute(select(Order.source, Order.external_id, Order.created_at, Order.subtotal,
                                   Order.discount_total, Order.refunded_total)
                            .where(Order.status.in_(SOLD_STATUSES))).all()
    return pd.DataFrame(rows, columns=["source", "external_id", "created_at", "subtotal", "discount_total",
                                       "refunded_total"])


def test_refunds_count_on_their_own_day_and_everything_adds_up_to_the_orders(configured, engine):
    ingest_orders(start=START, end=ANCHOR)
    by_refund = net_sales_by_day(engine, FIRST_DAY, LAST_DAY)
    by_order = net_sales_by_day(engine, FIRST_DAY, LAST_DAY, by="order")
    orders = sold_orders(engine)

    for source, mine in orders.groupby("source"):
        expected_net = sum(mine["subtotal"] - mine["discount_total"] - mine["refunded_total"], Decimal(0))
        for table in (by_refund, by_order):
            assert sum(table.loc[table["source"] == source, "net"], Decimal(0)) == expected_net
        # By order date, each day is exactly the sum over that day's orders.
        days = pd.to_datetime(mine["created_at"], utc=True).dt.date
        per_day = {day: sum(group["subtotal"] - group["discount_total"] - group["refunded_total"], Decimal(0))
                   for day, group in mine.groupby(days)}
        assert dict(zip(by_order.loc[by_order["source"] == source, "day"],
                        by_order.loc[by_order["source"] == source, "net"])) == per_day

    # By refund date, each day's refunds are the sandbox's refunds paid that day (Shopify dates them).
    store = configured.world.stores["shop-us"]
    truth = configured.truth("shop-us").orders(ANCHOR)
    sold_ids = set(orders.loc[orders["source"] == "shop-us", "external_id"])
    refunded = truth[(truth["refunded_total"] > 0) & truth["id"].astype(str).isin(sold_ids)]
    rows = np.flatnonzero(np.isin(store.ids.order, refunded["id"].to_numpy()))
    refund_days = pd.to_datetime(store.life.refund_at[rows], unit="s", utc=True).date
    expected = pd.Series(store.life.refund_total[rows], index=refund_days).groupby(level=0).sum()
    shown = by_refund[(by_refund["source"] == "shop-us") & (by_refund["refunds"] > 0)]
    assert dict(zip(shown["day"], shown["refunds"])) == {day: Decimal(int(cents)) / 100 for day, cents in expected.items()}
    assert len(expected) >= 5  # the history holds refunds on many days, most of them days after their orders
    assert (refund_days > pd.to_datetime(store.created[rows], unit="s", utc=True).date).mean() > 0.8


def test_a_refund_weeks_after_the_order_updates_the_order_and_lands_on_its_own_day(configured, engine):
    store = configured.world.stores["shop-us"]
    life = store.life
    late = np.flatnonzero((life.refund_at != np.iinfo(np.int64).max) & (life.refund_at > ANCHOR.timestamp() + 3600)
                          & (life.refund_at - store.created >= 14 * 86400) & (store.created >= START.timestamp()))
    assert late.size, "the history should hold orders refunded more than two weeks after they were placed"
    row = int(late[np.argmin(life.refund_at[late])])
    order_id, refund_at = str(store.ids.order[row]), datetime.fromtimestamp(int(life.refund_at[row]), timezone.utc)
    order_day = datetime.fromtimestamp(int(store.created[row]), timezone.utc).date()

    ingest_orders(start=START, end=ANCHOR)
    before = net_sales_by_day(engine, FIRST_DAY, LAST_DAY).set_index(["day", "source"])
    with engine.connect() as conn:
        assert conn.execute(select(Order.refunded_total).where(Order.external_id == order_id)).scalar_one() == 0

    later = refund_at + timedelta(hours=1)
    configured.clock.set(later)
    ingest_orders(end=later)  # the hourly run: from the cursor, minus the lookback

    with engine.connect() as conn:
        refunded_total = conn.execute(select(Order.refunded_total).where(Order.external_id == order_id)).scalar_one()
        refund_dates = conn.execute(select(Refund.created_at).where(Refund.external_order_id == order_id)).scalars().all()
    assert refunded_total == Decimal(int(life.refund_total[row])) / 100
    assert [moment.date() for moment in refund_dates] == [refund_at.date()]
    after = net_sales_by_day(engine, FIRST_DAY, LAST_DAY).set_index(["day", "source"])
    assert after.loc[(order_day, "shop-us"), "refunds"] == before.loc[(order_day, "shop-us"), "refunds"]
    assert after.loc[(refund_at.date(), "shop-us"), "refunds"] >= refunded_total


@pytest.mark.parametrize("warehouse_url", ["sqlite"], indirect=True)
def test_days_follow_the_business_time_zone(configured, engine):
    ingest_orders(start=START, end=ANCHOR)
    utc_days = net_sales_by_day(engine, FIRST_DAY, LAST_DAY)
    tokyo_days = net_sales_by_day(engine, FIRST_DAY, LAST_DAY, zone="Asia/Tokyo")
    assert sum(utc_days["gross"], Decimal(0)) == sum(tokyo_days["gross"], Decimal(0)) > 0
    assert dict(zip(utc_days["day"], utc_days["gross"])) != dict(zip(tokyo_days["day"], tokyo_days["gross"]))
    assert isinstance(tokyo_days["day"].iloc[0], date)
