"""The Airtable outbox: order (also across processes), done, failed attempts with backoff, coalescing by key."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from datetime import timedelta

import pytest

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


# -- ordering without a counter: seq is the enqueue time in ns, strictly increasing, unique ----------------

WORKER = textwrap.dedent("""
    import sys
    from pymongo import MongoClient
    from paperplan_sync.storage import outbox
    uri, name, tag, n = sys.argv[1:5]
    db = MongoClient(uri)[name]
    print(outbox.enqueue(db, "reports.upsert", {"by": tag, "v": "child"}, key="shared"))
    for i in range(int(n)):
        outbox.enqueue(db, "logs.create", {"by": tag, "n": i})
""")


def _enqueue_in_another_process(mongo, tag: str, n: int) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", WORKER, mongo.uri, mongo.database, tag, str(n)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def test_one_round_trip_needs_no_counter_document(mongo):
    db = mongo.db()
    outbox.enqueue(db, "a", {})
    assert "counters" not in db.list_collection_names()


def test_order_holds_when_the_clock_stands_still_or_steps_back(mongo, monkeypatch):
    db = mongo.db()
    clock = iter([5_000, 5_000, 4_000, 6_000])
    monkeypatch.setattr(outbox, "_sequence", outbox._Sequence())
    monkeypatch.setattr(outbox.time, "time_ns", lambda: next(clock))
    ids = [outbox.enqueue(db, "a", {"n": i}) for i in range(4)]
    assert [e["id"] for e in outbox.pending(db)] == ids
    assert [e["seq"] for e in outbox.pending(db)] == [5_000, 5_001, 5_002, 6_000]


def test_a_tie_with_another_process_takes_the_next_nanosecond(mongo, monkeypatch):
    db = mongo.db()
    monkeypatch.setattr(outbox.time, "time_ns", lambda: 7_000)
    monkeypatch.setattr(outbox, "_sequence", outbox._Sequence())
    theirs = outbox.enqueue(db, "a", {"who": "them"})
    monkeypatch.setattr(outbox, "_sequence", outbox._Sequence())  # a fresh process, same clock reading
    ours = outbox.enqueue(db, "a", {"who": "us"})
    assert [(e["id"], e["seq"]) for e in outbox.pending(db)] == [(theirs, 7_000), (ours, 7_001)]


def test_counter_era_entries_stay_first(mongo):
    db = mongo.db()
    db[outbox.OUTBOX].insert_one(
        {
            "seq": 41,
            "kind": "a",
            "key": None,
            "payload": {"old": True},
            "status": "pending",
            "attempts": 0,
            "next_attempt_at": utcnow(),
        }
    )
    outbox.enqueue(db, "a", {"old": False})
    assert [e["payload"]["old"] for e in outbox.pending(db)] == [True, False]


@pytest.mark.slow
def test_two_processes_enqueueing_at_once_keep_each_ones_order_and_newest_wins(mongo):
    db = mongo.db()  # with the unique seq index, as everywhere in the product
    first = outbox.enqueue(db, "reports.upsert", {"by": "parent", "v": "first"}, key="shared")
    child = _enqueue_in_another_process(mongo, "child", 60)
    for i in range(60):
        outbox.enqueue(db, "logs.create", {"by": "parent", "n": i})
    out, err = child.communicate(timeout=60)
    assert child.returncode == 0, err
    last = outbox.enqueue(db, "reports.upsert", {"by": "parent", "v": "last"}, key="shared")  # after the child's

    entries = outbox.pending(db, limit=1000)
    assert len({e["seq"] for e in entries}) == len(entries) == 60 + 60 + 1
    for tag in ("parent", "child"):
        logs = [e["payload"] for e in entries if e["kind"] == "logs.create" and e["payload"]["by"] == tag]
        assert [p["n"] for p in logs] == list(range(60))
    assert entries[-1]["id"] == last  # the only "shared" entry left, at the end
    assert [e["id"] for e in entries if e["kind"] == "reports.upsert"] == [last]
    assert outbox.get(db, first)["superseded_by"] == out.strip()  # the child's write came after the first one
    assert outbox.get(db, out.strip())["superseded_by"] == last
