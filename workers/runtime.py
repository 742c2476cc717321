"""Process-level tuning shared by the API server and the worker."""

from __future__ import annotations

import gc

# Collect the youngest generation after this many net allocations instead of CPython's 700.
GC_THRESHOLD = 50_000


def tune_gc() -> None:
    """A page of a few hundred results allocates tens of thousands of short-lived containers:
    at CPython's default threshold the cyclic collector ran about eight times per such request
    and took a fifth of its CPU (bench/README.md, "Garbage collection"). The objects alive once
    started (the schema, the ORM's metadata) are frozen out of every later collection."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_THRESHOLD, 50, 100)
