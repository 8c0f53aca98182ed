"""Shopify products, inventory item costs and inventory levels → canonical catalogue rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.normalize.common import Reasons, column, describe_bad, external_ids, parse_int, parse_money, parse_times, text
from tasks.normalize.flatten import flatten

PRESALE_TAGS = {"presale", "pre-sale", "preorder", "pre-order"}


def normalize_variants(products: list[dict], costs: list[dict]) -> tuple[pd.DataFrame, Reasons]:
    """One row per variant (a SKU), rid = the variant's position. Costs come from inventory items."""
    reasons = Reasons()
    parents, variants = flatten(products, "variants")
    rid = np.arange(len(variants))
    if not variants:
        return pd.DataFrame(columns=["rid", "sku"]), reasons
    product = lambda *path: column(products, *path).to_numpy()[parents]  # noqa: E731
    price_raw = column(variants, "price")
    list_price, bad_price = parse_money(price_raw)
    reasons.add(rid[bad_price.to_numpy()], describe_bad("unparsable money", "variants.price", price_raw[bad_price]))
    created, _ = parse_times(pd.Series(product("created_at"), dtype=object))
    product_updated, _ = parse_times(pd.Series(product("updated_at"), dtype=object))
    variant_updated, _ = parse_times(column(variants, "updated_at"))
    titles = text(pd.Series(product("title"), dtype=object))
    variant_titles = text(column(variants, "title"))
    own_title = variant_titles.notna() & (variant_titles != "Default Title")
    tags = pd.Series(product("tags"), dtype=object).map(
        lambda v: {t.strip().lower() for t in v.split(",")} if isinstance(v, str) else set())

    frame = pd.DataFrame({
        "rid": rid,
        "sku": text(column(variants, "sku"), max_length=64),
        "title": titles.where(~own_title, titles.fillna("") + " — " + variant_titles.fillna("")),
        "category": text(pd.Series(product("product_type"), dtype=object), max_length=128),
        "vendor": text(pd.Series(product("vendor"), dtype=object), max_length=128),
        "status": text(pd.Series(product("status"), dtype=object), max_length=16),
        "is_presale": tags.map(lambda t: bool(t & PRESALE_TAGS)).to_numpy(),
        "list_price": list_price,
        "listed_at": created,
        "source_updated_at": pd.concat([product_updated, variant_updated], axis=1).max(axis=1),
        "inventory_item_id": external_ids(column(variants, "inventory_item_id")),
    })
    cost_by_item = _costs(costs, reasons)
    frame["unit_cost"] = frame["inventory_item_id"].map(cost_by_item).astype(object)
    frame["unit_cost"] = frame["unit_cost"].where(frame["unit_cost"].notna(), None)
    return frame, reasons


def _costs(costs: list[dict], reasons: Reasons) -> dict:
    if not costs:
        return {}
    amount, _ = parse_money(column(costs, "cost"))
    ids = external_ids(column(costs, "id"))
    return {i: a for i, a in zip(ids.tolist(), amount.tolist()) if i is not None and a is not None}


def normalize_levels(levels: list[dict], sku_by_item: dict[str, str], locations: dict[str, str]) -> pd.DataFrame:
    """Inventory levels keyed by SKU and location; rid = the level's position."""
    items = external_ids(column(levels, "inventory_item_id"))
    location = external_ids(column(levels, "location_id"))
    available, _ = parse_int(column(levels, "available"))
    updated, _ = parse_times(column(levels, "updated_at"))
    return pd.DataFrame({
        "rid": np.arange(len(levels)),
        "inventory_item_id": items,
        "location_id": location,
        "location_name": location.map(locations).astype(object),
        "sku": items.map(sku_by_item).astype(object),
        "available": available,
        "source_updated_at": updated,
    })
