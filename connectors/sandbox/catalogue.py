"""The product catalogue every store sells: SKUs, products, suppliers, popularity, stock-outs.

One catalogue for all stores (they share a warehouse, so a stock-out is everywhere at once);
each store gives the products its own ids.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .wire import NEVER

DAY = 86_400

# name, share of products, log-mean and log-sd of unit cost in cents, nouns, variant options
CATEGORIES = (
    ("Kitchen", 0.12, 7.4, 0.6, ("Chef Knife", "Cutting Board", "Saucepan", "Skillet", "Whisk",
                                 "Colander", "Spice Rack", "Mixing Bowl Set"), ("Small", "Medium", "Large")),
    ("Glassware", 0.07, 6.9, 0.5, ("Wine Glass Set", "Tumbler", "Carafe", "Champagne Flute",
                                   "Pitcher", "Shot Glass Set"), ("Set of 2", "Set of 4", "Set of 6")),
    ("Ceramics", 0.07, 7.1, 0.6, ("Dinner Plate", "Mug", "Serving Bowl", "Teapot", "Vase",
                                  "Espresso Cup"), ("White", "Sage", "Charcoal")),
    ("Electronics", 0.10, 8.6, 0.7, ("Bluetooth Speaker", "Desk Lamp", "Wireless Charger",
                                     "Headphones", "Smart Plug", "Power Bank"), ("Black", "White", "Silver")),
    ("Toys", 0.08, 7.0, 0.6, ("Building Blocks", "Plush Bear", "Puzzle", "Wooden Train",
                              "Kite", "Board Game"), ("Standard", "Deluxe", "Gift Box")),
    ("Garden", 0.08, 7.5, 0.7, ("Planter", "Garden Hose", "Pruning Shears", "Bird Feeder",
                                "Watering Can", "Solar Lantern"), ("Small", "Medium", "Large")),
    ("Apparel", 0.11, 7.3, 0.5, ("T-Shirt", "Hoodie", "Rain Jacket", "Beanie", "Socks",
                                 "Scarf"), ("S", "M", "L")),
    ("Beauty", 0.07, 6.6, 0.5, ("Face Cream", "Shampoo", "Lip Balm", "Body Lotion",
                                "Hand Soap", "Serum"), ("50 ml", "100 ml", "250 ml")),
    ("Books", 0.06, 6.5, 0.4, ("Cookbook", "Travel Guide", "Novel", "Field Notes Journal",
                               "Atlas", "Sketchbook"), ("Paperback", "Hardcover", "Special Edition")),
    ("Sports", 0.09, 7.6, 0.7, ("Yoga Mat", "Water Bottle", "Resistance Bands", "Jump Rope",
                                "Dumbbell", "Cycling Gloves"), ("Blue", "Black", "Red")),
    ("Home", 0.10, 7.6, 0.7, ("Throw Blanket", "Cushion Cover", "Wall Clock", "Candle",
                              "Picture Frame", "Storage Basket"), ("Natural", "Grey", "Navy")),
    ("Pet", 0.05, 7.0, 0.6, ("Dog Bed", "Cat Scratcher", "Pet Bowl", "Leash", "Chew Toy",
                             "Grooming Brush"), ("Small", "Medium", "Large")),
)
CATEGORY_NAMES = tuple(category[0] for category in CATEGORIES)
ADJECTIVES = ("Classic", "Nordic", "Walnut", "Bamboo", "Heritage", "Urban", "Coastal", "Alpine",
              "Everyday", "Studio", "Artisan", "Compact", "Premium", "Rustic", "Modern", "Vintage",
              "Eco", "Pro", "Essential", "Signature")
SUPPLIERS = (
    "Acme Housewares Co.", "Nordlicht Handels GmbH", "Pacific Trade Partners", "Atelier Duval SARL",
    "Hanseatic Imports", "Blue Ridge Supply", "Kaito Manufacturing", "Lumen Electronics Ltd.",
    "Greenleaf Garden Goods", "Maison Fabre", "Ostwind Textil", "Cascadia Outdoor", "Brightside Toys",
    "Porcelana Ibérica", "Glasshütte Weiß", "Verde Cosmetics", "Paperbound Press", "Summit Sports Gear",
    "Hearth & Home Ltd.", "PawPal Supplies", "Delta Sourcing Ltd.", "Riviera Ceramica",
    "Northwind Logistics", "Golden Gate Goods", "Alba Textiles",
)
PACK_SIZES = (1, 1, 1, 2, 4, 6, 12)
PRODUCT_STATUSES = ("active", "draft", "archived")
PRODUCT_ACTIVE, PRODUCT_ARCHIVED = PRODUCT_STATUSES.index("active"), PRODUCT_STATUSES.index("archived")


@dataclass
class Catalogue:
    # per SKU
    sku_codes: list[str]
    product: np.ndarray          # int32 product index
    option: np.ndarray           # int8 variant option index, -1 = single-variant product
    unit_cost: np.ndarray        # int64 cents
    list_price: np.ndarray       # int64 cents, current (after any price change)
    old_price: np.ndarray        # int64 cents before the price change
    price_changed_at: np.ndarray  # int64 epoch, NEVER = no change
    compare_at_price: np.ndarray  # int64 cents, 0 = none
    pack_size: np.ndarray
    moq: np.ndarray
    lead_time_days: np.ndarray
    lead_time_std_days: np.ndarray
    popularity: np.ndarray       # float64, sums to 1
    is_best_seller: np.ndarray
    is_dead_stock: np.ndarray
    stock_out_start: np.ndarray  # (n, 2) int64, NEVER = no window in that slot
    stock_out_end: np.ndarray    # (n, 2) int64, NEVER = still out of stock at the anchor
    always_available: np.ndarray  # SKU indices sellable at any time in the history
    # per product
    product_offsets: np.ndarray  # CSR: SKUs of product p are product_offsets[p]:product_offsets[p+1]
    product_title: list[str]
    product_category: np.ndarray
    product_supplier: np.ndarray
    product_created: np.ndarray
    product_is_new: np.ndarray
    product_is_presale: np.ndarray
    product_status: np.ndarray

    @property
    def size(self) -> int:
        return len(self.sku_codes)

    def price_at(self, skus: np.ndarray, moments: np.ndarray) -> np.ndarray:
        return np.where(moments < self.price_changed_at[skus], self.old_price[skus], self.list_price[skus])

    def out_of_stock(self, skus: np.ndarray, moments: np.ndarray) -> np.ndarray:
        starts, ends = self.stock_out_start[skus], self.stock_out_end[skus]
        moments = moments[:, None]
        return ((moments >= starts) & (moments < ends)).any(axis=1)

    def sellable(self, skus: np.ndarray, moments: np.ndarray) -> np.ndarray:
        created = self.product_created[self.product[skus]]
        return (created <= moments) & ~self.out_of_stock(skus, moments)

    def variant_title(self, sku: int) -> str:
        option = int(self.option[sku])
        if option < 0:
            return "Default Title"
        return CATEGORIES[int(self.product_category[self.product[sku]])][5][option]


def _ending_99(cents: np.ndarray) -> np.ndarray:
    """Round up to a price ending in .99, like a shop would."""
    return np.ceil(cents / 100.0).astype(np.int64) * 100 - 1


def _shelf_price(cost: np.ndarray, markup: np.ndarray, low: float, high: float) -> np.ndarray:
    """cost x markup ending in .99 (up, else down), unless that leaves [low, high] x cost."""
    raw = cost * markup
    up, down = _ending_99(raw), _ending_99(raw) - 100
    return np.where(up <= cost * high, up, np.where(down >= cost * low, down, np.round(raw).astype(np.int64)))


def _uniform_seconds(rng: np.random.Generator, low_days: float, high_days: float, size: int) -> np.ndarray:
    return (rng.uniform(low_days, high_days, size) * DAY).astype(np.int64)


def build_catalogue(rng: np.random.Generator, sku_count: int, anchor: int, days: int) -> Catalogue:
    history_start = anchor - days * DAY

    # Products of 1-3 variants, cut so the SKUs number exactly sku_count.
    variants = rng.choice([1, 2, 3], size=sku_count, p=[0.55, 0.3, 0.15])
    product_count = int(np.searchsorted(np.cumsum(variants), sku_count)) + 1
    variants = variants[:product_count]
    variants[-1] -= int(variants.sum()) - sku_count
    product_offsets = np.concatenate([[0], np.cumsum(variants)]).astype(np.int64)
    product = np.repeat(np.arange(product_count, dtype=np.int32), variants)
    rank_in_product = np.arange(sku_count) - product_offsets[product]
    option = np.where(variants[product] > 1, rank_in_product, -1).astype(np.int8)

    shares = np.array([category[1] for category in CATEGORIES])
    category = rng.choice(len(CATEGORIES), size=product_count, p=shares / shares.sum()).astype(np.int8)
    # Each category is bought from two or three suppliers.
    suppliers_of = [rng.choice(len(SUPPLIERS), size=3, replace=False) for _ in CATEGORIES]
    supplier = np.array([suppliers_of[c][k] for c, k in zip(category, rng.integers(0, 3, product_count))],
                        dtype=np.int16)
    adjective = rng.integers(0, len(ADJECTIVES), product_count)
    noun = rng.integers(0, 64, product_count)
    titles, seen = [], {}
    for c, a, n in zip(category.tolist(), adjective.tolist(), noun.tolist()):
        nouns = CATEGORIES[c][4]
        title = f"{ADJECTIVES[a]} {nouns[n % len(nouns)]}"
        seen[title] = seen.get(title, 0) + 1
        titles.append(title if seen[title] == 1 else f"{title} No. {seen[title]}")

    is_new = rng.random(product_count) < 0.03
    is_presale = ~is_new & (rng.random(product_count) < 0.02)
    created = history_start - _uniform_seconds(rng, 30, 1500, product_count)
    created = np.where(is_new, anchor - _uniform_seconds(rng, 0.5, 14, product_count), created)
    created = np.where(is_presale, anchor - _uniform_seconds(rng, 10, 60, product_count), created)

    log_mean = np.array([c[2] for c in CATEGORIES])[category]
    log_sd = np.array([c[3] for c in CATEGORIES])[category]
    product_cost = np.exp(rng.normal(log_mean, log_sd))
    unit_cost = np.clip(product_cost[product] * rng.uniform(0.9, 1.1, sku_count), 200, 20_000)
    unit_cost = np.round(unit_cost).astype(np.int64)
    list_price = _shelf_price(unit_cost, rng.uniform(1.4, 3.0, sku_count), 1.4, 3.0)
    compare_at_price = np.where(rng.random(sku_count) < 0.15,
                                _ending_99(list_price * rng.uniform(1.15, 1.5, sku_count)), 0)

    pack_size = rng.choice(PACK_SIZES, size=sku_count).astype(np.int16)
    moq_multiple = rng.choice([1, 2, 3, 5, 10], size=sku_count, p=[0.35, 0.25, 0.15, 0.15, 0.1])
    moq = (pack_size * np.where(unit_cost > 8_000, 1, moq_multiple)).astype(np.int32)
    supplier_lead = rng.integers(3, 46, len(SUPPLIERS))
    lead_time_days = np.clip(supplier_lead[supplier[product]] + rng.normal(0, 3, sku_count), 3, 60)
    lead_time_days = np.round(lead_time_days).astype(np.int16)
    lead_time_std_days = np.round(lead_time_days * rng.uniform(0.1, 0.35, sku_count), 1)

    # Heavy-tailed demand: a few best sellers carry a large share, dead stock almost never sells.
    sku_new = is_new[product]
    sku_presale = is_presale[product]
    weights = rng.lognormal(0.0, 0.9, sku_count)
    eligible = ~sku_new & ~sku_presale
    draw = rng.random(sku_count)
    is_best_seller = eligible & (draw < 0.05)
    is_dead_stock = eligible & (draw >= 0.05) & (draw < 0.15)
    weights = np.where(is_best_seller, weights * 15.0, weights)
    weights = np.where(is_dead_stock, weights * 0.002, weights)
    popularity = weights / weights.sum()

    # Stock-outs: slot 0 early in the history; slot 1 later, or still running at the anchor.
    history = days * DAY
    stock_out_start = np.full((sku_count, 2), NEVER, dtype=np.int64)
    stock_out_end = np.full((sku_count, 2), NEVER, dtype=np.int64)
    can_run_out = ~sku_presale & ~is_dead_stock
    early = can_run_out & (rng.random(sku_count) < 0.15)
    start = history_start + (rng.uniform(0.0, 0.45, sku_count) * history).astype(np.int64)
    stock_out_start[early, 0] = start[early]
    stock_out_end[early, 0] = (start + _uniform_seconds(rng, 3, 20, sku_count))[early]
    late_draw = rng.random(sku_count)
    ongoing = can_run_out & (late_draw < 0.03)
    later = can_run_out & (late_draw >= 0.03) & (late_draw < 0.08)
    later_start = history_start + (rng.uniform(0.5, 0.85, sku_count) * history).astype(np.int64)
    later_end = np.minimum(later_start + _uniform_seconds(rng, 3, 20, sku_count), anchor - DAY)
    stock_out_start[later, 1] = later_start[later]
    stock_out_end[later, 1] = later_end[later]
    stock_out_start[ongoing, 1] = (anchor - _uniform_seconds(rng, 1, 15, sku_count))[ongoing]

    changed = rng.random(sku_count) < 0.10
    price_changed_at = np.where(
        changed, history_start + (rng.uniform(0.1, 0.95, sku_count) * history).astype(np.int64), NEVER)
    old_price = np.where(changed, np.maximum(_ending_99(list_price * rng.uniform(0.85, 1.2, sku_count)),
                                             _ending_99(unit_cost * 1.2)), list_price)

    status = np.full(product_count, PRODUCT_ACTIVE, dtype=np.int8)
    all_dead = np.minimum.reduceat(is_dead_stock, product_offsets[:-1]).astype(bool)
    status[all_dead & (rng.random(product_count) < 0.25)] = PRODUCT_ARCHIVED

    always_available = np.flatnonzero(
        ~sku_new & ~sku_presale & ~is_dead_stock & (stock_out_start == NEVER).all(axis=1))

    return Catalogue(
        sku_codes=[f"SKU-{number:05d}" for number in range(1, sku_count + 1)],
        product=product, option=option, unit_cost=unit_cost, list_price=list_price,
        old_price=old_price, price_changed_at=price_changed_at, compare_at_price=compare_at_price,
        pack_size=pack_size, moq=moq, lead_time_days=lead_time_days,
        lead_time_std_days=lead_time_std_days, popularity=popularity,
        is_best_seller=is_best_seller, is_dead_stock=is_dead_stock,
        stock_out_start=stock_out_start, stock_out_end=stock_out_end,
        always_available=always_available, product_offsets=product_offsets, product_title=titles,
        product_category=category, product_supplier=supplier, product_created=created,
        product_is_new=is_new, product_is_presale=is_presale, product_status=status,
    )
