"""Small helpers shared by the storage modules: time, day strings, idempotent indexes, server capabilities,
batching and reading ahead on a worker thread."""

from __future__ import annotations

import logging
import queue
import re
import threading
import weakref
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any, Generic, Self, TypeVar

from pymongo import MongoClient
from pymongo.collection import Collection

log = logging.getLogger(__name__)

T = TypeVar("T")

_capabilities: weakref.WeakKeyDictionary[MongoClient, bool] = weakref.WeakKeyDictionary()
_lock = threading.Lock()


def utcnow() -> datetime:
    return datetime.now(UTC)


def day_str(day: date | datetime | str) -> str:
    """``YYYY-MM-DD``. Accepts a date, a datetime (its date) or an already formatted string."""
    if isinstance(day, datetime):
        day = day.date()
    if isinstance(day, date):
        return day.isoformat()
    if isinstance(day, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", day):
        date.fromisoformat(day)  # rejects 2026-02-30
        return day
    raise ValueError(f"not a day: {day!r} (want a date or 'YYYY-MM-DD')")


def ensure_index(coll: Collection, keys: list[tuple[str, int]], name: str, **options: Any) -> None:
    """Create the index unless one with that name exists.

    Checking first keeps first use cheap and avoids queueing a createIndexes (a DDL that waits for the
    collection's in-progress transactions) behind a long-running load in another process.
    """
    if name not in coll.index_information():
        coll.create_index(keys, name=name, **options)


def supports_transactions(client: MongoClient) -> bool:
    """Multi-document transactions need a replica set or a sharded cluster (mongos), not a standalone."""
    with _lock:
        known = _capabilities.get(client)
    if known is None:
        hello = client.admin.command("hello")
        known = bool(hello.get("setName") or hello.get("msg") == "isdbgrid") and \
            hello.get("logicalSessionTimeoutMinutes") is not None
        with _lock:
            _capabilities[client] = known
    return known


def batched(items: Iterable[Any], size: int) -> Iterator[list[Any]]:
    batch: list[Any] = []
    for item in items:
        batch.append(item)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


class ReadAhead(Generic[T]):
    """Iterate ``source`` on a worker thread, at most ``depth`` items ahead of the consumer.

    For a producer that is CPU work in Python (download + parse + building documents) feeding a consumer
    that mostly waits on a socket (MongoDB inserts, which release the GIL): the two overlap. The queue is
    bounded, so memory stays flat. An exception of the source is re-raised in the consumer; ``close()``
    (or leaving the ``with`` block) stops the worker and closes the source on its own thread.
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
            close = getattr(it, "close", None)
            if close:
                close()  # a generator: runs its finally blocks (e.g. closes an HTTP response)

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
