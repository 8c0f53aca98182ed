"""Column types shared by every table: exact money and UTC timestamps on both backends."""

from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pandas as pd
from sqlalchemy import DateTime, Numeric
from sqlalchemy.types import TypeDecorator

# Exact decimal money. PostgreSQL keeps NUMERIC exactly; on SQLite the value round-trips
# exactly at this scale (SQLAlchemy quantizes on read), which covers any real order amount.
MONEY_SCALE = 4
Money = Numeric(18, MONEY_SCALE, asdecimal=True)

# Inside the pipeline, money travels as whole ten-thousandths in int64 (fixed point at the
# warehouse's own scale): exact like Decimal, but vectorised for parsing, checks and COPY.
MONEY_UNIT = 10**MONEY_SCALE
MONEY_LIMIT = 10**14 * MONEY_UNIT  # NUMERIC(18, 4) holds less than 10^14


def units_of(amounts) -> np.ndarray:
    """Amounts in currency units as floats (a SUM or CAST read back) → ten-thousandths in int64."""
    return np.rint(pd.to_numeric(amounts).to_numpy(dtype=np.float64) * MONEY_UNIT).astype(np.int64)


def units(amounts: pd.Series) -> pd.Series:
    """Money read back from the warehouse (Decimal) as ten-thousandths, to compare with frames."""
    return amounts.map(lambda d: int(d.scaleb(MONEY_SCALE)) if d is not None else None, na_action="ignore").astype("Int64")


def money_text(units: pd.Series) -> pd.Series:
    """Exact decimal text of money in ten-thousandths (`125000` → `"12.5000"`); missing stays missing."""
    present = units.notna().to_numpy().tolist()
    values = units.to_numpy(dtype=np.int64, na_value=0).tolist()
    text = [(f"-{-v // MONEY_UNIT}.{-v % MONEY_UNIT:04d}" if v < 0 else f"{v // MONEY_UNIT}.{v % MONEY_UNIT:04d}")
            if ok else None for v, ok in zip(values, present)]
    return pd.Series(text, index=units.index, dtype=object)


class UtcDateTime(TypeDecorator):
    """A timestamp that is always UTC: timestamptz on PostgreSQL, naive-UTC text on SQLite.

    Naive datetimes are refused on the way in, so a local time can never be stored by mistake.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: the warehouse stores UTC only")
        value = value.astimezone(timezone.utc)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect):
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)
