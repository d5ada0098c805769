"""A durable outbox for Airtable writes: enqueue in MongoDB, flush when Airtable answers.

What the flusher (control_plane/writer.py) relies on: ``enqueue`` returns once MongoDB acknowledged the
entry; ``pending()`` returns due entries in enqueue order (``seq``, the enqueue time in nanoseconds);
``enqueue(..., key=k)`` supersedes older pending entries of the same (kind, key), so a keyed payload must be
complete on its own; entries are never edited in place. A failed attempt backs its entry off (30 s doubling
up to 1 h) without holding back later entries. Nothing is dropped for failing: the writer sets an entry
Airtable keeps refusing aside (``set_aside``), where ``dead_letters`` lists it.

Design notes: docs/design/airtable-writes.md.
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.database import Database
from pymongo.errors import DuplicateKeyError

from paperplan_sync import settings
from paperplan_sync.storage.common import ensure_index, utcnow

OUTBOX = "outbox"
PENDING, DONE, SUPERSEDED, DEAD = "pending", "done", "superseded", "dead"
MAX_REFUSALS = settings.OUTBOX_MAX_REFUSALS  # refusals before a write is set aside

SEQ_TIE_RETRIES = 5  # two processes taking the same nanosecond is already rare; five in a row never happens
BACKOFF_BASE = timedelta(seconds=30)  # Airtable's own penalty after a 429 is 30 s
BACKOFF_MAX = timedelta(hours=1)
DONE_TTL = timedelta(days=30)


def ensure_indexes(db: Database) -> None:
    ensure_index(db[OUTBOX], [("seq", 1)], "seq", unique=True)
    ensure_index(db[OUTBOX], [("status", 1), ("seq", 1)], "status_seq")
    ensure_index(db[OUTBOX], [("kind", 1), ("key", 1), ("status", 1), ("seq", 1)], "kind_key_status_seq")
    ensure_index(db[OUTBOX], [("done_at", 1)], "done_ttl", expireAfterSeconds=int(DONE_TTL.total_seconds()))


class _Sequence:
    """Enqueue order without a shared counter: ``time.time_ns()``, bumped to stay strictly increasing here."""

    def __init__(self) -> None:
        self._last = 0
        self._lock = threading.Lock()  # writers in several threads of one process

    def next(self) -> int:
        with self._lock:
            self._last = max(time.time_ns(), self._last + 1)
            return self._last


_sequence = _Sequence()


def enqueue(db: Database, kind: str, payload: dict[str, Any], key: str | None = None) -> str:
    """Store one write to do; returns its id. With ``key``, older pending (kind, key) entries are superseded."""
    now = utcnow()
    entry = {
        "_id": ObjectId(),
        "kind": kind,
        "key": key,
        "payload": payload,
        "status": PENDING,
        "attempts": 0,
        "last_error": None,
        "next_attempt_at": now,
        "created_at": now,
        "updated_at": now,
        "done_at": None,
        "superseded_by": None,
    }
    _insert_in_order(db, entry)
    if key is not None:
        # After the insert: a flusher in between sees both and sends them in order, which is harmless.
        # Matching nothing (the usual case: the previous one was sent) writes nothing, so it costs a read.
        db[OUTBOX].update_many(
            {"kind": kind, "key": key, "status": PENDING, "seq": {"$lt": entry["seq"]}},
            {"$set": {"status": SUPERSEDED, "superseded_by": str(entry["_id"]), "updated_at": now}},
        )
    return str(entry["_id"])


def _insert_in_order(db: Database, entry: dict[str, Any]) -> None:
    """Insert with the next ``seq``; another process that took the same nanosecond makes us take a later one."""
    for attempt in range(SEQ_TIE_RETRIES):
        entry["seq"] = _sequence.next()
        try:
            db[OUTBOX].insert_one(entry)
            return
        except DuplicateKeyError as exc:
            if "seq" not in (exc.details or {}).get("keyPattern", {}) or attempt == SEQ_TIE_RETRIES - 1:
                raise


def pending(
    db: Database, limit: int = 100, *, now: datetime | None = None, kinds: list[str] | None = None
) -> list[dict[str, Any]]:
    """Due pending entries (``next_attempt_at <= now``), oldest enqueue first."""
    query: dict[str, Any] = {"status": PENDING, "next_attempt_at": {"$lte": now or utcnow()}}
    if kinds is not None:
        query["kind"] = {"$in": kinds}
    docs = list(db[OUTBOX].find(query).sort("seq", 1).limit(limit))
    for d in docs:
        d["id"] = str(d["_id"])
    return docs


def mark_done(db: Database, ids: list[str | ObjectId]) -> int:
    """Pending -> done. Returns how many changed (already done or superseded entries are left as they are)."""
    now = utcnow()
    result = db[OUTBOX].update_many(
        {"_id": {"$in": [ObjectId(i) for i in ids]}, "status": PENDING},
        {"$set": {"status": DONE, "done_at": now, "updated_at": now}},
    )
    return result.modified_count


def backoff(attempts: int) -> timedelta:
    """Delay before the next try after ``attempts`` failed ones: 30 s, 1 min, 2 min, ... at most 1 h."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def mark_failed_attempt(
    db: Database, id: str | ObjectId, error: str, *, retry_after: timedelta | None = None, now: datetime | None = None
) -> dict[str, Any] | None:
    """Count a failed attempt and schedule the next one (never sooner than ``retry_after``, e.g. a 429's
    wait). Returns the updated entry, or None if unknown."""
    now = now or utcnow()
    doc = db[OUTBOX].find_one_and_update(
        {"_id": ObjectId(id)},
        {"$inc": {"attempts": 1}, "$set": {"last_error": error, "updated_at": now}},
        return_document=ReturnDocument.AFTER,
    )
    if doc is None:
        return None
    delay = max(backoff(doc["attempts"]), retry_after or timedelta(0))
    doc["next_attempt_at"] = now + delay
    db[OUTBOX].update_one({"_id": doc["_id"]}, {"$set": {"next_attempt_at": doc["next_attempt_at"]}})
    doc["id"] = str(doc["_id"])
    return doc


def set_aside(db: Database, id: str | ObjectId, error: str) -> dict[str, Any] | None:
    """Pending -> dead (a dead letter): kept with Airtable's error, not sent again, not yet announced."""
    now = utcnow()
    return db[OUTBOX].find_one_and_update(
        {"_id": ObjectId(id), "status": PENDING},
        {"$set": {"status": DEAD, "last_error": error, "dead_at": now, "announced": False, "updated_at": now}},
        return_document=ReturnDocument.AFTER,
    )


def dead_letters(db: Database, *, unannounced: bool = False, limit: int = 100) -> list[dict[str, Any]]:
    query: dict[str, Any] = {"status": DEAD, **({"announced": False} if unannounced else {})}
    return list(db[OUTBOX].find(query).sort("seq", 1).limit(limit))


def mark_announced(db: Database, id: str | ObjectId) -> None:
    db[OUTBOX].update_one({"_id": ObjectId(id)}, {"$set": {"announced": True}})


def get(db: Database, id: str | ObjectId) -> dict[str, Any] | None:
    return db[OUTBOX].find_one({"_id": ObjectId(id)})


def counts(db: Database) -> dict[str, int]:
    """Entries per status, e.g. {"pending": 3, "done": 120}: for health checks and alerts."""
    return {d["_id"]: d["n"] for d in db[OUTBOX].aggregate([{"$group": {"_id": "$status", "n": {"$sum": 1}}}])}
