"""Promotions: what each store ran, what it did to demand, and how its discounts land in the orders.

Two sources of promotions per store:
- the calendar's store-wide promotion days (arrivals.plan_days: a rate multiplier and a percent
  code) and the welcome code (generator._discounts) — kept exactly as they were drawn;
- the promotion kinds planned here, on the store's own promotion stream: percentage (SKUs or a
  category, code or automatic), fixed amount off the order, spend-threshold tiers, gift with
  purchase, flash sale (phases), member-only. Their windows never overlap each other nor a
  promotion day.

Each planned promotion has a TRUE effect, applied to the baseline baskets (vectorised over the
orders and lines of its window, which are contiguous slices because orders are sorted by time):
- uplift m: the scope's units bought by eligible customers during the window become m times the
  baseline: sibling lines switched to the scope (cannibalisation) plus scope lines added to
  eligible orders in the window;
- cannibalisation c: siblings (same category, not in scope) lose share c of their units in the
  window, switched to a scope SKU;
- pull-forward f: f of the extra units are taken from the post-period: scope lines of orders that
  keep another line are removed there.
Then every order of a window whose in-scope subtotal qualifies gets the discount (a code for a
share of them, everyone for automatic promotions), gift lines are added at price 0, and the
totals are recomputed. Orders exactly on a threshold (and one cent below) are made by nudging one
line's price ("probes"), so the boundary is always tested.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .arrivals import DAY, DayPlan
from .basket import QUANTITY_SHARES, Basket, priced_basket, segment_sums
from .catalogue import CATEGORY_NAMES, Catalogue

HOUR = 3_600
MEMBER_SHARE = 0.20          # customers who are members (Shopify tag "member", Woo order meta is_member)
KINDS = ("percentage", "fixed", "threshold", "gift", "flash", "member")
TIER_SETS = (((10_000, 2_000), (20_000, 5_000)), ((7_500, 1_000), (15_000, 2_500)),
             ((5_000, 500), (10_000, 1_500), (20_000, 4_000)))
PROBES_PER_TARGET = 2        # orders exactly on each threshold, and as many one cent below
_MEAN_QUANTITY = float(np.dot(np.arange(1, 4), QUANTITY_SHARES))


@dataclass
class Phase:
    start: int
    end: int
    rule: str                 # percent | fixed | tiers | gift
    percent: int = 0
    amount: int = 0           # cents off the order (fixed)
    tiers: tuple = ()         # ((spend, off), ...) in cents, ascending spend
    min_spend: int = 0        # cents of in-scope subtotal (fixed, gift)
    gift_sku: int = -1
    uplift: float = 1.0


@dataclass
class Promotion:
    id: str
    store: str
    name: str
    type: str                 # percentage | fixed | threshold | gift | flash | member
    start: int
    end: int
    phases: list[Phase]
    skus: np.ndarray          # scope SKU indices; empty: by categories, or every SKU
    categories: tuple[int, ...]
    member_only: bool
    codes: list[str]          # one per tier for a threshold promotion; [] = automatic
    code_share: float         # share of qualifying orders that use the code
    uplift: float
    created_at: int
    pull_forward_share: float = 0.0
    post_end: int = 0         # the post-period is [end, post_end)
    cannibalisation: float = 0.0
    origin: str = "planned"   # planned | promotion_day | welcome
    realised: dict = field(default_factory=dict)
    # platform ids, one per code (filled in once the store's ids exist)
    price_rule_ids: list[int] = field(default_factory=list)
    discount_code_ids: list[int] = field(default_factory=list)
    coupon_ids: list[int] = field(default_factory=list)

    def scope(self, catalogue: Catalogue) -> np.ndarray:
        """Boolean per SKU."""
        if len(self.skus):
            mask = np.zeros(catalogue.size, dtype=bool)
            mask[self.skus] = True
            return mask
        if self.categories:
            return np.isin(catalogue.product_category[catalogue.product], self.categories)
        return np.ones(catalogue.size, dtype=bool)

    def siblings(self, catalogue: Catalogue) -> np.ndarray:
        """SKUs of the scope's categories outside the scope (none for a category or store-wide scope)."""
        if not len(self.skus):
            return np.zeros(catalogue.size, dtype=bool)
        categories = np.unique(catalogue.product_category[catalogue.product[self.skus]])
        return np.isin(catalogue.product_category[catalogue.product], categories) & ~self.scope(catalogue)


@dataclass
class PromotionBook:
    promotions: list[Promotion]
    member: np.ndarray        # per customer
    order_promotion: np.ndarray  # per order, index into promotions, -1 = none
    order_phase: np.ndarray   # per order, phase (flash) or tier (threshold) index, -1 = none
    gift: np.ndarray          # per line: a gift line (price 0)
    probes: list[dict]        # orders placed on / just below a threshold


# -- planning -----------------------------------------------------------------------------------
def _counts(days: int) -> list[str]:
    """Which kinds, how many: at least one of each from 60 days, about one per kind per 45 days."""
    if days >= 60:
        return [kind for kind in KINDS for _ in range(max(1, round(days / 45)))]
    return list(KINDS[:days // 10])


def _pick_skus(rng: np.random.Generator, catalogue: Catalogue, category: int, count: int) -> np.ndarray:
    pool = catalogue.always_available
    pool = pool[catalogue.product_category[catalogue.product[pool]] == category]
    if len(pool) == 0:
        return pool
    # Promotions feature what sells: the scope comes from the category's twice `count` best sellers.
    pool = pool[np.argsort(-catalogue.popularity[pool], kind="stable")[:2 * count]]
    return np.sort(rng.choice(pool, size=min(count, len(pool)), replace=False))


def _gift_sku(rng: np.random.Generator, catalogue: Catalogue) -> int:
    pool = catalogue.always_available
    if len(pool) == 0:
        return int(np.argsort(-catalogue.popularity)[0])
    cheap = pool[np.argsort(catalogue.unit_cost[pool], kind="stable")[:max(1, len(pool) // 10)]]
    return int(rng.choice(cheap))


def _uplift(rng: np.random.Generator, low: float = 1.2, high: float = 2.4) -> float:
    return 1.0 if rng.random() < 0.25 else round(float(rng.uniform(low, high)), 2)


def plan_promotions(rng: np.random.Generator, store_name: str, plan: DayPlan, catalogue: Catalogue,
                    start: int, anchor: int) -> list[Promotion]:
    edges = plan.edges
    count = len(edges) - 1
    busy = np.zeros(count + 2, dtype=bool)
    busy[:count][plan.promotion_percent > 0] = True
    low, high = min(14, count // 4), count - 2
    kinds = _counts(round((anchor - start) / DAY))
    kinds = [kinds[i] for i in rng.permutation(len(kinds))]
    codes_used: set[str] = set()
    planned: list[Promotion] = []

    def code(base: str) -> str:
        text, n = base, 2
        while text in codes_used:
            text, n = f"{base}-{n}", n + 1
        codes_used.add(text)
        return text

    for kind in kinds:
        duration = {"percentage": (3, 7), "fixed": (2, 4), "threshold": (3, 5), "gift": (3, 6),
                    "member": (2, 5), "flash": (1, 1)}[kind]
        length = int(rng.integers(duration[0], duration[1] + 1))
        placed = None
        for attempt_length in (length, 1):
            free = [d for d in range(low, high - attempt_length + 1)
                    if not busy[max(0, d - 1):d + attempt_length + 1].any()]
            if free:
                first = int(free[int(rng.integers(len(free)))])
                placed = (first, attempt_length)
                break
        if placed is None:
            continue
        first, length = placed
        busy[first:first + length] = True
        window_start, window_end = int(edges[first]), int(edges[first + length])
        category = int(rng.choice(len(CATEGORY_NAMES)))
        category_name = CATEGORY_NAMES[category].upper()
        skus, categories, member_only, codes, share = np.zeros(0, np.int64), (), False, [], 1.0
        uplift, pull, cannibal = _uplift(rng), 0.0, 0.0
        if kind == "percentage":
            percent = int(rng.choice([10, 15, 20, 25, 30]))
            if rng.random() < 0.5:
                skus = _pick_skus(rng, catalogue, category, int(rng.integers(5, 13)))
                name = f"{percent}% off selected {CATEGORY_NAMES[category]}"
                base = f"PICKS{percent}"
            else:
                categories = (category,)
                name = f"{percent}% off {CATEGORY_NAMES[category]}"
                base = f"{category_name}{percent}"
            if rng.random() < 0.5:
                codes, share = [code(base)], round(float(rng.uniform(0.5, 0.8)), 2)
            phases = [Phase(window_start, window_end, "percent", percent=percent, uplift=uplift)]
        elif kind == "member":
            percent = int(rng.choice([10, 15, 20]))
            member_only = True
            if rng.random() < 0.5:
                name = f"Members: {percent}% off everything"
            else:
                skus = _pick_skus(rng, catalogue, category, int(rng.integers(4, 10)))
                name = f"Members: {percent}% off selected {CATEGORY_NAMES[category]}"
            codes, share = [code(f"MEMBER{percent}")], round(float(rng.uniform(0.6, 0.9)), 2)
            phases = [Phase(window_start, window_end, "percent", percent=percent, uplift=uplift)]
        elif kind == "fixed":
            amount = int(rng.choice([500, 1_000, 1_500]))
            minimum = amount * int(rng.choice([4, 5, 6]))
            name = f"{amount // 100} off orders from {minimum // 100}"
            codes, share = [code(f"SAVE{amount // 100}")], round(float(rng.uniform(0.4, 0.7)), 2)
            phases = [Phase(window_start, window_end, "fixed", amount=amount, min_spend=minimum, uplift=uplift)]
        elif kind == "threshold":
            tiers = TIER_SETS[int(rng.integers(len(TIER_SETS)))]
            if any(p.type == "threshold" for p in planned) and rng.random() < 0.5:
                categories = (category,)
            where = f" on {CATEGORY_NAMES[category]}" if categories else ""
            name = "Spend " + ", ".join(f"{s // 100} save {o // 100}" for s, o in tiers) + where
            codes = [code(f"SPEND{s // 100}" + (category_name[:4] if categories else "")) for s, _ in tiers]
            share = round(float(rng.uniform(0.6, 0.9)), 2)
            phases = [Phase(window_start, window_end, "tiers", tiers=tiers, uplift=uplift)]
        elif kind == "gift":
            gift = _gift_sku(rng, catalogue)
            minimum = int(rng.choice([4_000, 6_000, 8_000]))
            if rng.random() < 0.5:
                categories = (category,)
            where = f" of {CATEGORY_NAMES[category]}" if categories else ""
            name = f"Free {catalogue.sku_codes[gift]} with {minimum // 100}{where}"
            phases = [Phase(window_start, window_end, "gift", min_spend=minimum, gift_sku=gift, uplift=uplift)]
        else:  # flash: a percent for the first hour, then list price plus a gift above a spend
            hour = int(rng.integers(11, 19))
            hours = int(rng.integers(3, 6))
            window_start = int(edges[first]) + hour * HOUR
            window_end = window_start + hours * HOUR
            percent = int(rng.choice([20, 25, 30, 40]))
            gift = _gift_sku(rng, catalogue)
            minimum = int(rng.choice([3_000, 4_000, 5_000]))
            first_uplift = round(float(rng.uniform(2.0, 4.0)), 2)
            uplift = round(float(rng.uniform(1.1, 1.6)), 2)
            phases = [Phase(window_start, window_start + HOUR, "percent", percent=percent, uplift=first_uplift),
                      Phase(window_start + HOUR, window_end, "gift", min_spend=minimum, gift_sku=gift, uplift=uplift)]
            uplift = round((first_uplift + uplift * (hours - 1)) / hours, 4)  # time-weighted, for the summary
            name = f"Flash sale: {percent}% off the first hour, then a gift from {minimum // 100}"
        if uplift > 1.0 and rng.random() < 0.4:
            pull = round(float(rng.uniform(0.2, 0.6)), 2)
        if uplift > 1.0 and len(skus) and rng.random() < 0.6:
            cannibal = round(float(rng.uniform(0.05, 0.2)), 3)
        post_days = 2 if kind == "flash" else max(3, min(14, 2 * length))
        planned.append(Promotion(
            id="", store=store_name, name=name, type=kind, start=window_start, end=window_end, phases=phases,
            skus=np.asarray(skus, dtype=np.int64), categories=categories, member_only=member_only, codes=codes,
            code_share=share, uplift=uplift, created_at=window_start - int(rng.integers(1, 6)) * DAY,
            pull_forward_share=pull, post_end=min(anchor, window_end + post_days * DAY), cannibalisation=cannibal))
    return planned


def calendar_promotions(store_name: str, plan: DayPlan, start: int, anchor: int, welcome: tuple[str, int]) -> list[Promotion]:
    """The promotion days of the calendar and the welcome code, as promotions."""
    result = []
    for day in np.flatnonzero(plan.promotion_percent > 0).tolist():
        window = (max(start, int(plan.edges[day])), min(anchor, int(plan.edges[day + 1])))
        percent = int(plan.promotion_percent[day])
        multiplier = float(plan.promotion_multiplier[day]) if plan.promotion_multiplier is not None else 1.0
        result.append(Promotion(
            id="", store=store_name, name=f"Promotion day {plan.promotion_code[day]}", type="percentage",
            start=window[0], end=window[1], phases=[Phase(window[0], window[1], "percent", percent=percent,
                                                          uplift=round(multiplier, 4))],
            skus=np.zeros(0, np.int64), categories=(), member_only=False, codes=[plan.promotion_code[day]],
            code_share=0.75, uplift=round(multiplier, 4), created_at=int(plan.edges[day]) - 7 * DAY,
            post_end=window[1], origin="promotion_day"))
    code, percent = welcome
    result.append(Promotion(
        id="", store=store_name, name="Welcome discount", type="percentage", start=start - 365 * DAY,
        end=anchor + 365 * DAY, phases=[Phase(start - 365 * DAY, anchor + 365 * DAY, "percent", percent=percent)],
        skus=np.zeros(0, np.int64), categories=(), member_only=False, codes=[code], code_share=0.03, uplift=1.0,
        created_at=start - 400 * DAY, post_end=anchor + 365 * DAY, origin="welcome"))
    return result


# -- applying -----------------------------------------------------------------------------------
def _slice(created: np.ndarray, low: int, high: int) -> tuple[int, int]:
    return int(np.searchsorted(created, low, side="left")), int(np.searchsorted(created, high, side="left"))


def _draw_by_popularity(rng: np.random.Generator, catalogue: Catalogue, pool: np.ndarray, size: int) -> np.ndarray:
    weights = catalogue.popularity[pool]
    weights = weights / weights.sum() if weights.sum() > 0 else None
    return rng.choice(pool, size=size, p=weights).astype(np.int64) if size else np.zeros(0, np.int64)


def _duplicate_keys(keys: np.ndarray) -> np.ndarray:
    """True where a key appears more than once."""
    if not len(keys):
        return np.zeros(0, dtype=bool)
    _, inverse, counts = np.unique(keys, return_inverse=True, return_counts=True)
    return counts[inverse] > 1


def _sellable_pool(catalogue: Catalogue, scope: np.ndarray) -> np.ndarray:
    pool = catalogue.always_available[scope[catalogue.always_available]]
    return pool if len(pool) else np.flatnonzero(scope & ~catalogue.is_dead_stock)


def _demand_effects(rng, catalogue, promotions, created, offsets, sku, quantity, keep, eligible_of) -> dict:
    """Cannibalisation swaps and pull-forward removals in place; returns the added lines."""
    order_of_line = np.repeat(np.arange(len(offsets) - 1), np.diff(offsets))
    added = {"order": [], "sku": [], "quantity": []}
    driven = np.zeros(len(created), dtype=bool)
    for promotion in promotions:
        scope = promotion.scope(catalogue)
        siblings = promotion.siblings(catalogue)
        pool = _sellable_pool(catalogue, scope)
        eligible = eligible_of(promotion)
        stats = dict(baseline_units=0, sibling_baseline_units=0, cannibalised_units=0, added_units=0,
                     pulled_forward_units=0)
        for phase in promotion.phases:
            o0, o1 = _slice(created, phase.start, phase.end)
            l0, l1 = int(offsets[o0]), int(offsets[o1])
            lines = np.arange(l0, l1)
            live = keep[lines] & eligible[order_of_line[lines]]
            in_scope = live & scope[sku[lines]]
            baseline = int(quantity[lines][in_scope].sum())
            stats["baseline_units"] += baseline
            target = (phase.uplift - 1.0) * baseline
            swapped_units = 0
            if promotion.cannibalisation > 0 and siblings.any() and len(pool):
                sibling_lines = lines[live & siblings[sku[lines]]]
                sibling_units = int(quantity[sibling_lines].sum())
                stats["sibling_baseline_units"] += sibling_units
                share = min(promotion.cannibalisation, 0.8 * target / sibling_units) if sibling_units else 0.0
                switch = sibling_lines[rng.random(len(sibling_lines)) < share]
                before = sku[switch].copy()
                sku[switch] = _draw_by_popularity(rng, catalogue, pool, len(switch))
                window_lines = lines[keep[lines]]
                clash = _duplicate_keys(order_of_line[window_lines] * catalogue.size + sku[window_lines])
                undo = np.isin(switch, window_lines[clash])
                sku[switch[undo]] = before[undo]
                switch = switch[~undo]
                swapped_units = int(quantity[switch].sum())
                driven[order_of_line[switch]] = True
                stats["cannibalised_units"] += swapped_units
            remaining = max(0.0, target - swapped_units) / _MEAN_QUANTITY
            count = int(remaining) + int(rng.random() < remaining - int(remaining))
            candidates = o0 + np.flatnonzero(eligible[o0:o1])
            if count and len(candidates) and len(pool):
                orders = rng.choice(candidates, size=count)
                skus = _draw_by_popularity(rng, catalogue, pool, count)
                units = rng.choice(np.arange(1, 4), size=count, p=QUANTITY_SHARES).astype(np.int64)
                keys = orders * catalogue.size + skus
                window_lines = lines[keep[lines]]
                existing = order_of_line[window_lines] * catalogue.size + sku[window_lines]
                _, first = np.unique(keys, return_index=True)
                fresh = np.zeros(count, dtype=bool)
                fresh[first] = True
                fresh &= ~np.isin(keys, existing)
                added["order"].append(orders[fresh])
                added["sku"].append(skus[fresh])
                added["quantity"].append(units[fresh])
                driven[orders[fresh]] = True
                stats["added_units"] += int(units[fresh].sum())
        extra = stats["cannibalised_units"] + stats["added_units"]
        if promotion.pull_forward_share > 0 and extra:
            o0, o1 = _slice(created, promotion.end, promotion.post_end)
            l0, l1 = int(offsets[o0]), int(offsets[o1])
            lines = np.arange(l0, l1)
            live = keep[lines] & eligible[order_of_line[lines]]
            in_scope = live & scope[sku[lines]]
            # Only from orders keeping another (out-of-scope) line, so no order is left empty.
            others = np.bincount(order_of_line[lines] - o0, weights=(keep[lines] & ~scope[sku[lines]]),
                                 minlength=o1 - o0)
            candidates = lines[in_scope & (others[order_of_line[lines] - o0] > 0)]
            units = int(quantity[candidates].sum())
            wanted = promotion.pull_forward_share * extra
            probability = min(1.0, wanted / units) if units else 0.0
            removed = candidates[rng.random(len(candidates)) < probability]
            keep[removed] = False
            stats["pulled_forward_units"] = int(quantity[removed].sum())
        promotion.realised.update(stats)
    cat = (lambda parts, dtype: np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype))
    return {"order": cat(added["order"], np.int64), "sku": cat(added["sku"], np.int32),
            "quantity": cat(added["quantity"], np.int64), "driven": driven}


def _allocate(amount: np.ndarray, gross: np.ndarray, line_order: np.ndarray, first_line: np.ndarray,
              subtotal: np.ndarray) -> np.ndarray:
    """Split each order's amount over its lines pro rata to gross, to the cent (sums are exact)."""
    cumulative = np.concatenate([[0], np.cumsum(gross)])
    index = np.arange(len(gross))
    base = cumulative[first_line[line_order]]
    within, before = cumulative[index + 1] - base, cumulative[index] - base
    total = np.maximum(subtotal[line_order], 1)
    share = amount[line_order]
    return share * within // total - share * before // total


def apply_promotions(rng: np.random.Generator, catalogue: Catalogue, planned: list[Promotion],
                     calendar: list[Promotion], created: np.ndarray, basket: Basket, legacy_percent: np.ndarray,
                     legacy_code: np.ndarray, legacy_codes: list[str], customer: np.ndarray, customer_count: int,
                     guest: np.ndarray, tax_basis_points: np.ndarray, abroad: np.ndarray, member: np.ndarray
                     ) -> tuple[Basket, np.ndarray, list[str], PromotionBook]:
    """The baskets with the promotions' demand effects and discounts; the orders' codes; the book."""
    n = len(created)
    offsets = basket.line_offsets
    sku, quantity = basket.sku.astype(np.int32).copy(), basket.quantity.copy()
    keep = np.ones(len(sku), dtype=bool)
    free = legacy_code < 0  # orders already using a promotion day's or the welcome code are not eligible
    member_order = member[customer] & ~guest

    def eligible_of(promotion: Promotion) -> np.ndarray:
        return free & member_order if promotion.member_only else free

    effects = _demand_effects(rng, catalogue, planned, created, offsets, sku, quantity, keep, eligible_of)

    # The lines after the demand effects: kept ones, then the added ones at the end of their order.
    kept = np.flatnonzero(keep)
    order_of_line = np.repeat(np.arange(n), np.diff(offsets))
    line_order = np.concatenate([order_of_line[kept], effects["order"]])
    sequence = np.concatenate([kept, len(sku) + np.arange(len(effects["order"]))])
    order = np.lexsort((sequence, line_order))
    line_order = line_order[order]
    sku = np.concatenate([sku[kept], effects["sku"]])[order]
    quantity = np.concatenate([quantity[kept], effects["quantity"]])[order]
    unit_price = catalogue.price_at(sku, created[line_order])
    offsets = np.concatenate([[0], np.cumsum(np.bincount(line_order, minlength=n))]).astype(np.int64)
    gross = unit_price * quantity
    discount = np.where(legacy_code[line_order] >= 0, (gross * legacy_percent[line_order] + 50) // 100, 0)

    promotions = sorted(calendar + planned, key=lambda p: (p.start, p.origin != "planned", p.codes))
    codes = list(legacy_codes)
    for promotion in planned:
        codes.extend(promotion.codes)
    code_index = {code: index for index, code in enumerate(codes)}
    order_promotion = np.full(n, -1, dtype=np.int16)
    order_phase = np.full(n, -1, dtype=np.int8)
    order_code = legacy_code.astype(np.int16).copy()
    # Calendar promotions: the orders that used their code (as drawn by generator._discounts).
    by_code = {p.codes[0]: index for index, p in enumerate(promotions) if p.origin != "planned"}
    legacy_promotion = np.array([by_code.get(code, -1) for code in legacy_codes], dtype=np.int16)
    used = legacy_code >= 0
    order_promotion[used] = legacy_promotion[legacy_code[used]]
    order_phase[used] = 0

    gifts = {"order": [], "sku": []}
    probes: list[dict] = []
    driven = effects["driven"]
    for index, promotion in enumerate(promotions):
        if promotion.origin != "planned":
            continue
        scope = promotion.scope(catalogue)
        eligible = eligible_of(promotion)
        stats = promotion.realised
        stats.update(orders=0, units_in_scope=0, discount=0, gift_units=0, gift_cost=0)
        for phase_index, phase in enumerate(promotion.phases):
            o0, o1 = _slice(created, phase.start, phase.end)
            l0, l1 = int(offsets[o0]), int(offsets[o1])
            local = line_order[l0:l1] - o0
            in_scope = scope[sku[l0:l1]]
            window_eligible = eligible[o0:o1] & (order_promotion[o0:o1] < 0)
            stats["units_in_scope"] += int(quantity[l0:l1][in_scope & eligible[o0:o1][local]].sum())
            subtotal = np.bincount(local, weights=np.where(in_scope, gross[l0:l1], 0), minlength=o1 - o0).astype(np.int64)
            forced = np.zeros(o1 - o0, dtype=bool)
            thresholds = [s for s, _ in phase.tiers] if phase.rule == "tiers" else (
                [phase.min_spend] if phase.rule == "gift" and phase.min_spend else [])
            for threshold in thresholds:
                for target in (threshold, threshold - 1):
                    for _ in range(PROBES_PER_TARGET):
                        need = target - subtotal[local]
                        price = unit_price[l0:l1]
                        ok = (in_scope & (quantity[l0:l1] == 1) & window_eligible[local] & ~forced[local]
                              & (np.abs(need) <= 0.4 * target) & (price + need >= np.maximum(100, price // 2))
                              & (price + need <= 2 * price))
                        if not ok.any():
                            break
                        line = int(np.flatnonzero(ok)[np.argmin(np.where(ok, np.abs(need), np.iinfo(np.int64).max)[ok])])
                        unit_price[l0 + line] += int(need[line])
                        gross[l0 + line] = unit_price[l0 + line] * quantity[l0 + line]
                        subtotal[local[line]] = target
                        forced[local[line]] = True
                        probes.append({"promotion": index, "order": o0 + int(local[line]), "threshold": threshold,
                                       "in_scope_subtotal": target, "phase": phase_index})
            tier = np.full(o1 - o0, -1, dtype=np.int64)
            if phase.rule == "percent":
                qualifies = subtotal > 0
            elif phase.rule == "fixed":
                qualifies = subtotal >= max(phase.min_spend, phase.amount)
            elif phase.rule == "tiers":
                spends = np.array([s for s, _ in phase.tiers])
                tier = np.searchsorted(spends, subtotal, side="right") - 1
                qualifies = tier >= 0
            else:
                qualifies = subtotal >= phase.min_spend
            draw = rng.random(o1 - o0)
            attempts = forced | driven[o0:o1] | (draw < promotion.code_share) if promotion.codes else np.ones(o1 - o0, bool)
            uses = window_eligible & qualifies & attempts
            line_uses = uses[local] & in_scope
            window_gross = gross[l0:l1]
            if phase.rule == "percent":
                line_discount = np.where(line_uses, (window_gross * phase.percent + 50) // 100, 0)
            elif phase.rule in ("fixed", "tiers"):
                offs = np.array([o for _, o in phase.tiers]) if phase.rule == "tiers" else None
                amount = np.where(uses, phase.amount if offs is None else offs[np.maximum(tier, 0)], 0)
                first_line = offsets[o0:o1] - l0
                line_discount = np.where(line_uses, _allocate(amount, np.where(line_uses, window_gross, 0), local,
                                                              first_line, subtotal), 0)
            else:
                line_discount = np.zeros(l1 - l0, dtype=np.int64)
                takers = o0 + np.flatnonzero(uses)
                gifts["order"].append(takers)
                gifts["sku"].append(np.full(len(takers), phase.gift_sku, dtype=np.int32))
                stats["gift_units"] += len(takers)
                stats["gift_cost"] += len(takers) * int(catalogue.unit_cost[phase.gift_sku])
            discount[l0:l1] += line_discount
            rows = o0 + np.flatnonzero(uses)
            order_promotion[rows] = index
            order_phase[rows] = tier[uses] if phase.rule == "tiers" else phase_index
            if promotion.codes:
                picked = np.maximum(tier[uses], 0) if phase.rule == "tiers" else np.zeros(len(rows), np.int64)
                order_code[rows] = np.array([code_index[c] for c in promotion.codes], dtype=np.int16)[picked]
            stats["orders"] += len(rows)
            stats["discount"] += int(line_discount.sum())

    # Gift lines: price 0, at the end of their order.
    gift_order = np.concatenate(gifts["order"]).astype(np.int64) if gifts["order"] else np.zeros(0, np.int64)
    gift_sku = np.concatenate(gifts["sku"]).astype(np.int32) if gifts["sku"] else np.zeros(0, np.int32)
    line_order = np.concatenate([line_order, gift_order])
    order = np.lexsort((np.arange(len(line_order)), line_order))
    is_gift = np.concatenate([np.zeros(len(sku), bool), np.ones(len(gift_order), bool)])[order]
    sku = np.concatenate([sku, gift_sku])[order]
    quantity = np.concatenate([quantity, np.ones(len(gift_order), np.int64)])[order]
    unit_price = np.concatenate([unit_price, np.zeros(len(gift_order), np.int64)])[order]
    discount = np.concatenate([discount, np.zeros(len(gift_order), np.int64)])[order]
    offsets = np.concatenate([[0], np.cumsum(np.bincount(line_order, minlength=n))]).astype(np.int64)
    priced = priced_basket(offsets, sku, quantity, unit_price, discount.astype(np.int64), tax_basis_points, abroad)

    for number, promotion in enumerate(promotions, start=1):
        promotion.id = f"{promotion.store}-P{number:03d}"
    book = PromotionBook(promotions, member, order_promotion, order_phase, is_gift, probes)
    _count_calendar_promotions(book, priced, created)
    return priced, order_code, codes, book


def _count_calendar_promotions(book: PromotionBook, basket: Basket, created: np.ndarray) -> None:
    """Realised figures of the promotion days and the welcome code (the planned ones count as they go)."""
    discount_total = basket.discount_total
    units = segment_sums(basket.quantity, basket.line_offsets)
    for index, promotion in enumerate(book.promotions):
        if promotion.origin == "planned":
            continue
        used = book.order_promotion == index
        o0, o1 = _slice(created, promotion.start, promotion.end)
        promotion.realised.update(
            orders=int(used.sum()), units_in_scope=int(units[o0:o1].sum()), discount=int(discount_total[used].sum()),
            gift_units=0, gift_cost=0, baseline_units=None, sibling_baseline_units=0, cannibalised_units=0,
            added_units=0, pulled_forward_units=0)
