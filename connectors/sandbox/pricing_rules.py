"""Our own pricing rules, as the pricing team keeps them: which SKUs are traffic builders, which
have a minimum margin other than the product's default, and which have a member price.

One row per SKU of the catalogue, drawn from the pricing stream (generator.pricing_rng):
- role "traffic" for ~3% of the SKUs, best sellers first (in a random order), else "regular";
- min_margin for ~15% (0.10-0.30; half the traffic SKUs run on 0.05), empty for the rest;
- member_price for ~10%: 6-15% below our list price, rounded down to a price ending in 9 cents,
  except ~15% of them (at least one) only 1-4% below, in exact cents: they break the rule that a
  member price is at least MEMBER_GAP below the list price, for the product to flag.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .catalogue import Catalogue

TRAFFIC_SHARE, MIN_MARGIN_SHARE, MEMBER_SHARE, VIOLATOR_SHARE = 0.03, 0.15, 0.10, 0.15
MEMBER_GAP = 0.05
MIN_MARGINS = np.array([0.10, 0.15, 0.20, 0.25, 0.30])
TRAFFIC_MIN_MARGIN = 0.05
NO_MEMBER_PRICE = -1


@dataclass
class PricingRules:
    traffic: np.ndarray       # (skus,) bool
    min_margin: np.ndarray    # (skus,) float64, NaN = the product's default
    member_price: np.ndarray  # (skus,) int64 cents, NO_MEMBER_PRICE = none
    list_price: np.ndarray    # (skus,) int64 cents, ours (the catalogue's)

    @property
    def member_gap(self) -> np.ndarray:
        """How far below the list price the member price is (NaN where there is none)."""
        has = self.member_price != NO_MEMBER_PRICE
        return np.where(has, 1.0 - self.member_price / np.maximum(self.list_price, 1), np.nan)

    @property
    def violates_member_gap(self) -> np.ndarray:
        has = self.member_price != NO_MEMBER_PRICE
        return has & (self.member_price * 100 > self.list_price * (100 - round(MEMBER_GAP * 100)))


def build_pricing_rules(rng: np.random.Generator, catalogue: Catalogue) -> PricingRules:
    count = catalogue.size
    order = np.lexsort((rng.random(count), ~catalogue.is_best_seller))  # best sellers first, shuffled
    traffic = np.zeros(count, dtype=bool)
    traffic[order[:max(1, round(TRAFFIC_SHARE * count)) if count else 0]] = True

    min_margin = np.where(rng.random(count) < MIN_MARGIN_SHARE, rng.choice(MIN_MARGINS, count), np.nan)
    min_margin = np.where(traffic & (rng.random(count) < 0.5), TRAFFIC_MIN_MARGIN, min_margin)

    list_price = catalogue.list_price.astype(np.int64)
    member = rng.random(count) < MEMBER_SHARE
    violator = member & (rng.random(count) < VIOLATOR_SHARE)
    if member.any() and not violator.any():
        violator[np.flatnonzero(member)[0]] = True
    fair = np.floor((list_price * (1.0 - rng.uniform(0.06, 0.15, count)) - 9) / 10).astype(np.int64) * 10 + 9
    close = np.ceil(list_price * (1.0 - rng.uniform(0.01, 0.04, count))).astype(np.int64)
    member_price = np.where(violator, close, np.where(member, fair, NO_MEMBER_PRICE))
    return PricingRules(traffic, min_margin, member_price, list_price)
