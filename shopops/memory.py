"""Memory of long runs: hand freed pages back to the system, and keep Python's cyclic collector from
walking long-lived objects many times a page."""

from __future__ import annotations

import ctypes
import gc

import pyarrow as pa

_gc_tuned = False
try:
    _malloc_trim = ctypes.CDLL("libc.so.6").malloc_trim
except (OSError, AttributeError):  # not glibc
    _malloc_trim = None


def release_memory() -> None:
    """After a committed chunk: collect its cyclic garbage now (only young objects are scanned,
    see tune_garbage_collector), then hand freed pages back to the system: glibc otherwise keeps
    them in its per-thread arenas, and the next chunk on another thread does not reuse them. Arrow
    (pandas' text columns) keeps freed pages in its own allocator, asked the same."""
    gc.collect()
    if _malloc_trim is not None:
        _malloc_trim(0)
    pa.default_memory_pool().release_unused()


def tune_garbage_collector() -> None:
    """Parsing pages makes ~10,000 containers each; with the default thresholds Python's cyclic
    collector then walks every long-lived object (GE, pandas, the chunk) many times a page and
    JSON parsing gets ~3x slower. Freeze what exists at start-up and collect young objects less
    often; each committed chunk then triggers one collection, so memory stays bounded by the
    chunk. Once per process."""
    global _gc_tuned
    if not _gc_tuned:
        gc.collect()
        gc.freeze()
        gc.set_threshold(50_000, 20, 100)
        _gc_tuned = True
