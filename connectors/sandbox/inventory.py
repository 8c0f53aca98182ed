"""Stock on hand at the anchor, per SKU and Shopify location: days of cover of recent demand."""

from __future__ import annotations

import numpy as np

from .catalogue import DAY, Catalogue
from .config import StoreConfig
from .ids import sparse_ids
from .locales import COUNTRIES, market_countries
from .store import Inventory


def stock_levels(rng: np.random.Generator, store: StoreConfig, catalogue: Catalogue,
               sold: tuple[np.ndarray, np.ndarray, np.ndarray], anchor: int, days: int) -> Inventory:
    sku, quantity, line_moment = sold
    daily_demand = np.bincount(sku, weights=quantity, minlength=catalogue.size) / days
    # A shop that has been replenishing holds most SKUs above their reorder point: the lead time
    # plus some weeks of cover. One in ten is running low (inside its lead time) and waits for
    # an order; the ongoing stock-outs below hold nothing.
    lead = catalogue.lead_time_days.astype(np.float64)
    running_low = rng.random(catalogue.size) < 0.1
    cover_days = np.where(running_low, lead * rng.uniform(0.2, 1.0, catalogue.size),
                          lead * rng.uniform(1.2, 2.0, catalogue.size) + rng.uniform(7, 35, catalogue.size))
    units = np.round(daily_demand * cover_days).astype(np.int64)
    units = np.where(catalogue.is_dead_stock, rng.integers(20, 200, catalogue.size), units)
    out_now = ((catalogue.stock_out_start <= anchor) & (catalogue.stock_out_end > anchor)).any(axis=1)
    presale = catalogue.product_is_presale[catalogue.product]
    units = np.where(out_now | presale, 0, units)
    first_share = rng.uniform(0.55, 0.85, catalogue.size)
    at_first = np.round(units * first_share).astype(np.int64)
    available = np.stack([at_first, units - at_first], axis=1)

    last_sale = catalogue.product_created[catalogue.product].copy()
    np.maximum.at(last_sale, sku, line_moment)
    ran_out = np.where(out_now, catalogue.stock_out_start.min(axis=1), 0)
    changed = np.minimum(np.maximum(last_sale, ran_out), anchor)
    second_changed = changed - rng.integers(0, 5 * DAY, catalogue.size)
    home = market_countries(store.timezone)[0]
    return Inventory(
        location_id=sparse_ids(rng, 2, 60_000_000_000 + int(rng.integers(0, 10**9)), (1_000, 900_000)),
        location_name=("Main Warehouse", "Overflow Storage"),
        location_country=COUNTRIES[home].code,
        available=available,
        updated_at=np.stack([changed, np.maximum(second_changed, catalogue.product_created[catalogue.product])], axis=1),
    )
