"""Chunks and the cursor: a slice's end is committed only with the chunk holding its last record."""

from contextlib import nullcontext
from datetime import datetime, timedelta, timezone

import pytest

from tasks.ingest import _chunked, _normalized_batches, prefetch, slices

T0 = datetime(2026, 11, 1, tzinfo=timezone.utc)


def day(n):
    return T0 + timedelta(days=n)


def run(items, chunk_size):
    """Batches are lists of record names; returns what each commit got: (records, cursor)."""
    commits = []
    _chunked(items, chunk_size, lambda batches, cursor: commits.append(([r for b in batches for r in b], cursor)),
             lambda _: nullcontext())
    return commits


def test_a_chunk_carries_the_end_of_the_last_slice_it_holds_whole():
    items = [
        (["a1", "a2"], None), (None, day(1)),           # slice 1: a1 a2
        (["b1", "b2"], None),                           # slice 2 begins; the chunk is full
        (["b3"], None), (None, day(2)),                 # slice 2 ends
        (None, day(3)),                                 # slice 3: empty
        (["d1"], None), (None, day(4)),                 # slice 4: d1
    ]
    assert run(items, chunk_size=4) == [
        (["a1", "a2", "b1", "b2"], day(1)),   # slice 1 is whole in this chunk; slice 2 is not
        (["b3", "d1"], day(4)),               # slices 2, 3 and 4 ended inside the last chunk
    ]


def test_a_slice_ending_with_nothing_uncommitted_moves_the_cursor_alone():
    items = [(["a1", "a2"], None), (None, day(1)), (None, day(2)), (["c1"], None)]
    assert run(items, chunk_size=2) == [
        (["a1", "a2"], None),   # full before slice 1 was known to be whole
        ([], day(1)),           # then nothing was left uncommitted
        ([], day(2)),
        (["c1"], None),         # the tail: its slice never ended (the run stopped), so no cursor
    ]
    assert run([(None, day(1)), (None, day(2))], chunk_size=10) == [([], day(1)), ([], day(2))]


def test_a_failure_in_a_later_chunk_leaves_the_committed_cursor_behind_it():
    items = [(["a1", "a2"], None), (None, day(1)), (["b1", "b2"], None), (None, day(2))]
    committed = []

    def load(batches, cursor):
        if any("b2" in b for b in batches):
            raise RuntimeError("database went away")
        committed.append(cursor)

    with pytest.raises(RuntimeError):
        _chunked(items, 2, load, lambda _: nullcontext())
    assert committed == [None, day(1)]  # a re-run starts at day 1: b1 and b2 are fetched again


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


class PagedConnector:
    """Pages of record names per slice, as a connector would return them."""

    def __init__(self, pages_by_slice):
        self.pages_by_slice = pages_by_slice

    def order_pages(self, low, high):
        yield from self.pages_by_slice[(low, high)]


def test_batches_span_slices_and_say_which_slices_they_complete():
    parts = [(day(0), day(1)), (day(1), day(2)), (day(2), day(3)), (day(3), day(4))]
    connector = PagedConnector({
        parts[0]: [["a1", "a2"], ["a3"]],
        parts[1]: [["b1", "b2"]],         # batch full mid-slice 2: slice 1 is whole in it
        parts[2]: [],                     # empty slice, nothing pending: its end is complete at once
        parts[3]: [["d1"]],
    })
    got = list(_normalized_batches(connector, parts, list, batch_size=4))
    assert got == [
        (["a1", "a2", "a3", "b1", "b2"], day(1)),
        (None, day(2)),   # slice 2 ended exactly after a batch: nothing of it is pending
        (None, day(3)),
        (["d1"], day(4)),
    ]
    # Through _chunked every record is committed once and the cursor ends at the window's end.
    assert run(got, chunk_size=4) == [(["a1", "a2", "a3", "b1", "b2"], day(1)), ([], day(2)), ([], day(3)),
                                      (["d1"], day(4))]
