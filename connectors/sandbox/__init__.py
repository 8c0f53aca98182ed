"""The sandbox: Shopify Admin REST and WooCommerce REST v3 on loopback, from generated data.

See README.md in this folder for the contract.
"""

from .config import SandboxConfig, StoreConfig
from .sandbox import Sandbox, serve_forever

__all__ = ["Sandbox", "SandboxConfig", "StoreConfig", "serve_forever"]
