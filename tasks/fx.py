"""Dated exchange rates into the reporting currency, and conversion with them.

The rates sheet (CSV) has `date,currency,rate`: one unit of `currency` is `rate` units of the
reporting currency (SHOPOPS_REPORTING_CURRENCY) on that date, as a central bank publishes them.
Good rows are loaded (a date and currency given again replaces the rate); bad rows are reported
with their line and change nothing. A day without a rate (weekends, holidays) takes the last
earlier one; a currency with no rate on or before a day is an error that names both, never a guess.
Amounts keep their own currency in the warehouse; conversion happens when reading.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from decimal import Decimal, InvalidOperation
from pathlib import Path

import pandas as pd
from sqlalchemy import Engine, select

from tasks.sheets import dates, failing_rows, read_sheet
from warehouse.engine import write_transaction
from warehouse.io import read_frame, upsert_frame
from warehouse.models import FxRate

COLUMNS = ["date", "currency", "rate"]
CENT = Decimal("0.0001")  # the warehouse's money scale


class MissingRate(LookupError):
    pass


@dataclass
class FxImport:
    loaded: int = 0
    problems: list[str] = field(default_factory=list)


def import_fx_rates(engine: Engine, path: Path) -> FxImport:
    frame = read_sheet(path, COLUMNS, COLUMNS)
    day = dates(frame, ["date"])["date"]
    rate = frame["rate"].map(_decimal)
    bad, problems = failing_rows(frame, [
        (day.isna(), "date must be YYYY-MM-DD"),
        (~frame["currency"].str.fullmatch(r"[A-Z]{3}"), "currency must be a three-letter ISO code"),
        (~rate.map(lambda r: r is not None and r > 0), "rate must be a positive number"),
        (frame.duplicated(["date", "currency"], keep=False), "the date and currency appear more than once"),
    ], key="currency")
    good = ~bad
    rows = pd.DataFrame({"day": day[good].dt.date, "currency": frame.loc[good, "currency"], "rate": rate[good],
                         "source": Path(path).name[:255], "loaded_at": pd.Timestamp(datetime.now(timezone.utc))})
    with write_transaction(engine) as conn:
        upsert_frame(conn, "fx_rates", rows, ["day", "currency"], ["rate", "source", "loaded_at"])
    return FxImport(loaded=int(good.sum()), problems=problems)


def to_reporting(frame: pd.DataFrame, amounts: list[str], engine: Engine, reporting: str) -> pd.DataFrame:
    """`frame` (with `day` and `currency`) plus `rate` and `<amount>_<reporting>` for each amount:
    exact, rounded half-even to the money scale. Raises MissingRate naming a currency and a day."""
    out = frame.copy()
    if out.empty:
        for name in ["rate"] + [f"{a}_{reporting.lower()}" for a in amounts]:
            out[name] = pd.Series(dtype=object)
        return out
    foreign = sorted(set(out["currency"]) - {reporting})
    with engine.connect() as conn:
        rates = read_frame(conn, select(FxRate.day, FxRate.currency, FxRate.rate).where(
            FxRate.currency.in_(foreign), FxRate.day <= max(out["day"])))
    out["rate"] = _rates_on(out, rates, reporting)
    for name in amounts:
        out[f"{name}_{reporting.lower()}"] = [(Decimal(v) * r).quantize(CENT) for v, r in zip(out[name], out["rate"])]
    return out


def _rates_on(frame: pd.DataFrame, rates: pd.DataFrame, reporting: str) -> pd.Series:
    """Each row's rate: its day's, or the last earlier day's (one as-of join, not a search per row)."""
    left = pd.DataFrame({"at": pd.to_datetime(frame["day"]), "currency": frame["currency"].astype(object),
                         "row": frame.index})
    right = pd.DataFrame({"at": pd.to_datetime(rates["day"]), "currency": rates["currency"].astype(object),
                          "rate": rates["rate"]})
    joined = pd.merge_asof(left.sort_values("at"), right.sort_values("at"), on="at", by="currency",
                           direction="backward").set_index("row").reindex(frame.index)
    own = (joined["currency"] == reporting).to_numpy()
    missing = joined["rate"].isna().to_numpy() & ~own
    if missing.any():
        first = joined[missing].sort_values("at").iloc[0]
        raise MissingRate(f"no {first['currency']} → {reporting} rate on or before {first['at']:%Y-%m-%d}; "
                          "load one with `shopops fx import`")
    return pd.Series([Decimal(1) if is_own else Decimal(rate) for is_own, rate in zip(own, joined["rate"])],
                     index=frame.index, dtype=object)


def _decimal(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None
