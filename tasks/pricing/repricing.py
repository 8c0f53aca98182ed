"""From our price, our cost and the market to a recommended price, per SKU, vectorised (SPEC §4
"Price monitoring").

    cost floor      = unit cost × (1 + minimum margin)           never crossed, whatever else says
    traffic SKUs    : keep the price between 5% and 3% below the market average (the band); a price
                      in the band stays, one above it comes down to the band's top, one below it
                      goes up to the band's bottom (the smallest move that lands in the band)
    regular SKUs    : the band runs from the cost floor to unit cost × (1 + maximum markup); a
                      price outside it is flagged and brought to its nearest edge
    daily limit     : no recommendation moves the price by more than `max_daily_change` in a day,
                      except to get back above the cost floor
    member price    : at least `member_gap` below the recommended regular price (not below the floor)

When the floor binds — the band lies (partly) below it — the recommendation is the floor and the
row says so (`bound_by` "cost floor"), instead of quietly pricing there. Every row names its
rule, the limit that bound it and the reason in a sentence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

TRAFFIC, REGULAR = "traffic", "regular"


@dataclass(frozen=True)
class RepricingSettings:
    traffic_gap_min: float = 0.03      # traffic SKUs sit at least this far below the market average ...
    traffic_gap_max: float = 0.05      # ... and at most this far
    min_margin: float = 0.10           # default margin over cost of the floor
    max_markup: float = 2.0            # regular band's top: cost × (1 + this)
    max_daily_change: float = 0.10     # largest move a recommendation makes in a day
    member_gap: float = 0.05           # member price at least this far below the regular price
    min_competitors: int = 1           # valid competitor prices needed to price against the market


def recommend(frame: pd.DataFrame, settings: RepricingSettings) -> pd.DataFrame:
    """`frame`: one row per SKU with role, our_price, unit_cost, min_margin (NaN: the default),
    market_average, competitors, member_price (NaN: none). Returns the recommendation columns."""
    price = frame["our_price"].to_numpy(float)
    cost = frame["unit_cost"].to_numpy(float)
    margin = frame["min_margin"].fillna(settings.min_margin).to_numpy(float)
    market = frame["market_average"].to_numpy(float)
    traffic = (frame["role"] == TRAFFIC).to_numpy()
    has_market = (frame["competitors"].to_numpy() >= settings.min_competitors) & np.isfinite(market)
    has_cost = np.isfinite(cost) & (cost > 0)
    has_price = np.isfinite(price) & (price > 0)

    floor = np.where(has_cost, _cents_up(cost * (1 + margin)), np.nan)
    band_low = np.where(traffic, market * (1 - settings.traffic_gap_max), floor)
    band_high = np.where(traffic, market * (1 - settings.traffic_gap_min), cost * (1 + settings.max_markup))
    priceable = has_price & has_cost & (~traffic | has_market)  # no floor without a cost: no move
    wanted = np.where(priceable, np.clip(price, band_low, band_high), price)
    out_of_band = priceable & ((price < band_low - 0.005) | (price > band_high + 0.005))

    # The daily limit, then the floor, which nothing may cross.
    limit = price * settings.max_daily_change
    limited = np.clip(wanted, price - limit, price + limit)
    capped = priceable & (np.abs(limited - wanted) > 0.005)
    at_floor = has_cost & (limited < floor)
    # Whole cents: a band edge rounds into the band, a daily limit toward today's price (so rounding
    # never stretches it), the floor up; and nothing below the floor.
    into_band = np.where(limited >= band_high - 1e-9, _cents_down(limited),
                         np.where(limited <= band_low + 1e-9, _cents_up(limited), np.round(limited, 2)))
    toward_today = np.where(limited < price, _cents_up(limited), _cents_down(limited))
    rounded = np.where(capped, toward_today, into_band)
    rounded = np.where(at_floor | (np.isfinite(floor) & (rounded < floor)), floor, rounded)
    recommended = np.where(priceable | (has_price & has_cost & (price < floor)), rounded, price)
    recommended = np.where(has_price, recommended, np.nan)
    floor_binds = at_floor & priceable & (wanted < floor)
    below_floor_now = has_price & has_cost & (price < floor)

    bound_by = np.select(
        [~has_price, below_floor_now | floor_binds, ~has_cost, traffic & ~has_market, capped],
        ["no price", "cost floor", "no cost", "no market", "max daily change"], "none").astype(object)
    change = np.where(has_price, (recommended - price) / np.where(has_price, price, 1.0), np.nan)
    action = np.select([bound_by == "no price", np.isnan(recommended), change > 0.00005, change < -0.00005],
                       ["review", "review", "raise", "lower"], "keep").astype(object)
    action = np.where(np.isin(bound_by, ["no market", "no cost"]) & (action == "keep"), "review", action)

    gap_low = 100 * settings.traffic_gap_min
    gap_high = 100 * settings.traffic_gap_max
    rule = np.where(traffic, f"traffic: {gap_low:g}-{gap_high:g}% below the market average",
                    f"regular: between the cost floor and cost × {1 + settings.max_markup:g}").astype(object)
    reason = _reasons(bound_by, action, floor, band_low, band_high, market, recommended, traffic, out_of_band,
                      frame["competitors"].to_numpy())
    member, member_recommended, member_note = _member(frame["member_price"].to_numpy(float), recommended, floor,
                                                      settings.member_gap)
    return pd.DataFrame({
        "sku": frame["sku"].to_numpy(),
        "role": np.where(traffic, TRAFFIC, REGULAR).astype(object),
        "rule": rule,
        "our_price": price,
        "unit_cost": cost,
        "min_margin": margin,
        "floor_price": floor,
        "market_average": market,
        "competitors": frame["competitors"].to_numpy(dtype=np.int64),
        "band_low": np.where(priceable, band_low, np.nan),
        "band_high": np.where(priceable, band_high, np.nan),
        "recommended_price": recommended,
        "change_percent": 100 * change,
        "action": action,
        "bound_by": bound_by,
        "out_of_band": out_of_band,
        "reason": reason,
        "member_price": member,
        "member_recommended": member_recommended,
        "member_note": member_note,
    })


def _reasons(bound_by, action, floor, band_low, band_high, market, recommended, traffic, out_of_band, competitors):
    """One sentence per row, vectorised (numbers formatted column by column)."""
    money = {name: np.char.mod("%.2f", np.nan_to_num(values)) for name, values in
             (("floor", floor), ("low", band_low), ("high", band_high), ("market", market), ("new", recommended))}

    def join(*parts):
        out = np.asarray(parts[0], dtype=str)
        for part in parts[1:]:
            out = np.char.add(out, part)
        return out

    band = join("the band ", money["low"], "-", money["high"])
    unreachable = traffic & np.isfinite(band_high) & (band_high < floor)
    texts = np.select(
        [bound_by == "no price", bound_by == "no market", bound_by == "no cost",
         (bound_by == "cost floor") & unreachable, bound_by == "cost floor", bound_by == "max daily change",
         out_of_band],
        ["our price is not known: nothing to compare",
         join("no valid competitor price today (", np.asarray(competitors).astype(str), " seen): nothing to price against"),
         "the unit cost is not known: no floor, so no recommendation",
         join(band, " (market ", money["market"], ") lies below the cost floor ", money["floor"],
              ": held at the floor, the band cannot be reached"),
         join("held at the cost floor ", money["floor"]),
         join(band, "; moved to ", money["new"], " today, the most a day allows"),
         join("outside ", band)],
        "")
    return texts.astype(object)


def _member(member, recommended, floor, gap):
    """The member price must stay `gap` below the regular price, and never below the floor."""
    has = np.isfinite(member)
    ceiling = _cents_down(recommended * (1 - gap))
    ok = has & (member <= ceiling + 1e-9)
    target = np.where(np.isfinite(floor), np.maximum(ceiling, floor), ceiling)
    member_recommended = np.where(~has, np.nan, np.where(ok, member, target))
    note = np.where(~has, "", np.where(ok, "keeps its gap",
                                       f"less than {100 * gap:g}% below the recommended price")).astype(object)
    squeezed = has & ~ok & np.isfinite(floor) & (ceiling < floor)
    note = np.where(squeezed, "the gap would cross the cost floor: held at the floor", note).astype(object)
    return member, member_recommended, note


def _cents_up(values):
    return np.ceil(np.round(values * 100, 6)) / 100


def _cents_down(values):
    return np.floor(np.round(values * 100, 6)) / 100
