"""Shopify products, inventory item costs and inventory levels → canonical catalogue rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from tasks.normalize.common import Reasons, external_ids, fields, parse_int, parse_money, parse_times, text
from tasks.normalize.flatten import flatten

PRESALE_TAGS = {"presale", "pre-sale", "preorder", "pre-order"}


def normalize_variants(products: list[dict], costs: list[dict]) -> tuple[pd.DataFrame, Reasons]:
    """One row per variant (a SKU), rid = the variant's position. Costs come from inventory items."""
    reasons = Reasons()
    top = fields(products, ["title", "product_type", "vendor", "status", "tags", "created_at", "updated_at", "variants"])
    parents, variants = flatten(top["variants"])
    rid = np.arange(len(variants))
    if not variants:
        return pd.DataFrame(columns=["rid", "sku"]), reasons
    variant = fields(variants, ["sku", "title", "price", "updated_at", "inventory_item_id"])
    product = lambda name: top[name].to_numpy()[parents]  # noqa: E731
    price_raw = variant["price"]
    list_price = reasons.parsed(rid, price_raw, parse_money, "money", "variants.price")
    created, _ = parse_times(pd.Series(product("created_at"), dtype=object))
    product_updated, _ = parse_times(pd.Series(product("updated_at"), dtype=object))
    variant_updated, _ = parse_times(variant["updated_at"])
    titles = text(pd.Series(product("title"), dtype=object))
    variant_titles = text(variant["title"])
    own_title = variant_titles.notna() & (variant_titles != "Default Title")
    tags = pd.Series(product("tags"), dtype=object).map(
        lambda v: {t.strip().lower() for t in v.split(",")} if isinstance(v, str) else set())

    frame = pd.DataFrame({
        "rid": rid,
        "sku": text(variant["sku"], max_length=64),
        "title": titles.where(~own_title, titles.fillna("") + " — " + variant_titles.fillna("")),
        "category": text(pd.Series(product("product_type"), dtype=object), max_length=128),
        "vendor": text(pd.Series(product("vendor"), dtype=object), max_length=128),
        "status": text(pd.Series(product("status"), dtype=object), max_length=16),
        "is_presale": tags.map(lambda t: bool(t & PRESALE_TAGS)).to_numpy(),
        "list_price": list_price,
        "listed_at": created,
        "source_updated_at": pd.concat([product_updated, variant_updated], axis=1).max(axis=1),
        "inventory_item_id": external_ids(variant["inventory_item_id"]),
    })
    frame["unit_cost"] = frame["inventory_item_id"].map(_costs(costs)).astype("Int64")
    return frame, reasons


def _costs(costs: list[dict]) -> pd.Series:
    """Unit cost (ten-thousandths) by inventory item id."""
    if not costs:
        return pd.Series(dtype="Int64")
    cost = fields(costs, ["id", "cost"])
    amount, _ = parse_money(cost["cost"])
    ids = external_ids(cost["id"])
    known = ids.notna().to_numpy() & amount.notna().to_numpy()
    return pd.Series(amount[known].to_numpy(), index=ids[known].to_numpy()).astype("Int64")


def normalize_levels(levels: list[dict], sku_by_item: dict[str, str], locations: dict[str, str]) -> pd.DataFrame:
    """Inventory levels keyed by SKU and location; rid = the level's position."""
    level = fields(levels, ["inventory_item_id", "location_id", "available", "updated_at"])
    items = external_ids(level["inventory_item_id"])
    location = external_ids(level["location_id"])
    available, _ = parse_int(level["available"])
    updated, _ = parse_times(level["updated_at"])
    return pd.DataFrame({
        "rid": np.arange(len(levels)),
        "inventory_item_id": items,
        "location_id": location,
        "location_name": location.map(locations).astype(object),
        "sku": items.map(sku_by_item).astype(object),
        "available": available,
        "source_updated_at": updated,
    })
