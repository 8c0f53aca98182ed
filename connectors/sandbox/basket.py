"""What is in each order and what it costs, in integer cents so every total adds up exactly.

total = subtotal - discounts + shipping + tax, with tax = the lines' tax + the shipping's tax.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalogue import Catalogue

LINE_COUNT_SHARES = (0.55, 0.25, 0.11, 0.06, 0.03)  # 1..5 lines, mostly one or two
QUANTITY_SHARES = (0.82, 0.13, 0.05)                # 1..3 units, mostly one
FREE_SHIPPING_FROM = 5_000                          # cents of discounted subtotal
SHIPPING_DOMESTIC, SHIPPING_ABROAD = 495, 1_295


@dataclass
class Basket:
    line_offsets: np.ndarray  # CSR: lines of order i are line_offsets[i]:line_offsets[i+1]
    sku: np.ndarray           # per line, int32
    quantity: np.ndarray      # per line, int64
    unit_price: np.ndarray    # per line, cents
    discount: np.ndarray      # per line, cents
    tax: np.ndarray           # per line, cents (on the discounted amount)
    subtotal: np.ndarray      # per order: sum of price x quantity
    discount_total: np.ndarray
    shipping: np.ndarray
    shipping_tax: np.ndarray
    cart_tax: np.ndarray
    total: np.ndarray

    @property
    def line_net(self) -> np.ndarray:
        return self.unit_price * self.quantity - self.discount

    @property
    def tax_total(self) -> np.ndarray:
        return self.cart_tax + self.shipping_tax


def expand_segments(starts: np.ndarray, counts: np.ndarray) -> np.ndarray:
    """Concatenated ranges [starts[i], starts[i] + counts[i]) as one index array."""
    counts = np.asarray(counts, dtype=np.int64)
    total = int(counts.sum())
    if total == 0:
        return np.zeros(0, dtype=np.int64)
    ends = np.cumsum(counts)
    offsets = np.repeat(ends - counts, counts)
    return np.repeat(np.asarray(starts, dtype=np.int64), counts) + np.arange(total) - offsets


def segment_sums(values: np.ndarray, offsets: np.ndarray) -> np.ndarray:
    """Per-segment sums of a CSR column; empty segments sum to 0 (reduceat would not)."""
    cumulative = np.concatenate([[0], np.cumsum(values, dtype=np.int64)])
    return cumulative[offsets[1:]] - cumulative[offsets[:-1]]


def _repeated_within_order(order_of_line: np.ndarray, sku: np.ndarray, sku_count: int) -> np.ndarray:
    key = order_of_line.astype(np.int64) * sku_count + sku
    order = np.argsort(key, kind="stable")
    repeated = np.zeros(len(key), dtype=bool)
    repeated[order[1:]] = key[order[1:]] == key[order[:-1]]
    return repeated


def draw_skus(rng: np.random.Generator, catalogue: Catalogue, order_of_line: np.ndarray,
              moments: np.ndarray) -> np.ndarray:
    """SKUs by popularity, redrawn where not yet listed, out of stock, or already in the order."""
    sku = rng.choice(catalogue.size, size=len(moments), p=catalogue.popularity).astype(np.int32)
    for _ in range(10):
        bad = ~catalogue.sellable(sku, moments) | _repeated_within_order(order_of_line, sku, catalogue.size)
        if not bad.any():
            return sku
        sku[bad] = rng.choice(catalogue.size, size=int(bad.sum()), p=catalogue.popularity)
    # A handful left after ten draws: give them a steady seller that is never out of stock.
    bad = ~catalogue.sellable(sku, moments)
    fallback = catalogue.always_available if len(catalogue.always_available) else np.argsort(-catalogue.popularity)[:1]
    sku[bad] = rng.choice(fallback, size=int(bad.sum()))
    return sku


def fill_baskets(rng: np.random.Generator, catalogue: Catalogue, created: np.ndarray,
                 discount_percent: np.ndarray, tax_basis_points: np.ndarray, abroad: np.ndarray) -> Basket:
    orders = len(created)
    line_count = rng.choice(np.arange(1, 6), size=orders, p=LINE_COUNT_SHARES)
    line_offsets = np.concatenate([[0], np.cumsum(line_count)]).astype(np.int64)
    order_of_line = np.repeat(np.arange(orders), line_count)
    moments = created[order_of_line]
    sku = draw_skus(rng, catalogue, order_of_line, moments)
    quantity = rng.choice(np.arange(1, 4), size=len(sku), p=QUANTITY_SHARES).astype(np.int64)
    unit_price = catalogue.price_at(sku, moments)
    gross = unit_price * quantity
    discount = (gross * discount_percent[order_of_line] + 50) // 100
    return priced_basket(line_offsets, sku, quantity, unit_price, discount, tax_basis_points, abroad)


def priced_basket(line_offsets: np.ndarray, sku: np.ndarray, quantity: np.ndarray, unit_price: np.ndarray,
                  discount: np.ndarray, tax_basis_points: np.ndarray, abroad: np.ndarray) -> Basket:
    """Tax, shipping and totals of orders whose lines (and line discounts) are known."""
    order_of_line = np.repeat(np.arange(len(line_offsets) - 1), np.diff(line_offsets))
    gross = unit_price * quantity
    tax = ((gross - discount) * tax_basis_points[order_of_line] + 5_000) // 10_000

    subtotal = segment_sums(gross, line_offsets)
    discount_total = segment_sums(discount, line_offsets)
    shipping = np.where(subtotal - discount_total >= FREE_SHIPPING_FROM, 0,
                        np.where(abroad, SHIPPING_ABROAD, SHIPPING_DOMESTIC)).astype(np.int64)
    shipping_tax = (shipping * tax_basis_points + 5_000) // 10_000
    cart_tax = segment_sums(tax, line_offsets)
    total = subtotal - discount_total + shipping + cart_tax + shipping_tax
    return Basket(line_offsets, sku, quantity, unit_price, discount, tax, subtotal, discount_total,
                  shipping, shipping_tax, cart_tax, total)


def gather_segments(offsets: np.ndarray, rows: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """Flat indices of the segments of `rows`, and where each row's part starts in them (n + 1)."""
    starts = offsets[rows]
    counts = offsets[rows + 1] - starts
    bounds = np.concatenate([[0], np.cumsum(counts)]).tolist()
    return expand_segments(starts, counts), bounds
