"""Per-source normalisers: raw marketplace records → the canonical order model."""

from tasks.normalize.common import Normalized
from tasks.normalize.shopify import normalize_shopify_orders
from tasks.normalize.woocommerce import normalize_woocommerce_orders

NORMALIZERS = {"shopify": normalize_shopify_orders, "woocommerce": normalize_woocommerce_orders}

__all__ = ["NORMALIZERS", "Normalized"]
