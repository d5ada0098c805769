"""Run an iterator in a background thread, a few items ahead of its consumer.

Used for report downloads: socket reads and zlib decompression release the GIL, so receiving and
gunzipping the next blocks overlaps with parsing the current one on another core. The queue is bounded,
so memory stays flat whatever the document size.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import TypeVar

T = TypeVar("T")

_ITEM, _END, _ERROR = range(3)


def prefetch(source: Iterable[T], depth: int = 4, name: str = "prefetch") -> Iterator[T]:
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(msg: tuple) -> bool:
        while not stop.is_set():
            try:
                q.put(msg, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        it = iter(source)
        try:
            for item in it:
                if not put((_ITEM, item)):
                    return
            put((_END, None))
        except BaseException as exc:  # handed to the consumer, re-raised there
            put((_ERROR, exc))
        finally:
            close = getattr(it, "close", None)
            if close:
                close()  # a generator: runs its finally / with-blocks (closes the HTTP response)

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    try:
        while True:
            kind, payload = q.get()
            if kind == _ITEM:
                yield payload
            elif kind == _END:
                return
            else:
                raise payload
    finally:
        stop.set()  # consumer finished or gave up early: let the worker exit
        worker.join(timeout=5)
