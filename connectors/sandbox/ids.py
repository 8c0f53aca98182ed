"""Platform ids for one store's objects: Shopify's large sparse ids, WooCommerce's small post ids."""

from __future__ import annotations

import numpy as np

from .catalogue import Catalogue
from .config import StoreConfig
from .store import StoreIds


def sparse_ids(rng: np.random.Generator, size: int, first: int, gap: tuple[int, int]) -> np.ndarray:
    """Increasing ids with random gaps, like ids shared with other objects or other shops."""
    return first + np.cumsum(rng.integers(gap[0], gap[1], size), dtype=np.int64)


def assign_ids(rng: np.random.Generator, store: StoreConfig, n: int, lines: int, refunds: np.ndarray,
                refund_lines: int, catalogue: Catalogue) -> StoreIds:
    has_refund = refunds > 0
    products = len(catalogue.product_title)
    # Ids follow creation order: older products have smaller ids.
    product_rank = np.empty(products, dtype=np.int64)
    product_rank[np.argsort(catalogue.product_created, kind="stable")] = np.arange(products)
    if store.kind == "shopify":
        order = sparse_ids(rng, n, 5_000_000_000_000 + int(rng.integers(0, 10**11)), (10_000, 2_000_000))
        product = sparse_ids(rng, products, 8_000_000_000_000, (1_000, 5_000_000))[product_rank]
        variant = sparse_ids(rng, catalogue.size, 44_000_000_000_000, (1_000, 500_000))
        return StoreIds(
            order=order,
            order_number=1001 + np.arange(n, dtype=np.int64),
            line=sparse_ids(rng, lines, 13_000_000_000_000, (1, 50_000)),
            shipping_line=sparse_ids(rng, n, 4_300_000_000_000, (1, 50_000)),
            refund=np.where(has_refund, sparse_ids(rng, n, 900_000_000_000, (1, 5_000)), 0),
            transaction=np.where(has_refund, sparse_ids(rng, n, 6_000_000_000_000, (1, 5_000)), 0),
            refund_line=sparse_ids(rng, refund_lines, 500_000_000_000, (1, 5_000)),
            product=product,
            variant=variant,
            inventory_item=sparse_ids(rng, catalogue.size, 46_000_000_000_000, (1_000, 500_000)),
        )
    # WooCommerce: posts share one id sequence; products first, then orders, refunds after them.
    product = sparse_ids(rng, products, 10, (1, 4))[product_rank]
    multi_variant = catalogue.option >= 0
    variation = np.where(multi_variant, sparse_ids(rng, catalogue.size, int(product.max(initial=10)) + 1, (1, 3)), 0)
    order = sparse_ids(rng, n, int(variation.max(initial=product.max(initial=10))) + 100, (1, 4))
    last_order = int(order[-1]) if n else 1000
    return StoreIds(
        order=order,
        order_number=order,
        line=sparse_ids(rng, lines, 0, (1, 3)),
        # Gaps of at least 2 leave room for the coupon line right after each shipping line.
        shipping_line=sparse_ids(rng, n, 10 * lines + 1, (2, 5)),
        refund=np.where(has_refund, sparse_ids(rng, n, last_order, (1, 4)), 0),
        transaction=np.zeros(n, dtype=np.int64),
        refund_line=sparse_ids(rng, refund_lines, 20 * lines + 1, (1, 3)),
        product=product,
        variant=variation,
        inventory_item=np.zeros(catalogue.size, dtype=np.int64),
    )
