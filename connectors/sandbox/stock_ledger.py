"""Daily closing stock per Shopify shop, location and SKU, consistent with what the sandbox serves.

The generator fixes only the stock at the anchor (the inventory levels) and when SKUs are out of
stock. The history follows from those backwards, one UTC day at a time:

    closing[anchor's day] = the served levels, both locations summed (the shop's stock pool)
    closing[d]            = 0                              out of stock at the end of day d
                          = closing[d + 1] + sold[d + 1]   otherwise

`sold[d]` counts the units on the order lines created on day d by the shop and by every
WooCommerce store shipping from it (`SandboxConfig.pool_members`). Cancellations are ignored:
every ordered unit leaves stock the day it is ordered. Nothing sells while out of stock, so the
stock never goes negative, and it rises only where a stock-out ends. That rise is a receipt:

    received[d] = closing[d] - closing[d - 1] + sold[d]    (> 0 only after an out-of-stock day)

The end of a day is the next UTC midnight, or the anchor itself on the anchor's day (the moment
the served levels are for). Pre-sale SKUs are promised, not stocked: their orders are back
orders that take nothing from stock, so they are 0 throughout (as at the anchor). Each day's pool
total is split over the two locations in the ratio of the anchor's levels.

Loops run over days; every step is vectorised over SKUs.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalogue import DAY, Catalogue
from .config import SandboxConfig
from .generator import World
from .store import StoreData

# Where the anchor holds no stock, 70% of a day's units sit in the first location (Main Warehouse).
DEFAULT_FIRST_SHARE = (7, 10)


@dataclass
class StockLedger:
    shop: str
    first_day: int             # UTC epoch day (days since 1970-01-01) of the first history day
    location_id: np.ndarray    # the shop's 2 locations, in the order of Inventory.available
    closing: np.ndarray        # (days, skus, 2) int64 units on hand at the end of each day
    sold: np.ndarray           # (days, skus) int64 units that left the pool that day
    received: np.ndarray       # (days, skus) int64 units received; 0 on the first day (unknowable)
    out_of_stock: np.ndarray   # (days, skus) bool, out of stock at the end of the day

    @property
    def day_count(self) -> int:
        return self.closing.shape[0]

    @property
    def last_day(self) -> int:
        return self.first_day + self.day_count - 1

    @property
    def pool(self) -> np.ndarray:
        """(days, skus) units on hand in the pool (both locations)."""
        return self.closing.sum(axis=2)


def history_days(config: SandboxConfig) -> tuple[int, int]:
    """First and last UTC epoch day of the history: the days of (anchor - days) and of the anchor."""
    anchor = config.anchor_epoch
    return (anchor - config.days * DAY) // DAY, anchor // DAY


def day_ends(first_day: int, day_count: int, anchor: int) -> np.ndarray:
    """The instant each day's closing stock is taken: the next midnight, the anchor at the latest."""
    return np.minimum((first_day + 1 + np.arange(day_count, dtype=np.int64)) * DAY, anchor)


def units_sold(stores: list[StoreData], first_day: int, day_count: int, sku_count: int) -> np.ndarray:
    """(days, skus) units on the order lines created each UTC day, summed over `stores`."""
    sold = np.zeros(day_count * sku_count, dtype=np.int64)
    for store in stores:  # the few stores of one pool
        basket = store.basket
        line_day = np.repeat(store.created // DAY - first_day, np.diff(basket.line_offsets))
        cells = line_day * sku_count + basket.sku
        sold += np.bincount(cells, weights=basket.quantity, minlength=day_count * sku_count).astype(np.int64)
    return sold.reshape(day_count, sku_count)


def out_of_stock_at(catalogue: Catalogue, moments: np.ndarray) -> np.ndarray:
    """(moments, skus): the catalogue's own stock-out rule, at each moment for every SKU."""
    skus = np.arange(catalogue.size)
    return np.stack([catalogue.out_of_stock(skus, np.full(catalogue.size, moment)) for moment in moments.tolist()])


def backward_pool(at_anchor: np.ndarray, sold: np.ndarray, out_of_stock: np.ndarray) -> np.ndarray:
    """(days, skus) pool stock: the anchor's, walked back day by day (see the module docstring)."""
    pool = np.zeros(sold.shape, dtype=np.int64)
    pool[-1] = at_anchor
    for day in range(len(pool) - 2, -1, -1):
        pool[day] = np.where(out_of_stock[day], 0, pool[day + 1] + sold[day + 1])
    return pool


def split_over_locations(pool: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """(days, skus, 2): location 0 gets round(pool x its anchor share) (half up), location 1 the rest.

    Integer arithmetic, so the anchor's day gives back exactly the served levels."""
    total = levels.sum(axis=1)
    share_of = np.where(total > 0, levels[:, 0], DEFAULT_FIRST_SHARE[0])
    share_in = np.where(total > 0, total, DEFAULT_FIRST_SHARE[1])
    first = (2 * pool * share_of + share_in) // (2 * share_in)
    return np.stack([first, pool - first], axis=2)


def build_stock_ledger(config: SandboxConfig, world: World, shop: str) -> StockLedger:
    store = world.stores[shop]
    if store.kind != "shopify":
        raise ValueError(f"{shop} is a {store.kind} store: only Shopify shops hold stock")
    catalogue, levels = world.catalogue, store.inventory.available.astype(np.int64)
    first_day, last_day = history_days(config)
    day_count = last_day - first_day + 1
    members = [world.stores[member.name] for member in config.pool_members(shop)]
    sold = units_sold(members, first_day, day_count, catalogue.size)
    sold[:, catalogue.product_is_presale[catalogue.product]] = 0  # back orders, not stock leaving
    out_of_stock = out_of_stock_at(catalogue, day_ends(first_day, day_count, config.anchor_epoch))
    pool = backward_pool(levels.sum(axis=1), sold, out_of_stock)
    received = np.zeros_like(pool)
    received[1:] = pool[1:] - pool[:-1] + sold[1:]
    return StockLedger(shop=shop, first_day=first_day, location_id=store.inventory.location_id,
                       closing=split_over_locations(pool, levels), sold=sold, received=received,
                       out_of_stock=out_of_stock)
