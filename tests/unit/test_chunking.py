"""Chunks and the cursor: a slice's end is committed only with the chunk holding its last record."""

from contextlib import nullcontext
from datetime import datetime, timedelta, timezone

import pytest

from tasks.ingest import _chunked, prefetch, slices

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def day(n):
    return T0 + timedelta(days=n)


def run(items, chunk_size):
    commits = []
    _chunked(items, chunk_size, lambda records, cursor: commits.append((list(records), cursor)), lambda _: nullcontext())
    return commits


def test_cursor_waits_for_the_chunk_that_commits_the_slice_s_last_record():
    items = [
        (["a1", "a2"], None), (None, day(1)),           # slice 1: a1 a2
        (["b1", "b2", "b3"], None), (None, day(2)),     # slice 2: b1 b2 b3
        (None, day(3)),                                 # slice 3: empty
        (["d1"], None), (None, day(4)),                 # slice 4: d1
    ]
    assert run(items, chunk_size=3) == [
        (["a1", "a2", "b1"], day(1)),      # slice 1 is whole in this chunk; slice 2 is not
        (["b2", "b3", "d1"], day(3)),      # slices 2 and 3 ended; slice 4 might still have had records
        ([], day(4)),                      # slice 4 ended with nothing uncommitted: cursor alone
    ]


def test_an_empty_window_still_advances_the_cursor_and_a_tail_is_flushed():
    assert run([(None, day(1)), (None, day(2))], chunk_size=10) == [([], day(1)), ([], day(2))]
    assert run([(["x"], None)], chunk_size=10) == [(["x"], None)]


def test_a_failure_in_a_later_chunk_leaves_the_committed_cursor_behind_it():
    items = [(["a1", "a2"], None), (None, day(1)), (["b1", "b2"], None), (None, day(2))]
    committed = []

    def load(records, cursor):
        if "b2" in records:
            raise RuntimeError("database went away")
        committed.append(cursor)

    with pytest.raises(RuntimeError):
        _chunked(items, 2, load, lambda _: nullcontext())
    # a1 a2 filled a chunk before slice 1 ended; its end followed alone. A re-run starts at day 1.
    assert committed == [None, day(1)]


def test_slices_cover_the_window_half_open_without_gaps():
    parts = slices(T0, T0 + timedelta(hours=50), 24)
    assert parts == [(T0, day(1)), (day(1), day(2)), (day(2), T0 + timedelta(hours=50))]


def test_prefetch_yields_in_order_and_passes_on_the_producer_s_error():
    def produce():
        yield 1
        yield 2
        raise ValueError("page 3 broke")

    seen = []
    with pytest.raises(ValueError, match="page 3 broke"):
        for item in prefetch(produce()):
            seen.append(item)
    assert seen == [1, 2]
