"""Small helpers shared by the storage modules: time, day strings, idempotent indexes, server capabilities,
batching."""

from __future__ import annotations

import logging
import re
import threading
import weakref
from collections.abc import Iterable, Iterator
from datetime import UTC, date, datetime
from typing import Any

from pymongo import MongoClient
from pymongo.collection import Collection

log = logging.getLogger(__name__)

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
        known = (
            bool(hello.get("setName") or hello.get("msg") == "isdbgrid")
            and hello.get("logicalSessionTimeoutMinutes") is not None
        )
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
