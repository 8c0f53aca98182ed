"""Per-source normalisers: raw marketplace records → the canonical order model."""

from tasks.normalize.amazon import normalize_amazon_orders
from tasks.normalize.common import Normalized
from tasks.normalize.shopify import normalize_shopify_orders
from tasks.normalize.woocommerce import normalize_woocommerce_orders

NORMALIZERS = {"shopify": normalize_shopify_orders, "woocommerce": normalize_woocommerce_orders,
               "amazon": normalize_amazon_orders}

__all__ = ["NORMALIZERS", "Normalized"]
