"""The market per SKU and business date, from the competitors' observations, and our place in it.

Only valid prices count: an observation with status `ok`, the latest per SKU and competitor
within `max_age_days` before the date (a competitor not crawled today still counts with
yesterday's price; older ones say nothing about today). Out-of-stock pages, scrape errors and
blocked pages never enter an average. Prices in another currency are converted with `fx`
(units of ours per unit of theirs); without a rate they are left out, and counted as such.

    market average, minimum, maximum   over the valid competitor prices
    price index                        our price / market average × 100 (100: at the market)
"""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Connection, and_, func, select

from warehouse.io import read_large_frame
from warehouse.models import CompetitorPrice

OBSERVATION_COLUMNS = ["sku", "competitor", "observed_on", "status", "price", "currency", "detail"]


def latest_observations(conn: Connection, as_of: date, max_age_days: int) -> pd.DataFrame:
    """Per SKU and competitor, its latest observation on a day in (as_of − max_age_days, as_of]."""
    obs = CompetitorPrice
    window = and_(obs.observed_on <= as_of, obs.observed_on > as_of - timedelta(days=max_age_days))
    latest = select(obs.sku, obs.competitor, func.max(obs.observed_on).label("day")).where(window).group_by(
        obs.sku, obs.competitor).subquery()
    frame = read_large_frame(conn, select(
        obs.sku, obs.competitor, obs.observed_on, obs.status, obs.price, obs.currency, obs.detail,
    ).join(latest, and_(latest.c.sku == obs.sku, latest.c.competitor == obs.competitor,
                        latest.c.day == obs.observed_on)), dates=["observed_on"])
    frame["price"] = pd.to_numeric(frame["price"], errors="coerce").astype(float)  # Decimal or text → float
    return frame


def observations_on(conn: Connection, day: date) -> pd.DataFrame:
    """Every observation made on `day` (one per SKU and competitor)."""
    obs = CompetitorPrice
    frame = read_large_frame(conn, select(*(getattr(obs, c) for c in OBSERVATION_COLUMNS)).where(
        obs.observed_on == day), dates=["observed_on"])
    frame["price"] = pd.to_numeric(frame["price"], errors="coerce").astype(float)
    return frame


def in_our_currency(observations: pd.DataFrame, currency: str | None, fx: dict[str, float]) -> pd.Series:
    """Each observation's price in our currency; NaN where it is not a valid price or has no rate."""
    rates = {code.upper(): rate for code, rate in fx.items()}
    if currency:
        rates[currency.upper()] = 1.0
    rate = observations["currency"].str.upper().map(rates) if currency else pd.Series(1.0, index=observations.index)
    valid = (observations["status"] == "ok") & observations["price"].gt(0)
    return (observations["price"] * rate).where(valid)


def market(observations: pd.DataFrame, our: pd.DataFrame, currency: str | None, fx: dict[str, float]) -> pd.DataFrame:
    """One row per SKU of `our` (index sku, column list_price): the market and our price index."""
    prices = observations.assign(converted=in_our_currency(observations, currency, fx))
    valid = prices[prices["converted"].notna()]
    grouped = valid.groupby("sku")["converted"]
    stats = pd.DataFrame({"competitors": grouped.size(), "market_average": grouped.mean(),
                          "market_minimum": grouped.min(), "market_maximum": grouped.max()})
    cheapest = valid.sort_values(["sku", "converted", "competitor"]).drop_duplicates("sku").set_index("sku")["competitor"]
    out = pd.DataFrame(index=our.index.rename("sku"))
    out = out.join(stats).join(cheapest.rename("cheapest_competitor"))
    out["competitors"] = out["competitors"].fillna(0).astype(np.int64)
    out["our_price"] = pd.to_numeric(our["list_price"], errors="coerce").astype(float)
    with np.errstate(divide="ignore", invalid="ignore"):
        out["price_index"] = 100 * out["our_price"] / out["market_average"]
    out["currency"] = currency
    return out.reset_index()
