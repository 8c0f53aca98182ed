"""The sandbox: Shopify Admin REST and WooCommerce REST v3 on loopback, from generated data,
and the competitor websites of the price monitor.

See README.md in this folder for the contract.
"""

from .competitor_config import CompetitorConfig
from .config import SandboxConfig, StoreConfig
from .sandbox import Sandbox, serve_forever

__all__ = ["CompetitorConfig", "Sandbox", "SandboxConfig", "StoreConfig", "serve_forever"]
