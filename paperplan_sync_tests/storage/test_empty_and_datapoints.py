"""A load's empty answer never wipes a good day, and its datapoints flip with its rows (real SecantusDB)."""

from __future__ import annotations

import pytest

from paperplan_sync.storage import loads
from paperplan_sync.storage.datapoints import get_datapoints
from paperplan_sync.storage.rows import count_current_rows, current_rows
from paperplan_sync_tests.storage.helpers import DAY, chunks, make_rows

REPORT = "sales_report"


def points(skus: dict[str, float]) -> list[dict]:
    return [
        {"report": REPORT, "date": DAY, "key": sku, "metric": "units_ordered", "value": v} for sku, v in skus.items()
    ]


def load(db, rows, *, mode=None, day=DAY, **commit):
    load = loads.start_load(db, report_name=REPORT, report_date=day, mode=mode)
    loads.write_rows(load, chunks(rows))
    return loads.commit_load(load, rows=len(rows), **commit)


@pytest.mark.parametrize("mode", ["transaction", "staged"])
def test_an_empty_repull_of_a_day_with_rows_keeps_them_and_says_so(mongo, mode):
    db = mongo.db()
    good = load(db, make_rows(12), mode=mode, datapoints=points({"SKU-1": 3}))
    empty = load(db, [], mode=mode, keep_rows_if_empty=True, datapoints=[])
    assert (empty["status"], empty["kept_rows"], empty["kept_load_id"]) == ("kept_previous", 12, str(good["_id"]))
    assert empty["detail"] == "re-pull returned no data; kept 12 rows"
    assert count_current_rows(db, REPORT, DAY) == 12
    assert str(loads.current_load(db, REPORT, DAY)["_id"]) == str(good["_id"])
    assert [p["value"] for p in get_datapoints(db, REPORT)] == [3.0]


def test_a_first_empty_pull_publishes_an_empty_day(mongo):
    db = mongo.db()
    first = load(db, [], keep_rows_if_empty=True)
    assert first["status"] == "succeeded" and first["rows"] == 0
    assert count_current_rows(db, REPORT, DAY) == 0


@pytest.mark.parametrize("mode", ["transaction", "staged"])
def test_a_load_replaces_the_datapoints_of_its_day_with_its_rows(mongo, mode):
    db = mongo.db()
    load(db, make_rows(5), mode=mode, datapoints=points({"SKU-1": 2, "SKU-2": 7}))
    other_day = {"report": REPORT, "date": "2026-11-24", "key": "SKU-2", "metric": "units_ordered", "value": 1}
    load(db, make_rows(2), mode=mode, day="2026-11-24", datapoints=[other_day])
    # Every order of SKU-2 was cancelled since: the re-pull has no datapoint for it, so its old value goes.
    load(db, make_rows(5), mode=mode, datapoints=points({"SKU-1": 4}))
    assert [(p["date"], p["key"], p["value"]) for p in get_datapoints(db, REPORT)] == [
        ("2026-11-24", "SKU-2", 1.0),
        (DAY, "SKU-1", 4.0),
    ]


def test_a_failed_load_leaves_rows_and_datapoints_as_they_were(mongo):
    db = mongo.db()
    load(db, make_rows(5, "old"), datapoints=points({"SKU-1": 2}))
    bad = loads.start_load(db, report_name=REPORT, report_date=DAY)
    loads.write_rows(bad, chunks(make_rows(3, "new")))
    # Until the commit readers see the old day: rows and datapoints alike.
    assert {r["tag"] for r in current_rows(db, REPORT, DAY)} == {"old"}
    with pytest.raises(loads.LoadError):
        loads.commit_load(bad, rows=99, datapoints=points({"SKU-9": 1}))
    assert {r["tag"] for r in current_rows(db, REPORT, DAY)} == {"old"}
    assert [(p["key"], p["value"]) for p in get_datapoints(db, REPORT)] == [("SKU-1", 2.0)]
