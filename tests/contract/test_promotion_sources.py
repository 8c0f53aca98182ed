"""The marketplaces' own promotions, read from the sandbox (Shopify price rules with their discount
codes, collections and variants; WooCommerce coupons with their products and categories) and
compared with what the generator knows it served."""

import json

import pandas as pd
import pytest

from connectors.shopify import ShopifyConnector
from connectors.woocommerce import WooCommerceConnector
from tasks.promotions.marketplace import OPEN_END, promotion_rows, shopify_offers, woocommerce_offers
from connectors.sandbox import Sandbox
from tests.contract.conftest import FAST_RETRIES, small_config, source_config


@pytest.fixture(scope="module")
def sandbox():
    """Sixty days: enough promotions of every type that the marketplaces can describe."""
    with Sandbox(small_config(days=60)) as running:
        yield running


def _truth(sandbox, store):
    truth = sandbox.promotion_truth().promotions(store)
    return truth[~truth["automatic"]].reset_index(drop=True)


def _first_uses(sandbox, store) -> pd.Series:
    used = sandbox.promotion_truth().orders(store).dropna(subset=["code"])
    return used.groupby(used["code"].str.upper())["created_at"].min()


def _read(sandbox, store) -> tuple[pd.DataFrame, list[str]]:
    config = source_config(sandbox, store)
    if config.kind == "shopify":
        connector = ShopifyConnector(config, policy=FAST_RETRIES)
        offers, problems = shopify_offers(connector)
    else:
        connector = WooCommerceConnector(config, policy=FAST_RETRIES)
        offers, problems = woocommerce_offers(connector, _first_uses(sandbox, store))
    connector.close()
    rows = promotion_rows(store, offers)
    rows["code_set"] = rows["codes"].map(lambda text: tuple(sorted(json.loads(text))))
    return rows, problems


def _listed(text) -> list:
    return json.loads(text) if isinstance(text, str) else []


def _matched(sandbox, store):
    rows, problems = _read(sandbox, store)
    truth = _truth(sandbox, store)
    truth["code_set"] = truth["codes"].map(lambda codes: tuple(sorted(c.upper() for c in codes)))
    return truth.merge(rows, on="code_set", how="outer", suffixes=("_true", ""), indicator=True), problems


@pytest.mark.parametrize("store", ["shop-us", "woo-eu"])
def test_every_code_promotion_is_read_back_once_with_its_type_terms_and_scope(fresh_sandbox, store):
    matched, problems = _matched(fresh_sandbox, store)
    assert problems == []
    assert len(matched) >= 6
    assert {"percentage", "member", "fixed", "threshold"} <= set(matched["type_true"])
    assert (matched["_merge"] == "both").all(), matched.loc[matched["_merge"] != "both", ["code_set", "_merge"]]
    # A threshold's tiers come back as one promotion; a lone minimum spend is a fixed discount.
    assert (matched["type_true"] == matched["type"]).all()
    assert [json.loads(text) for text in matched["parameters"]] == matched["parameters_true"].tolist()
    assert (matched["member_only_true"] == matched["member_only"]).all()
    assert matched["scope_channels"].eq(json.dumps([store])).all()
    for row in matched.itertuples():
        assert _listed(row.scope_skus) == (sorted(row.scope_skus_true) if not row.scope_categories_true
                                                       else [])
        assert _listed(row.scope_categories) == sorted(row.scope_categories_true)


def test_shopify_rules_keep_their_exact_window_and_an_open_rule_runs_on(fresh_sandbox):
    matched, _ = _matched(fresh_sandbox, "shop-us")
    dated = matched[matched["origin_true"] != "welcome"]
    assert (dated["starts_at"] == dated["starts_at_true"]).all()
    assert (dated["ends_at"] == dated["ends_at_true"]).all()
    welcome = matched[matched["origin_true"] == "welcome"]
    assert len(welcome) == 1 and (welcome["ends_at"] == OPEN_END).all()


def test_a_woocommerce_coupon_starts_at_its_first_use_within_the_hour_of_the_true_start(fresh_sandbox):
    matched, _ = _matched(fresh_sandbox, "woo-eu")
    dated = matched[matched["origin_true"] != "welcome"]
    late = dated["starts_at"] - dated["starts_at_true"].dt.floor("h")
    # WooCommerce keeps no start date; the first order with the code comes soon after the start.
    assert (late >= pd.Timedelta(0)).all() and late.median() <= pd.Timedelta(hours=3)
    assert (dated["ends_at"] == dated["ends_at_true"]).all()
