"""One store's generated data, column by column (numpy arrays; CSR offsets for lines and refunds)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .anomalies import Anomalies
from .basket import Basket
from .catalogue import Catalogue
from .config import StoreConfig
from .customers import Customers, People
from .lifecycle import Lifecycle
from .timezones import ZoneTable


@dataclass
class StoreIds:
    """Platform ids; Shopify ids are large and sparse, WooCommerce ids small post ids."""
    order: np.ndarray          # per order
    order_number: np.ndarray   # per order (#1001... on Shopify; the id itself on WooCommerce)
    line: np.ndarray           # per line
    shipping_line: np.ndarray  # per order
    refund: np.ndarray         # per order (0 = no refund)
    transaction: np.ndarray    # per order, the refund's transaction
    refund_line: np.ndarray    # per refund line
    product: np.ndarray        # per catalogue product
    variant: np.ndarray        # per SKU (WooCommerce: variation id, 0 for simple products)
    inventory_item: np.ndarray  # per SKU


@dataclass
class Inventory:
    location_id: np.ndarray     # 2 locations
    location_name: tuple[str, str]
    location_country: str
    available: np.ndarray       # (skus, 2) units on hand at the anchor
    updated_at: np.ndarray      # (skus, 2) epoch of the level's last change


@dataclass
class StoreData:
    config: StoreConfig
    zone: ZoneTable
    home_country: int
    catalogue: Catalogue
    customers: Customers
    recipients: People          # gift recipients, for orders shipped to someone else
    created: np.ndarray         # per order, sorted; order i has ids.order[i]
    customer: np.ndarray        # per order, row in `customers`
    guest: np.ndarray           # per order: checked out without an account (WooCommerce customer_id 0)
    recipient: np.ndarray       # per order, row in `recipients`, -1 = ships to the customer
    ship_country: np.ndarray    # per order, country index
    discount_code: np.ndarray   # per order, index into discount_codes, -1 = none
    discount_codes: list[str]
    basket: Basket
    life: Lifecycle
    anomalies: Anomalies
    event_visible: np.ndarray   # (n, 4) instant each version becomes visible
    ids: StoreIds
    inventory: Inventory
    promotions: object = None   # promotions.PromotionBook: what ran, who used it, gift lines, members
    deleted_at: np.ndarray | None = None  # per order, when the merchant deleted it (NEVER: never)

    @property
    def name(self) -> str:
        return self.config.name

    @property
    def kind(self) -> str:
        return self.config.kind

    @property
    def order_count(self) -> int:
        return len(self.created)
