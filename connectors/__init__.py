"""Connectors: IO only. One module per source protocol, all on the shared HTTP layer (http.py)."""

from __future__ import annotations

from connectors.sources import SourceConfig


def build_connector(config: SourceConfig, **options):
    """The connector for a configured source (credentials are resolved here, not earlier)."""
    if config.kind == "shopify":
        from connectors.shopify import ShopifyConnector

        return ShopifyConnector(config, **options)
    if config.kind == "woocommerce":
        from connectors.woocommerce import WooCommerceConnector

        return WooCommerceConnector(config, **options)
    raise ValueError(f"{config.name}: no connector for kind {config.kind!r}")
