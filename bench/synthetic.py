"""Small conversions the benchmarks' data generators share: frames shaped the way the pipeline
writes them (UTC timestamps, money as integer ten-thousandths, dates as `YYYY-MM-DD`)."""

from __future__ import annotations

from datetime import date, datetime, time, timezone

import numpy as np
import pandas as pd


def utc(seconds) -> pd.Series:
    return pd.Series(pd.to_datetime(np.asarray(seconds), unit="s", utc=True))


def epoch(day: date) -> int:
    return int(datetime.combine(day, time(0), tzinfo=timezone.utc).timestamp())


def day_text(first: date, offsets) -> np.ndarray:
    return np.datetime_as_string(np.datetime64(first, "D") + np.asarray(offsets).astype("timedelta64[D]"),
                                 unit="D").astype(object)


def money(cents) -> np.ndarray:
    return np.asarray(cents, dtype=np.int64) * 100  # ten-thousandths
