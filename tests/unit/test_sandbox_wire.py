"""The sandbox's small building blocks: money and time rendering, cursors, the leaky bucket."""

from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from connectors.sandbox.cursor import InvalidCursor, decode_cursor, encode_cursor
from connectors.sandbox.ratelimit import LeakyBucket
from connectors.sandbox.timezones import parse_timestamp, zone_table
from connectors.sandbox.wire import NEVER, iso_naive, iso_with_offset, money, money_list

ZONES = ["America/New_York", "Europe/Berlin", "Europe/Paris", "UTC"]
INSTANTS = st.integers(min_value=0, max_value=int(datetime(2060, 1, 1, tzinfo=timezone.utc).timestamp()))


@given(st.lists(st.integers(min_value=-10**13, max_value=10**13), max_size=50))
def test_money_is_exact_two_decimal_text(cents):
    expected = [f"{Decimal(c) / 100:.2f}" for c in cents]
    assert money_list(np.array(cents, dtype=np.int64)) == expected
    assert [money(c) for c in cents] == expected


@given(st.lists(INSTANTS, min_size=1, max_size=30), st.sampled_from(ZONES))
def test_timestamps_match_zoneinfo_at_every_instant(instants, zone_name):
    zone = ZoneInfo(zone_name)
    with_offset = iso_with_offset(np.array(instants), zone_table(zone_name))
    naive = iso_naive(np.array(instants), zone_table(zone_name))
    for instant, text, wall in zip(instants, with_offset, naive):
        local = datetime.fromtimestamp(instant, zone)
        assert text == local.isoformat()
        assert wall == local.replace(tzinfo=None).isoformat()
        assert parse_timestamp(text, timezone.utc) == instant


def test_never_renders_as_null():
    assert iso_with_offset(np.array([NEVER, 0]), zone_table("UTC")) == [None, "1970-01-01T00:00:00+00:00"]
    assert iso_naive(np.array([NEVER]), None) == [None]


def test_naive_timestamps_are_read_in_the_given_zone_offsets_win():
    new_york = ZoneInfo("America/New_York")
    assert parse_timestamp("2026-11-01T01:30:00-05:00", new_york) == parse_timestamp("2026-11-01T06:30:00Z", new_york)
    assert parse_timestamp("2026-07-01T12:00:00", new_york) == datetime(2026, 7, 1, 16, tzinfo=timezone.utc).timestamp()
    with pytest.raises(ValueError):
        parse_timestamp("yesterday", new_york)


def test_cursors_round_trip_and_refuse_forgery():
    key = b"k" * 32
    token = encode_cursor({"key": [1, 2, 0], "direction": "next"}, key)
    assert decode_cursor(token, key) == {"key": [1, 2, 0], "direction": "next"}
    for forged in (token[:-1] + ("A" if token[-1] != "A" else "B"), "", "!!!", token + "x"):
        with pytest.raises(InvalidCursor):
            decode_cursor(forged, key)
    with pytest.raises(InvalidCursor):
        decode_cursor(token, b"other key")


def test_leaky_bucket_fills_refuses_and_drains():
    now = [0.0]
    bucket = LeakyBucket(capacity=40, leak_per_second=2.0, timer=lambda: now[0])
    assert [bucket.try_call() for _ in range(40)][-1] == (True, 40)
    assert bucket.try_call() == (False, 40)
    now[0] += 0.5  # one call has leaked out
    assert bucket.try_call() == (True, 40)
    now[0] += 10.0
    assert bucket.level() == 20 and bucket.try_call() == (True, 21)
