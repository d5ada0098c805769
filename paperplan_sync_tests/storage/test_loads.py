"""The report write path against the real SecantusDB process: replace, atomicity, failures, metadata."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta

import pytest

from paperplan_sync.sources.base import QuarantinedRow
from paperplan_sync.storage import loads
from paperplan_sync.storage.rows import (
    collection_name,
    count_current_rows,
    current_rows,
    day_filter,
)
from paperplan_sync_tests.storage.helpers import DAY, chunks, load_day, make_rows

REPORT = "sales_report"


def test_load_then_reload_three_times_replaces_the_day(mongo):
    db = mongo.db()
    first = load_day(db, make_rows(40, "a"))
    load_ids = [str(first["_id"])]
    for tag in ("b", "c", "d"):
        load_ids.append(str(load_day(db, make_rows(40, tag))["_id"]))
    rows = current_rows(db, REPORT, DAY)
    assert len(rows) == 40 == db[REPORT].count_documents({})  # nothing else left behind
    assert {r["tag"] for r in rows} == {"d"}
    assert {r["_load_id"] for r in rows} == {load_ids[-1]}
    assert sorted(r["sku"] for r in rows) == [f"SKU-{i:05d}" for i in range(40)]
    assert len(set(load_ids)) == 4
    assert str(loads.current_load(db, REPORT, DAY)["_id"]) == load_ids[-1]
    statuses = [loads.get_load(db, i)["status"] for i in load_ids]
    assert statuses == ["succeeded"] * 4


def test_reload_with_a_different_row_count_and_other_days_untouched(mongo):
    db = mongo.db()
    load_day(db, make_rows(30, "a"))
    load_day(db, make_rows(10, "x"), day="2026-11-24")
    load_day(db, make_rows(55, "b"))
    assert count_current_rows(db, REPORT, DAY) == 55
    assert [r["tag"] for r in current_rows(db, REPORT, "2026-11-24")] == ["x"] * 10


def test_rows_keep_their_fields_plus_the_stamps(mongo):
    db = mongo.db()
    meta = load_day(db, [{"sku": "A", "price": "1.50"}])
    (row,) = current_rows(db, REPORT, DAY, projection={"_id": 0})
    assert row == {"sku": "A", "price": "1.50", "_report_date": DAY, "_load_id": str(meta["_id"])}


def test_exception_mid_stream_keeps_previous_rows_and_fails_the_load(mongo, monkeypatch):
    monkeypatch.setattr(loads, "BATCH_ROWS", 10)  # the 50 bad rows reach MongoDB before the failure
    db = mongo.db()
    good = load_day(db, make_rows(30, "good"))

    def broken_stream():
        yield make_rows(25, "bad")
        yield make_rows(25, "bad")
        raise ConnectionError("download cut off")

    load = loads.start_load(db, report_name=REPORT, report_date=DAY, api_report_id="API-2", run_id="run-2")
    with pytest.raises(ConnectionError):
        loads.write_rows(load, broken_stream())
    rows = current_rows(db, REPORT, DAY)
    assert len(rows) == 30 and {r["tag"] for r in rows} == {"good"}
    assert db[REPORT].count_documents({"_load_id": load.load_id}) == 0
    meta = loads.get_load(db, load.load_id)
    assert meta["status"] == "failed"
    assert "ConnectionError: download cut off" in meta["error"]
    assert meta["rows"] == 50 and meta["finished_at"] is not None
    assert str(loads.current_load(db, REPORT, DAY)["_id"]) == str(good["_id"])
    with pytest.raises(loads.LoadError):
        loads.commit_load(load)


def test_fail_load_after_writing_keeps_previous_rows(mongo):
    db = mongo.db()
    load_day(db, make_rows(20, "good"))
    load = loads.start_load(db, report_name=REPORT, report_date=DAY)
    loads.write_rows(load, chunks(make_rows(70, "bad")))
    loads.fail_load(load, "columns changed")
    loads.fail_load(load, "twice is harmless")
    assert {r["tag"] for r in current_rows(db, REPORT, DAY)} == {"good"}
    assert loads.get_load(db, load.load_id)["error"] == "columns changed"


def test_context_manager_fails_the_load_on_exception(mongo):
    db = mongo.db()
    with pytest.raises(RuntimeError), loads.start_load(db, report_name=REPORT, report_date=DAY) as load:
        loads.write_rows(load, [make_rows(5)])
        raise RuntimeError("parser bug")
    assert loads.get_load(db, load.load_id)["status"] == "failed"
    assert count_current_rows(db, REPORT, DAY) == 0


def test_row_count_mismatch_at_commit_fails_the_load(mongo):
    db = mongo.db()
    load = loads.start_load(db, report_name=REPORT, report_date=DAY)
    loads.write_rows(load, [make_rows(5)])
    with pytest.raises(loads.LoadError, match="counted 6"):
        loads.commit_load(load, rows=6)
    assert loads.get_load(db, load.load_id)["status"] == "failed"
    assert count_current_rows(db, REPORT, DAY) == 0


def test_empty_report_publishes_an_empty_day(mongo):
    db = mongo.db()
    load_day(db, make_rows(12))
    load = loads.start_load(db, report_name=REPORT, report_date=DAY)
    meta = loads.commit_load(load, rows=0, status_detail="CANCELLED: no data")
    assert meta["status"] == "succeeded" and meta["rows"] == 0 and meta["detail"] == "CANCELLED: no data"
    assert count_current_rows(db, REPORT, DAY) == 0


def test_metadata_document(mongo):
    db = mongo.db()
    before = datetime.now(UTC)
    load = loads.start_load(db, report_name=REPORT, report_date=DAY, api_report_id="API-9", run_id="run-9")
    running = loads.get_load(db, load.load_id)
    assert running["status"] == "running" and running["finished_at"] is None
    loads.write_rows(load, chunks(make_rows(60)))
    bad = [QuarantinedRow(line=i + 2, reason="too few fields", raw=f"raw {i}") for i in range(150)]
    meta = loads.commit_load(load, rows=60, quarantined=bad, columns=["sku", "qty", "tag"], status_detail="DONE")
    assert str(meta["_id"]) == load.load_id
    assert {
        k: meta[k]
        for k in (
            "report_name",
            "collection",
            "report_date",
            "snapshot",
            "api_report_id",
            "run_id",
            "status",
            "mode",
            "rows",
            "quarantined_rows",
            "columns",
            "detail",
            "error",
        )
    } == {
        "report_name": REPORT,
        "collection": REPORT,
        "report_date": DAY,
        "snapshot": False,
        "api_report_id": "API-9",
        "run_id": "run-9",
        "status": "succeeded",
        "mode": "transaction",
        "rows": 60,
        "quarantined_rows": 150,
        "columns": ["sku", "qty", "tag"],
        "detail": "DONE",
        "error": None,
    }
    assert before <= meta["started_at"] <= meta["finished_at"] <= datetime.now(UTC)
    assert meta["started_at"].tzinfo is not None
    assert len(meta["quarantine_sample"]) == loads.QUARANTINE_SAMPLE
    assert meta["quarantine_sample"][0] == {"line": 2, "reason": "too few fields", "raw": "raw 0"}
    stored = loads.quarantined_rows(db, load.load_id)
    assert len(stored) == 150
    assert stored[-1]["line"] == 151 and stored[-1]["report_name"] == REPORT and stored[-1]["report_date"] == DAY


def test_quarantine_accepts_dicts(mongo):
    db = mongo.db()
    load = loads.start_load(db, report_name=REPORT, report_date=DAY)
    loads.commit_load(load, quarantined=[{"line": 7, "reason": "bad date", "raw": "x\ty"}])
    assert [(q["line"], q["raw"]) for q in loads.quarantined_rows(db, load.load_id)] == [(7, "x\ty")]


def test_previous_successful_load(mongo):
    db = mongo.db()
    first = load_day(db, make_rows(3))
    second = load_day(db, make_rows(4), day="2026-11-24")
    failed = loads.start_load(db, report_name=REPORT, report_date=DAY)
    loads.fail_load(failed, "boom")
    assert loads.previous_successful_load(db, REPORT)["_id"] == second["_id"]
    assert loads.previous_successful_load(db, REPORT, before_load_id=str(second["_id"]))["_id"] == first["_id"]
    assert loads.previous_successful_load(db, REPORT, before_load_id=str(first["_id"])) is None
    assert loads.previous_successful_load(db, "other_report") is None


@pytest.mark.slow
def test_readers_never_see_a_partial_or_mixed_day(mongo, monkeypatch):
    monkeypatch.setattr(loads, "BATCH_ROWS", 10)  # many inserts per load: many chances to see a partial one
    db = mongo.db()
    sizes = [40, 130, 70, 200, 15, 90]
    observed: list[tuple[int, int]] = []
    done = threading.Event()

    def reader():
        coll = db[REPORT]
        while not done.is_set():
            for query in (day_filter(DAY), {"_report_date": DAY}):  # through the _id index, and a plain scan
                docs = list(coll.find(query, {"_load_id": 1}))
                observed.append((len(docs), len({d["_load_id"] for d in docs})))
                observed.append((coll.count_documents(query), 1))

    load_day(db, make_rows(sizes[0]))
    thread = threading.Thread(target=reader)
    thread.start()
    try:
        for size in sizes[1:] * 2:
            load_day(db, make_rows(size))
    finally:
        done.set()
        thread.join()
    assert len(observed) > 20
    assert {count for count, _ in observed} <= set(sizes)
    assert {loads_seen for _, loads_seen in observed} == {1}


def test_concurrent_loads_of_one_day_serialize(mongo):
    """The second load waits for the first one's transaction, then replaces its rows: never both."""
    db = mongo.db()
    first = loads.start_load(db, report_name=REPORT, report_date=DAY)
    loads.write_rows(first, [make_rows(20, "first")])  # transaction open, day claimed
    result: dict = {}

    def second_load():
        result["meta"] = load_day(db, make_rows(35, "second"))

    thread = threading.Thread(target=second_load)
    thread.start()
    time.sleep(0.5)
    assert thread.is_alive()  # waiting for the claim
    loads.commit_load(first, rows=20)
    thread.join(timeout=30)
    assert result["meta"]["status"] == "succeeded"
    rows = current_rows(db, REPORT, DAY)
    assert len(rows) == 35 and {r["tag"] for r in rows} == {"second"}


@pytest.mark.parametrize("mode", ["transaction", "staged"])
def test_both_modes_replace_and_roll_back(mongo, mode):
    db = mongo.db()
    load_day(db, make_rows(25, "a"), mode=mode)
    meta = load_day(db, make_rows(45, "b"), mode=mode)
    assert meta["mode"] == mode
    assert {r["tag"] for r in current_rows(db, REPORT, DAY)} == {"b"}
    load = loads.start_load(db, report_name=REPORT, report_date=DAY, mode=mode)

    def stream():
        yield make_rows(30, "c")
        raise ValueError("bad chunk")

    with pytest.raises(ValueError):
        loads.write_rows(load, stream())
    assert db[REPORT].count_documents({}) == 45  # no pending rows left behind either


def test_large_previous_load_switches_to_staged_mode(mongo, monkeypatch):
    db = mongo.db()
    monkeypatch.setattr(loads, "LARGE_LOAD_BYTES", 2000)  # a stored row of make_rows is ~200 bytes
    big = load_day(db, make_rows(20))
    assert big["mode"] == "transaction" and big["approx_bytes"] > 2000
    assert load_day(db, make_rows(5))["mode"] == "staged"
    assert load_day(db, make_rows(5))["mode"] == "transaction"  # the last one was small again


def test_oversized_transaction_fails_early_and_the_next_load_is_staged(mongo, monkeypatch):
    db = mongo.db()
    monkeypatch.setattr(loads, "BATCH_ROWS", 10)
    monkeypatch.setattr(loads, "TXN_MAX_BYTES", 2000)
    load_day(db, make_rows(5, "small"))
    load = loads.start_load(db, report_name=REPORT, report_date=DAY)
    with pytest.raises(loads.LoadTooLargeForTransaction):
        loads.write_rows(load, chunks(make_rows(100, "huge")))
    assert {r["tag"] for r in current_rows(db, REPORT, DAY)} == {"small"}
    assert loads.TXN_LIMIT_HINT in loads.get_load(db, load.load_id)["error"]
    retry = load_day(db, make_rows(100, "huge"))
    assert retry["mode"] == "staged" and retry["status"] == "succeeded"
    assert count_current_rows(db, REPORT, DAY) == 100


def test_abandoned_loads_are_discarded(mongo):
    db = mongo.db()
    load_day(db, make_rows(8, "good"))
    dead = loads.start_load(db, report_name=REPORT, report_date=DAY, mode="staged")
    loads.write_rows(dead, [make_rows(30, "dead")])  # pending rows of a process that "died" here
    db[loads.LOADS].update_one(
        {"_id": loads.ObjectId(dead.load_id)}, {"$set": {"started_at": datetime.now(UTC) - timedelta(days=1)}}
    )
    load_day(db, make_rows(9, "new"))
    assert loads.get_load(db, dead.load_id)["status"] == "failed"
    assert "abandoned" in loads.get_load(db, dead.load_id)["error"]
    assert db[REPORT].count_documents({"_load_id": dead.load_id}) == 0
    assert {r["tag"] for r in current_rows(db, REPORT, DAY)} == {"new"}


def test_collection_names():
    assert collection_name("sales_report") == "sales_report"
    assert collection_name(" Sales Report (US) ") == "sales_report_us"
    assert collection_name("outbox") == "outbox_rows"
    assert collection_name("system.users") == "system_users_rows"
    with pytest.raises(ValueError):
        collection_name("!!!")
