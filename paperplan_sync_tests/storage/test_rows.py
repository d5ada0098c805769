"""The row layout: day-keyed ``_id``s, day reads through the ``_id`` index, RowBatch input, legacy conversion."""

from __future__ import annotations

from bson import ObjectId

from paperplan_sync.sources.base import RowBatch
from paperplan_sync.storage import loads, rows
from paperplan_sync.storage.rows import (
    LEGACY_INDEX,
    count_current_rows,
    current_rows,
    day_filter,
    ensure_row_layout,
    id_range,
)
from paperplan_sync_tests.storage.helpers import DAY, load_day, make_rows

REPORT = "sales_report"
OTHER_DAY = "2026-11-24"


def test_rows_are_keyed_by_day_load_and_row_number(mongo):
    db = mongo.db()
    meta = load_day(db, make_rows(30))
    docs = list(db[REPORT].find().sort("_id", 1))
    assert [d["_id"] for d in docs] == [f"{DAY}/{meta['_id']}/{n:09d}" for n in range(30)]
    assert [d["sku"] for d in docs] == [f"SKU-{i:05d}" for i in range(30)]  # _id order is report order
    assert {(d["_report_date"], d["_load_id"]) for d in docs} == {(DAY, str(meta["_id"]))}
    assert list(db[REPORT].index_information()) == ["_id_"]  # the _id index serves day reads and deletes


def test_day_filter_is_a_range_of_the_id_index():
    assert id_range("2026-11-25/") == {"$gte": "2026-11-25/", "$lt": "2026-11-250"}
    assert day_filter("latest") == {"_id": {"$gte": "latest/", "$lt": "latest0"}, "_report_date": "latest"}


def test_day_reads_see_only_their_day_and_never_pending_rows(mongo):
    db = mongo.db()
    load_day(db, make_rows(12, "current"))
    load_day(db, make_rows(7, "other"), day=OTHER_DAY)
    staged = loads.start_load(db, report_name=REPORT, report_date=DAY, mode="staged")
    loads.write_rows(staged, [make_rows(40, "pending")])  # in the day's _id range, not yet published
    assert db[REPORT].count_documents({"_id": id_range(f"{DAY}/")}) == 52
    assert count_current_rows(db, REPORT, DAY) == 12
    assert {r["tag"] for r in current_rows(db, REPORT, DAY)} == {"current"}
    assert [r["tag"] for r in current_rows(db, REPORT, OTHER_DAY)] == ["other"] * 7
    loads.commit_load(staged, rows=40)
    assert [r["tag"] for r in current_rows(db, REPORT, DAY)] == ["pending"] * 40
    assert count_current_rows(db, REPORT, OTHER_DAY) == 7


def test_write_rows_takes_row_batches_and_lists_of_dicts(mongo):
    db = mongo.db()
    load = loads.start_load(db, report_name=REPORT, report_date=DAY)
    columnar = RowBatch(["sku", "qty", "_load_id"], [["A", "1", "spoof"], ["B", "2", "spoof"]])
    of_dicts = RowBatch.from_dicts([{"sku": "C", "qty": "3"}, {"sku": "D", "extra": "x"}])
    assert loads.write_rows(load, [columnar, of_dicts, [{"sku": "E", "_id": "spoof"}]]) == 5
    assert loads.write_rows(load, iter([RowBatch(["sku"], [["F"]])])) == 1  # numbering goes on across calls
    loads.commit_load(load, rows=6)
    stored = current_rows(db, REPORT, DAY)
    assert [r["_id"] for r in stored] == [f"{DAY}/{load.load_id}/{n:09d}" for n in range(6)]
    assert [r["sku"] for r in stored] == ["A", "B", "C", "D", "E", "F"]
    assert stored[0] == {"_id": stored[0]["_id"], "sku": "A", "qty": "1", "_report_date": DAY, "_load_id": load.load_id}
    assert stored[3]["extra"] == "x" and "qty" not in stored[3]  # dict rows keep their own shape


def test_snapshot_rows_are_keyed_by_target(mongo):
    db = mongo.db()
    meta = load_day(db, make_rows(3), report="fba_inventory", day=None, snapshot_day=DAY)
    ids = sorted(d["_id"] for d in db["fba_inventory"].find())
    load_id = meta["_id"]
    assert ids == [f"{DAY}/{load_id}/{n:09d}" for n in range(3)] + [f"latest/{load_id}/{n:09d}" for n in range(3)]


def test_legacy_rows_are_converted_at_first_use(mongo, monkeypatch):
    monkeypatch.setattr(rows, "MIGRATE_BATCH", 3)  # two chunks per day
    db = mongo.db()
    coll = db[REPORT]
    coll.create_index([("_report_date", 1), ("_load_id", 1)], name=LEGACY_INDEX)
    old_load = str(ObjectId())
    coll.insert_many(
        [
            {"sku": f"S{i}", "tag": "old", "_report_date": d, "_load_id": old_load}
            for d in (DAY, OTHER_DAY)
            for i in range(5)
        ]
    )
    load_day(db, make_rows(4, "new"))  # start_load converts the collection first, then replaces DAY
    assert list(coll.index_information()) == ["_id_"]
    assert coll.count_documents({"_id": {"$type": "objectId"}}) == 0
    assert [r["tag"] for r in current_rows(db, REPORT, DAY)] == ["new"] * 4
    kept = current_rows(db, REPORT, OTHER_DAY)
    assert [r["sku"] for r in kept] == [f"S{i}" for i in range(5)]
    assert [r["_id"] for r in kept] == [f"{OTHER_DAY}/{old_load}/{n:09d}" for n in range(5)]
    ensure_row_layout(db, REPORT)  # idempotent
    assert coll.count_documents({}) == 9
