"""The sandbox's stock history, purchase orders and notification sink, checked against what it
serves and against its own ground truth (orders, lines, stock-outs, catalogue)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import numpy as np
import pandas as pd
import pytest
import requests

from connectors.sandbox import Sandbox, SandboxConfig, StoreConfig

ANCHOR = datetime(2026, 11, 20, tzinfo=timezone.utc)
LATER = ANCHOR + timedelta(days=400)  # every order and every version has happened and shows
STOCK_HISTORY_HEADER = "date,stock_pool,location,sku,available"
PURCHASE_ORDER_HEADER = ("po_number,sku,stock_pool,supplier,quantity,received_quantity,ordered_on,expected_on,"
                         "received_on,status")


def small_config(**overrides) -> SandboxConfig:
    """The contract tests' small world: one Shopify shop and a WooCommerce store shipping from it."""
    settings = dict(
        seed=11, anchor=ANCHOR, days=21, skus=300,
        stores=[StoreConfig("shop-us", "shopify", "America/New_York", "USD", 40),
                StoreConfig("woo-eu", "woocommerce", "Europe/Paris", "EUR", 30)],
        rate_limit_bucket=100, rate_limit_leak_per_second=100.0,
    )
    settings.update(overrides)
    return SandboxConfig(**settings)


# An anchor at midnight (the anchor's day is empty) and one in the afternoon (a part day).
@pytest.fixture(scope="module", params=[ANCHOR, ANCHOR + timedelta(hours=15)], ids=["midnight", "afternoon"])
def sandbox(request):
    with Sandbox(small_config(anchor=request.param)) as sb:
        yield sb


@pytest.fixture()
def sb(sandbox):
    sandbox.clock.set(sandbox.config.anchor)
    sandbox.faults.clear()
    yield sandbox
    sandbox.clock.set(sandbox.config.anchor)
    sandbox.faults.clear()


# -- expectations from the ground truth -------------------------------------------------------
def history_days(sb: Sandbox) -> pd.DatetimeIndex:
    anchor = sb.config.anchor
    start = anchor - timedelta(days=sb.config.days)
    return pd.date_range(start.date(), anchor.date(), freq="D", unit="s")


def pool_stock(sb: Sandbox, shop: str) -> pd.DataFrame:
    """days x SKUs: the closing stock of both locations together."""
    history = sb.truth(shop).stock_history()
    return history.groupby(["date", "sku"])["available"].sum().unstack("sku")


def units_sold(sb: Sandbox, stores: list[str], columns: pd.Index) -> pd.DataFrame:
    """days x SKUs: units on the lines of orders created each UTC day by `stores`."""
    parts = []
    for store in stores:
        truth = sb.truth(store)
        created = truth.orders(now=LATER).set_index("id")["created_at"]
        lines = truth.lines(now=LATER)
        parts.append(pd.DataFrame({"date": created.loc[lines["order_id"]].dt.tz_convert(None).dt.floor("D").to_numpy(),
                                   "sku": lines["sku"].to_numpy(), "quantity": lines["quantity"].to_numpy()}))
    sold = pd.concat(parts).groupby(["date", "sku"])["quantity"].sum().unstack("sku")
    return _on_grid(sold, history_days(sb), columns)


def receipts(orders: pd.DataFrame, days: pd.DatetimeIndex, columns: pd.Index) -> pd.DataFrame:
    """days x SKUs: units of the received purchase-order lines, on the day they arrived."""
    received = orders[orders["status"] == "received"]
    return _on_grid(received.groupby(["received_on", "sku"])["quantity"].sum().unstack("sku"), days, columns)


def _on_grid(frame: pd.DataFrame, days: pd.DatetimeIndex, columns: pd.Index) -> pd.DataFrame:
    frame.index = pd.DatetimeIndex(frame.index).as_unit("s")
    return frame.reindex(index=days, columns=columns, fill_value=0).fillna(0).astype(np.int64)


def out_of_stock_at_day_ends(sb: Sandbox, shop: str, columns: pd.Index) -> pd.DataFrame:
    """days x SKUs: out of stock at the end of the day (the next midnight, the anchor at the latest)."""
    days = history_days(sb)
    anchor = pd.Timestamp(sb.config.anchor)
    ends = np.minimum(days.tz_localize("UTC") + pd.Timedelta(days=1), anchor)
    outs = sb.truth(shop).stock_outs()
    grid = pd.DataFrame(False, index=days, columns=columns)
    for window in outs[outs["sku"].isin(columns)].itertuples():  # a few dozen windows
        window_end = pd.Timestamp.max.tz_localize("UTC") if pd.isna(window.end) else window.end
        grid[window.sku] |= (ends >= window.start) & (ends < window_end)
    return grid


def presale_skus(sb: Sandbox, shop: str) -> pd.Index:
    products = sb.truth(shop).products()
    return pd.Index(products.loc[products["is_presale"], "sku"])


# -- stock history ----------------------------------------------------------------------------
def served_levels(sb: Sandbox) -> pd.Series:
    """What inventory_levels.json serves now, per (location, sku)."""
    session = requests.Session()
    session.headers["X-Shopify-Access-Token"] = sb.credentials()["SHOPOPS_SANDBOX_SHOP_US_TOKEN"]
    base = f"{sb.url}/shopify/shop-us/admin/api/2025-07"
    locations = [str(location["id"]) for location in session.get(f"{base}/locations.json").json()["locations"]]
    levels = pd.DataFrame(_pages(session, f"{base}/inventory_levels.json", "inventory_levels",
                                 {"location_ids": ",".join(locations), "limit": 250}))
    sku_of = _sku_of_inventory_item(session, base)
    return pd.Series(levels["available"].to_numpy(), index=pd.MultiIndex.from_arrays(
        [levels["location_id"].astype(str), levels["inventory_item_id"].map(sku_of)], names=["location", "sku"]))


def test_the_last_day_is_what_inventory_levels_json_serves(sb):
    served = served_levels(sb)
    locations = set(served.index.get_level_values("location"))

    history = sb.truth("shop-us").stock_history()
    assert set(history["location"]) == set(locations)
    assert history["date"].max() == pd.Timestamp(sb.config.anchor.date())
    last = history[history["date"] == history["date"].max()].set_index(["location", "sku"])["available"]
    pd.testing.assert_series_equal(last.sort_index(), served.sort_index(), check_names=False, check_dtype=False)


def test_the_levels_follow_the_clock_and_the_date_header_tells_the_sandbox_time(sb):
    # Just before the end of a day in the middle of the history, the pool holds that day's closing
    # stock plus what it still sells in the last minutes of the day; the Date header says when.
    day = pd.Timestamp(sb.config.anchor.date()) - pd.Timedelta(days=5)
    moment = (day + pd.Timedelta(hours=23, minutes=50)).to_pydatetime().replace(tzinfo=timezone.utc)
    sb.clock.set(moment)
    served = served_levels(sb).groupby("sku").sum()
    history = sb.truth("shop-us").stock_history()
    closing = history[history["date"] == day].groupby("sku")["available"].sum()
    anchor = sb.config.anchor  # every order is visible by then (some appear minutes after they are placed)
    lines = pd.concat([sb.truth(store).lines(anchor).merge(
        sb.truth(store).orders(anchor)[["id", "created_at"]], left_on="order_id", right_on="id")
        for store in ("shop-us", "woo-eu")])
    in_last_minutes = (lines["created_at"] >= pd.Timestamp(moment)) & (
        lines["created_at"] < (day + pd.Timedelta(days=1)).tz_localize("UTC"))
    last_minutes = lines[in_last_minutes].groupby("sku")["quantity"].sum()
    expected = closing.add(last_minutes, fill_value=0).reindex(served.index, fill_value=0)
    expected[expected.index.isin(presale_skus(sb, "shop-us"))] = 0  # pre-sale orders are back orders
    pd.testing.assert_series_equal(served.sort_index(), expected.sort_index().astype(served.dtype), check_names=False)
    response = requests.get(f"{sb.url}/shopify/shop-us/admin/api/2025-07/locations.json",
                            headers={"X-Shopify-Access-Token": sb.credentials()["SHOPOPS_SANDBOX_SHOP_US_TOKEN"]})
    assert response.headers["Date"] == moment.strftime("%a, %d %b %Y %H:%M:%S GMT")


def _pages(session: requests.Session, url: str, key: str, params: dict | None) -> list[dict]:
    """Every row of every page, following rel="next"."""
    rows = []
    while url:
        response = session.get(url, params=params)
        assert response.status_code == 200
        rows += response.json()[key]
        url, params = response.links.get("next", {}).get("url"), None
    return rows


def _sku_of_inventory_item(session: requests.Session, base: str) -> dict[int, str]:
    products = _pages(session, f"{base}/products.json", "products", {"limit": 250})
    ids = [str(variant["inventory_item_id"]) for product in products for variant in product["variants"]]
    items = []
    for start in range(0, len(ids), 100):  # at most 100 ids a request
        batch = {"ids": ",".join(ids[start:start + 100])}
        items += _pages(session, f"{base}/inventory_items.json", "inventory_items", batch)
    return {item["id"]: item["sku"] for item in items}


def test_stock_is_never_negative_and_zero_whenever_a_day_ends_out_of_stock(sb):
    history = sb.truth("shop-us").stock_history()
    assert (history["available"] >= 0).all()
    assert len(history) == len(history_days(sb)) * 2 * sb.config.skus
    pool = pool_stock(sb, "shop-us")
    out = out_of_stock_at_day_ends(sb, "shop-us", pool.columns)
    assert out.to_numpy().any()  # the check means something
    assert (pool.to_numpy()[out.to_numpy()] == 0).all()
    assert (pool[presale_skus(sb, "shop-us")] == 0).all().all()


def test_each_day_the_stock_changes_by_receipts_minus_the_units_the_pool_sold(sb):
    pool = pool_stock(sb, "shop-us")
    days = history_days(sb)
    # woo-eu has no EUR shop to ship from, so it sells shop-us's stock.
    assert {s["name"]: s.get("stock_pool") for s in sb.sources()}["woo-eu"] == "shop-us"
    sold = units_sold(sb, ["shop-us", "woo-eu"], pool.columns)
    received = receipts(sb.truth("shop-us").purchase_orders(as_of=LATER), days, pool.columns)
    stocked = pool.columns.difference(presale_skus(sb, "shop-us"))  # pre-sale orders are back orders
    change = pool.diff().iloc[1:][stocked]
    expected = (received - sold).iloc[1:][stocked]
    pd.testing.assert_frame_equal(change.astype(np.int64), expected, check_freq=False, check_names=False)
    # Stock rises only where a stock-out ends: a receipt follows a day that ended out of stock.
    out = out_of_stock_at_day_ends(sb, "shop-us", pool.columns)
    assert received.to_numpy().sum() > 0
    assert (out.shift(1, fill_value=False).to_numpy()[received.to_numpy() > 0]).all()


def test_every_receipt_is_a_received_purchase_order_line(sb):
    pool = pool_stock(sb, "shop-us")
    sold = units_sold(sb, ["shop-us", "woo-eu"], pool.columns)
    stocked = pool.columns.difference(presale_skus(sb, "shop-us"))
    implied = (pool.diff() + sold).iloc[1:][stocked]  # what must have arrived each day
    assert (implied >= 0).all().all()
    arrivals = implied.stack()
    arrivals = arrivals[arrivals > 0].rename("quantity").rename_axis(["received_on", "sku"]).reset_index()

    orders = sb.truth("shop-us").purchase_orders(as_of=LATER)
    received = orders[orders["status"] == "received"]
    got = received[["received_on", "sku", "quantity"]].sort_values(["received_on", "sku"]).reset_index(drop=True)
    want = arrivals.sort_values(["received_on", "sku"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got, want, check_dtype=False)
    assert (received["received_quantity"] == received["quantity"]).all()

    products = sb.truth("shop-us").products().set_index("sku")
    lead = pd.to_timedelta(products.loc[received["sku"], "lead_time_days"].to_numpy(), unit="D")
    assert (received["expected_on"] == received["ordered_on"] + lead).all()
    late = (received["received_on"] - received["expected_on"]).dt.days
    assert late.between(0, 3).all() and (late > 0).any() and (late == 0).mean() > 0.5
    assert (received["supplier"].to_numpy() == products.loc[received["sku"], "supplier"].to_numpy()).all()


def test_open_orders_are_for_skus_out_of_stock_now_in_packs_and_at_least_the_moq(sb):
    orders = sb.truth("shop-us").purchase_orders(as_of=LATER)
    open_lines = orders[orders["status"] == "open"]
    assert len(open_lines) > 0
    assert (open_lines["received_quantity"] == 0).all() and open_lines["received_on"].isna().all()

    products = sb.truth("shop-us").products().set_index("sku")
    outs = sb.truth("shop-us").stock_outs()
    anchor = pd.Timestamp(sb.config.anchor)
    running = outs[(outs["start"] <= anchor) & (outs["end"].isna() | (outs["end"] > anchor))]
    eligible = set(running["sku"]) - set(products.index[products["is_presale"] | products["is_dead_stock"]])
    assert set(open_lines["sku"]) <= eligible
    assert len(open_lines) < len(eligible)  # some, not all, are on order
    assert open_lines["sku"].is_unique

    of = products.loc[open_lines["sku"]]
    assert (open_lines["quantity"].to_numpy() % of["pack_size"].to_numpy() == 0).all()
    assert (open_lines["quantity"].to_numpy() >= of["moq"].to_numpy()).all()
    lead = pd.to_timedelta(of["lead_time_days"].to_numpy(), unit="D")
    assert (open_lines["expected_on"] == open_lines["ordered_on"] + lead).all()
    # The stock-out's first day: after the last day that ended in stock (overlapping windows are one).
    out = out_of_stock_at_day_ends(sb, "shop-us", pd.Index(sorted(eligible)))
    in_stock = ~out
    ran_out = (in_stock.cumsum().idxmax() + pd.Timedelta(days=1)).where(in_stock.any(), out.index[0])
    after = (open_lines["ordered_on"].to_numpy() - ran_out.loc[open_lines["sku"]].to_numpy()) / pd.Timedelta(days=1)
    assert ((after >= 0) & (after <= 2)).all()
    numbers = orders["po_number"].str.removeprefix("PO-shop-us-").astype(int)
    assert list(numbers) == list(range(1, len(orders) + 1))
    assert orders.equals(orders.sort_values(["ordered_on", "sku"], kind="stable"))


def test_an_earlier_export_shows_later_receipts_open_and_omits_later_orders(sb):
    full = sb.truth("shop-us").purchase_orders(as_of=LATER).set_index("po_number")
    as_of = sb.config.anchor - timedelta(days=7)
    day = pd.Timestamp(as_of.date())
    earlier = sb.truth("shop-us").purchase_orders(as_of=as_of).set_index("po_number")

    assert list(earlier.index) == list(full.index[full["ordered_on"] <= day])
    assert (full["ordered_on"] > day).any()
    before = full.loc[earlier.index]
    still_coming = before["received_on"].isna() | (before["received_on"] > day)
    assert still_coming.any() and (~still_coming).any()
    assert (earlier.loc[still_coming, "status"] == "open").all()
    assert (earlier.loc[still_coming, "received_quantity"] == 0).all()
    assert earlier.loc[still_coming, "received_on"].isna().all()
    pd.testing.assert_frame_equal(earlier[~still_coming], before[~still_coming])
    same = ["sku", "stock_pool", "supplier", "quantity", "ordered_on", "expected_on"]
    pd.testing.assert_frame_equal(earlier[same], before[same])


def test_the_csvs_have_the_documented_columns_and_the_truths_rows(sb, tmp_path):
    stock = sb.write_stock_history_csv(tmp_path / "stock.csv")
    orders = sb.write_purchase_orders_csv(tmp_path / "po.csv")
    assert stock.read_text().splitlines()[0] == STOCK_HISTORY_HEADER
    assert orders.read_text().splitlines()[0] == PURCHASE_ORDER_HEADER

    read = pd.read_csv(stock, dtype=str, keep_default_na=False)
    truth = sb.truth("shop-us").stock_history()
    assert (read["stock_pool"] == "shop-us").all()
    assert list(read["date"]) == list(truth["date"].dt.strftime("%Y-%m-%d"))
    assert list(read["location"]) == list(truth["location"]) and list(read["sku"]) == list(truth["sku"])
    assert list(read["available"].astype(int)) == list(truth["available"])
    keys = ["date", "stock_pool", "location", "sku"]
    assert read.equals(read.sort_values(keys, kind="stable").reset_index(drop=True))

    read = pd.read_csv(orders, dtype=str, keep_default_na=False)
    truth = sb.truth("shop-us").purchase_orders()
    assert list(read["po_number"]) == list(truth["po_number"])
    assert list(read["received_on"]) == [("" if pd.isna(d) else d.strftime("%Y-%m-%d")) for d in truth["received_on"]]
    assert set(read.loc[read["status"] == "open", "received_on"]) == {""}
    assert (read["ordered_on"] <= sb.config.anchor.date().isoformat()).all()  # the clock's now by default


def test_until_and_the_clock_cut_the_stock_history(sb, tmp_path):
    days = history_days(sb)
    cut = sb.config.anchor - timedelta(days=5)
    read = pd.read_csv(sb.write_stock_history_csv(tmp_path / "cut.csv", until=cut), dtype=str)
    assert read["date"].max() == cut.date().isoformat() and read["date"].min() == days[0].strftime("%Y-%m-%d")
    sb.clock.set(cut)
    assert pd.read_csv(sb.write_stock_history_csv(tmp_path / "clock.csv"), dtype=str).equals(read)
    sb.clock.set(LATER)  # after the anchor: the history ends on the anchor's day
    assert sb.truth("shop-us").stock_history()["date"].max() == days[-1]
    assert sb.truth("woo-eu").stock_history().empty and sb.truth("woo-eu").purchase_orders().empty


def test_same_config_gives_byte_identical_csvs(tmp_path):
    files = []
    for run, first in enumerate(("stock", "orders")):  # building in another order changes nothing
        with Sandbox(small_config()) as sb:
            if first == "orders":
                sb.write_purchase_orders_csv(tmp_path / f"po-{run}.csv")
            stock = sb.write_stock_history_csv(tmp_path / f"stock-{run}.csv").read_bytes()
            orders = sb.write_purchase_orders_csv(tmp_path / f"po-{run}.csv").read_bytes()
            files.append((stock, orders))
    assert files[0] == files[1]
    with Sandbox(small_config(seed=12)) as other:
        assert other.write_purchase_orders_csv(tmp_path / "po-other.csv").read_bytes() != files[0][1]


def test_a_woocommerce_store_sells_from_the_shop_of_its_currency(tmp_path):
    stores = [StoreConfig("shop-us", "shopify", "America/New_York", "USD", 30),
              StoreConfig("shop-eu", "shopify", "Europe/Berlin", "EUR", 30),
              StoreConfig("woo-eu", "woocommerce", "Europe/Paris", "EUR", 30)]
    with Sandbox(small_config(stores=stores, days=10, skus=150)) as sb:
        assert {s["name"]: s.get("stock_pool") for s in sb.sources()}["woo-eu"] == "shop-eu"
        for shop, sellers in (("shop-us", ["shop-us"]), ("shop-eu", ["shop-eu", "woo-eu"])):
            pool = pool_stock(sb, shop)
            stocked = pool.columns.difference(presale_skus(sb, shop))
            sold = units_sold(sb, sellers, pool.columns)
            received = receipts(sb.truth(shop).purchase_orders(as_of=LATER), history_days(sb), pool.columns)
            pd.testing.assert_frame_equal(pool.diff().iloc[1:][stocked].astype(np.int64),
                                          (received - sold).iloc[1:][stocked], check_freq=False, check_names=False)
        read = pd.read_csv(sb.write_stock_history_csv(tmp_path / "stock.csv"), dtype=str)
        assert list(read["stock_pool"].unique()) == ["shop-eu", "shop-us"]
        assert list(read.loc[read["date"] == read["date"].min(), "stock_pool"].unique()) == ["shop-eu", "shop-us"]


# -- notifications ----------------------------------------------------------------------------
def test_the_sink_records_a_json_post_and_lists_it(sb):
    requests.delete(f"{sb.url}/_sandbox/notifications")
    url = sb.notification_url()
    assert url == f"{sb.url}/_sandbox/notifications/purchasing"
    message = {"subject": "Purchase list", "body": "3 SKUs to order"}
    first = requests.post(url, json=message)
    assert first.status_code == 200 and first.json() == {"received": 1}
    assert requests.post(url, data=b"plain words", headers={"Content-Type": "text/plain"}).json() == {"received": 2}
    assert requests.post(sb.notification_url("alerts"), data=b"{broken",
                         headers={"Content-Type": "application/json"}).json() == {"received": 1}

    listed = requests.get(f"{sb.url}/_sandbox/notifications").json()
    assert [(n["channel"], n["body"]) for n in listed] == [
        ("purchasing", message), ("purchasing", "plain words"), ("alerts", "{broken")]
    assert listed[0]["content_type"] == "application/json"
    received_at = datetime.fromisoformat(listed[0]["received_at"])
    assert received_at.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - received_at) < timedelta(minutes=1)  # the wall clock, not the sandbox's
    assert requests.get(f"{sb.url}/_sandbox/notifications", params={"channel": "alerts"}).json() == listed[2:]
    assert sb.notifications() == listed and sb.notifications("purchasing") == listed[:2]

    assert requests.delete(f"{sb.url}/_sandbox/notifications").status_code == 200
    assert sb.notifications() == []
    assert requests.post(f"{sb.url}/_sandbox/notifications/Not_A_Channel", json={}).status_code == 404
    with pytest.raises(ValueError):
        sb.notification_url("Not A Channel")


def test_a_fault_armed_for_a_store_leaves_the_sink_alone(sb):
    sb.faults.arm("shop-us", "500", count=3)
    sb.faults.arm("woo-eu", "truncate", count=3)
    response = requests.post(sb.notification_url("ops"), json={"subject": "s", "body": "b"})
    assert response.status_code == 200 and response.json()["received"] >= 1
    assert requests.get(f"{sb.url}/_sandbox/notifications", params={"channel": "ops"}).status_code == 200
    assert {(f["store"], f["remaining"]) for f in sb.faults.armed()} == {("shop-us", 3), ("woo-eu", 3)}
    token = {"X-Shopify-Access-Token": sb.credentials()["SHOPOPS_SANDBOX_SHOP_US_TOKEN"]}
    assert requests.get(f"{sb.url}/shopify/shop-us/admin/api/2025-07/locations.json", headers=token).status_code == 500
