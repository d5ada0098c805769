"""The cyclic garbage collector paused while a batch of rows is built (see ``gc_paused_steps``)."""

from __future__ import annotations

import gc
import threading
from collections.abc import Iterator
from typing import Any, TypeVar

from paperplan_sync.readahead import close_iterator

T = TypeVar("T")


class _GCPause:
    """Pauses CPython's cyclic garbage collector; nestable and shared by threads (the collector is global):
    it is switched back on when the last pauser leaves, and only if it was on when the first one came (so a
    ``gc.disable()`` made elsewhere *during* a pause is undone at its end)."""

    lock = threading.Lock()
    depth = 0
    was_enabled = False

    @classmethod
    def enter(cls) -> None:
        with cls.lock:
            if cls.depth == 0:
                cls.was_enabled = gc.isenabled()
                gc.disable()
            cls.depth += 1

    @classmethod
    def leave(cls) -> None:
        with cls.lock:
            cls.depth -= 1
            if cls.depth == 0 and cls.was_enabled:
                gc.enable()


def gc_paused_steps(steps: Iterator[T]) -> Iterator[T]:
    """Run each step of ``steps`` with the cyclic GC paused; whoever consumes the items runs with it on.

    Why: every row is a fresh list (lists, unlike dicts of strings, are GC-tracked), and a batch holds
    thousands of them while it fills, so the collector would run every 700 rows, find them all alive and
    promote them to older generations, which then triggers full collections of the whole heap (~35 % of the
    parse time, measured). Paused while a batch is built, the collector usually finds nothing new to look
    at: the consumer frees the previous batch as it takes the next one. Rows hold only strings (no cycles
    to miss); cyclic garbage other threads make meanwhile waits for the end of the pause, which lasts one
    batch: parsing it and waiting for its bytes (~150 KB compressed per 5,000 rows). The wait must be inside
    the pause: a collection while a batch is half built is the very cost avoided. Likewise no container may
    be allocated between ``leave`` and the ``yield``, hence no ``with`` block here (a context manager's exit
    raises, and so allocates, a StopIteration)."""
    done: Any = object()  # the end marker: typed Any so that `item` keeps T
    try:
        while True:
            _GCPause.enter()
            try:
                item = next(steps, done)
            finally:
                _GCPause.leave()
            if item is done:
                return
            yield item
    finally:
        close_iterator(steps)  # an abandoned stream: the parser generator unwinds now, not at its GC
