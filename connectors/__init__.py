"""Connectors: IO only. One module per source protocol, all on the shared HTTP layer (http.py)."""

from __future__ import annotations

from datetime import timedelta

from connectors.sources import SourceConfig


def settle_lag(kind: str) -> timedelta:
    """How long after a change a source of this kind may still not show it (see plan_window)."""
    if kind == "amazon":
        from connectors.amazon import SETTLE

        return SETTLE
    return timedelta(0)


def build_connector(config: SourceConfig, **options):
    """The connector for a configured source (credentials are resolved here, not earlier)."""
    if config.kind == "shopify":
        from connectors.shopify import ShopifyConnector

        return ShopifyConnector(config, **options)
    if config.kind == "amazon":
        from connectors.amazon import AmazonConnector

        return AmazonConnector(config, **options)
    if config.kind == "woocommerce":
        from connectors.woocommerce import WooCommerceConnector

        return WooCommerceConnector(config, **options)
    raise ValueError(f"{config.name}: no connector for kind {config.kind!r}")
