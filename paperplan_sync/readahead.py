"""Iterate a source on a worker thread, a few items ahead of its consumer.

For a producer that is Python CPU work or I/O (downloading, gunzipping, parsing, building documents)
feeding a consumer that mostly waits on a socket or does other CPU work: socket reads, zlib and MongoDB
round trips release the GIL, so the two overlap on two cores. The queue is bounded, so memory stays flat
whatever the size of the stream.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Iterable, Iterator
from typing import Generic, Self, TypeVar

T = TypeVar("T")


def close_iterator(it: Iterator) -> None:
    """Close ``it`` if it is a generator: it runs its ``finally`` blocks now (e.g. closes an HTTP response)
    instead of whenever it is garbage-collected. Plain iterators have nothing to close."""
    close = getattr(it, "close", None)
    if close:
        close()


def read_ahead(source: Iterable[T], depth: int = 4, name: str = "read-ahead") -> Iterator[T]:
    """``source``'s items, produced on a worker thread; stopping early (or closing this generator) stops it."""
    with ReadAhead(source, depth, name) as ahead:
        yield from ahead


class ReadAhead(Generic[T]):
    """Iterate ``source`` on a worker thread, at most ``depth`` items ahead of the consumer.

    An exception of the source is re-raised in the consumer; ``close()`` (or leaving the ``with`` block)
    stops the worker and closes the source on its own thread.
    """

    _ITEM, _END, _ERROR = range(3)

    def __init__(self, source: Iterable[T], depth: int = 2, name: str = "read-ahead"):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._worker = threading.Thread(target=self._run, args=(source,), name=name, daemon=True)
        self._worker.start()

    def _put(self, message: tuple) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(message, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def _run(self, source: Iterable[T]) -> None:
        it = iter(source)
        try:
            for item in it:
                if not self._put((self._ITEM, item)):
                    return
            self._put((self._END, None))
        except BaseException as exc:  # handed to the consumer, re-raised there
            self._put((self._ERROR, exc))
        finally:
            close_iterator(it)

    def __iter__(self) -> Iterator[T]:
        while True:
            kind, payload = self._queue.get()
            if kind == self._ITEM:
                yield payload
            elif kind == self._END:
                return
            else:
                raise payload

    def close(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._worker.join(timeout)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
