"""The Airtable outbox: order, done, failed attempts with backoff, coalescing by key."""

from __future__ import annotations

from datetime import timedelta

from paperplan_sync.storage import outbox
from paperplan_sync.storage.common import utcnow


def test_pending_in_enqueue_order_and_done(mongo):
    db = mongo.db()
    ids = [outbox.enqueue(db, "reports.upsert", {"n": i}) for i in range(5)]
    got = outbox.pending(db, limit=10)
    assert [e["id"] for e in got] == ids
    assert [e["payload"]["n"] for e in got] == list(range(5))
    assert [e["seq"] for e in got] == sorted(e["seq"] for e in got)
    assert outbox.mark_done(db, ids[:2]) == 2
    assert outbox.mark_done(db, ids[:2]) == 0  # already done
    assert [e["id"] for e in outbox.pending(db)] == ids[2:]
    assert [e["id"] for e in outbox.pending(db, limit=2)] == ids[2:4]
    assert outbox.counts(db) == {"done": 2, "pending": 3}
    assert outbox.get(db, ids[0])["done_at"] is not None


def test_failed_attempt_backs_off(mongo):
    db = mongo.db()
    first = outbox.enqueue(db, "reports.upsert", {"n": 1})
    second = outbox.enqueue(db, "reports.upsert", {"n": 2})
    now = utcnow()
    entry = outbox.mark_failed_attempt(db, first, "503 from Airtable", now=now)
    assert entry["attempts"] == 1 and entry["last_error"] == "503 from Airtable"
    assert entry["next_attempt_at"] == now + timedelta(seconds=30)
    # Backing off does not hold back later entries.
    assert [e["id"] for e in outbox.pending(db, now=now)] == [second]
    assert [e["id"] for e in outbox.pending(db, now=now + timedelta(seconds=31))] == [first, second]
    assert outbox.mark_failed_attempt(db, first, "again", now=now)["next_attempt_at"] == now + timedelta(seconds=60)
    late = outbox.mark_failed_attempt(db, first, "429", now=now, retry_after=timedelta(minutes=10))
    assert late["attempts"] == 3 and late["next_attempt_at"] == now + timedelta(minutes=10)
    stored = outbox.get(db, first)
    assert stored["status"] == "pending" and stored["next_attempt_at"].tzinfo is not None
    assert outbox.mark_failed_attempt(db, "0" * 24, "unknown id") is None


def test_backoff_is_capped():
    assert outbox.backoff(1) == timedelta(seconds=30)
    assert outbox.backoff(4) == timedelta(minutes=4)
    assert outbox.backoff(30) == outbox.BACKOFF_MAX


def test_coalescing_keeps_the_newest_at_the_end(mongo):
    db = mongo.db()
    a1 = outbox.enqueue(db, "reports.upsert", {"v": 1}, key="sales_report|2026-11-25")
    b = outbox.enqueue(db, "reports.upsert", {"v": 1}, key="sales_report|2026-11-24")
    other_kind = outbox.enqueue(db, "runs.upsert", {"v": 1}, key="sales_report|2026-11-25")
    a2 = outbox.enqueue(db, "reports.upsert", {"v": 2}, key="sales_report|2026-11-25")
    assert [e["id"] for e in outbox.pending(db)] == [b, other_kind, a2]
    old = outbox.get(db, a1)
    assert old["status"] == "superseded" and old["superseded_by"] == a2
    assert outbox.mark_done(db, [a1]) == 0  # a flusher that sent the old one in the meantime: harmless


def test_done_entries_do_not_coalesce(mongo):
    db = mongo.db()
    a1 = outbox.enqueue(db, "reports.upsert", {"v": 1}, key="k")
    outbox.mark_done(db, [a1])
    a2 = outbox.enqueue(db, "reports.upsert", {"v": 2}, key="k")
    assert outbox.get(db, a1)["status"] == "done"
    assert [e["id"] for e in outbox.pending(db)] == [a2]


def test_kinds_filter_and_indexes(mongo):
    db = mongo.db()
    outbox.enqueue(db, "a", {})
    keep = outbox.enqueue(db, "b", {})
    assert [e["id"] for e in outbox.pending(db, kinds=["b"])] == [keep]
    info = db[outbox.OUTBOX].index_information()
    assert info["seq"]["unique"] is True
    assert info["done_ttl"]["expireAfterSeconds"] == 30 * 24 * 3600
