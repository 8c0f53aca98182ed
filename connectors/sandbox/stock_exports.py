"""What the purchasing / ERP team would hand over: the daily stock history of every Shopify shop
and its purchase orders, as DataFrames (Truth) and CSV files (Sandbox.write_*_csv).

The ledger and the purchase orders of a shop are built on first use, once, under a lock (server
threads and tests may ask at the same time); an export only slices them.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import pandas as pd

from .catalogue import DAY, SUPPLIERS
from .config import SandboxConfig
from .generator import World, purchasing_rng
from .purchase_orders import NOT_RECEIVED, PurchaseOrderLines, build_purchase_orders
from .stock_ledger import StockLedger, build_stock_ledger, history_days, split_over_locations
from .store import StoreData

STOCK_HISTORY_COLUMNS = ["date", "stock_pool", "location", "sku", "available"]
PURCHASE_ORDER_COLUMNS = ["po_number", "sku", "stock_pool", "supplier", "quantity", "received_quantity",
                          "ordered_on", "expected_on", "received_on", "status"]
CSV_DATE_FORMAT = "%Y-%m-%d"


def midnights(epoch_days: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """UTC epoch days as datetime64[s] midnights, NaT where `missing` (an empty CSV field)."""
    values = np.asarray(epoch_days, dtype=np.int64).astype("datetime64[D]").astype("datetime64[s]")
    return values if missing is None else np.where(missing, np.datetime64("NaT", "s"), values)


def write_csv(frame: pd.DataFrame, path: str | Path) -> Path:
    path = Path(path)
    frame.to_csv(path, index=False, date_format=CSV_DATE_FORMAT)  # NaT is written as ""
    return path


class StockBook:
    """The stock ledgers and purchase orders of a config's Shopify shops, each built once."""

    def __init__(self, config: SandboxConfig, world: World) -> None:
        self._config = config
        self._world = world
        self._lock = threading.RLock()
        self._ledgers: dict[str, StockLedger] = {}
        self._orders: dict[str, PurchaseOrderLines] = {}
        self._sku_codes = np.array(world.catalogue.sku_codes, dtype=object)

    def shops(self) -> list[str]:
        """The Shopify shops, by name: the order of the exports' stock_pool column."""
        return sorted(store.name for store in self._config.stores if store.kind == "shopify")

    def ledger(self, shop: str) -> StockLedger | None:
        """None for a store that holds no stock (WooCommerce)."""
        if self._config.store(shop).kind != "shopify":
            return None
        with self._lock:
            if shop not in self._ledgers:
                self._ledgers[shop] = build_stock_ledger(self._config, self._world, shop)
            return self._ledgers[shop]

    def order_lines(self, shop: str) -> PurchaseOrderLines | None:
        ledger = self.ledger(shop)
        if ledger is None:
            return None
        with self._lock:
            if shop not in self._orders:
                rng = purchasing_rng(self._config, self._config.store(shop))
                self._orders[shop] = build_purchase_orders(rng, self._world.catalogue, ledger)
            return self._orders[shop]

    def levels_at(self, shop: str, moment: int) -> np.ndarray:
        """(skus, 2) stock per location at `moment`, as the inventory API shows it: the day's
        closing stock plus what the pool still sells later that day (from the anchor on, the
        anchor's levels)."""
        ledger, store = self.ledger(shop), self._world.stores[shop]
        if ledger is None or moment >= self._config.anchor_epoch:
            return store.inventory.available
        day = min(max(moment // DAY - ledger.first_day, 0), ledger.day_count - 1)
        day_end = min((ledger.first_day + day + 1) * DAY, self._config.anchor_epoch)
        later = np.zeros(self._world.catalogue.size, dtype=np.int64)
        for member in self._config.pool_members(shop):  # the few stores of one pool
            later += _units_ordered(self._world.stores[member.name], max(moment, (ledger.first_day + day) * DAY), day_end)
        later[self._world.catalogue.product_is_presale[self._world.catalogue.product]] = 0  # back orders
        pool = ledger.pool[day] + later
        return split_over_locations(pool[None, :], store.inventory.available.astype(np.int64))[0]

    # -- exports ------------------------------------------------------------------------------
    def stock_history(self, shops: list[str], until_day: int) -> pd.DataFrame:
        """Closing stock per day (first history day .. until_day, at most the anchor's), pool,
        location and SKU, sorted in that order; the location is its id as text."""
        names = [shop for shop in sorted(shops) if self.ledger(shop) is not None]
        ledgers = [self.ledger(shop) for shop in names]
        first_day, last_day = history_days(self._config)
        day_count = max(0, min(until_day, last_day) - first_day + 1)
        shape = (day_count, len(ledgers), 2, len(self._sku_codes))
        labels, blocks = [], []
        for ledger in ledgers:
            ids = ledger.location_id.astype(str)
            by_text = np.argsort(ids, kind="stable")  # rows sort by the column as written
            labels.append(ids[by_text])
            blocks.append(ledger.closing[:day_count][:, :, by_text].transpose(0, 2, 1))
        units = np.stack(blocks, axis=1) if blocks else np.zeros(shape, dtype=np.int64)
        days = np.arange(first_day, first_day + day_count)

        def spread(values: np.ndarray, axis_shape: tuple[int, ...]) -> np.ndarray:
            return np.broadcast_to(np.asarray(values, dtype=object).reshape(axis_shape), shape).ravel()

        return pd.DataFrame({
            "date": np.broadcast_to(midnights(days).reshape(-1, 1, 1, 1), shape).ravel(),
            "stock_pool": spread(names, (1, -1, 1, 1)),
            "location": spread(np.array(labels, dtype=object).reshape(-1), (1, len(ledgers), 2, 1)),
            "sku": spread(self._sku_codes, (1, 1, 1, -1)),
            "available": units.ravel(),
        }, columns=STOCK_HISTORY_COLUMNS)

    def purchase_orders(self, shops: list[str], as_of_day: int) -> pd.DataFrame:
        """The purchasing system's export as it stood at the end of `as_of_day`: lines ordered by
        then, received if they had arrived by then, else open. Sorted by pool, then po number."""
        parts = [self._purchase_order_columns(shop, lines, as_of_day) for shop in sorted(shops)
                 if (lines := self.order_lines(shop)) is not None]
        parts = parts or [self._purchase_order_columns("", _no_lines(), as_of_day)]
        columns = {name: np.concatenate([part[name] for part in parts]) for name in parts[0]}
        received_on, arrived = columns.pop("received_on"), columns.pop("arrived")
        frame = pd.DataFrame({
            **columns,
            "ordered_on": midnights(columns["ordered_on"]),
            "expected_on": midnights(columns["expected_on"]),
            "received_on": midnights(received_on, missing=~arrived),
            "status": np.where(arrived, "received", "open").astype(object),
        })
        return frame[PURCHASE_ORDER_COLUMNS]

    def _purchase_order_columns(self, shop: str, lines: PurchaseOrderLines, as_of_day: int) -> dict[str, np.ndarray]:
        catalogue = self._world.catalogue
        shown = np.flatnonzero(lines.ordered_on <= as_of_day)
        sku, quantity = lines.sku[shown], lines.quantity[shown]
        received_on = lines.received_on[shown]
        arrived = (received_on != NOT_RECEIVED) & (received_on <= as_of_day)
        suppliers = np.array(SUPPLIERS, dtype=object)[catalogue.product_supplier[catalogue.product[sku]]]
        return {
            "po_number": np.char.add(f"PO-{shop}-", (shown + 1).astype(str)).astype(object),
            "sku": self._sku_codes[sku],
            "stock_pool": np.full(len(sku), shop, dtype=object),
            "supplier": suppliers,
            "quantity": quantity.astype(np.int64),
            "received_quantity": np.where(arrived, quantity, 0).astype(np.int64),
            "ordered_on": lines.ordered_on[shown],
            "expected_on": lines.expected_on[shown],
            "received_on": received_on,
            "arrived": arrived,
        }


def _units_ordered(store: StoreData, since: int, until: int) -> np.ndarray:
    """Units per SKU on the lines of the store's orders created in [since, until)."""
    first, last = np.searchsorted(store.created, [since, until])  # orders are sorted by creation
    offsets = store.basket.line_offsets
    lines = slice(offsets[first], offsets[last])
    return np.bincount(store.basket.sku[lines], weights=store.basket.quantity[lines],
                       minlength=store.catalogue.size).astype(np.int64)


def _no_lines() -> PurchaseOrderLines:
    empty = np.zeros(0, dtype=np.int64)
    return PurchaseOrderLines(empty, empty, empty, empty, empty)
