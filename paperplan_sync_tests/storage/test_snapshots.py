"""Real-time snapshot report types: "latest" plus one dated snapshot per day, replaced atomically."""

from __future__ import annotations

import pytest

from paperplan_sync.storage import loads
from paperplan_sync.storage.rows import LATEST, current_rows
from paperplan_sync_tests.storage.helpers import chunks, load_day, make_rows

REPORT = "fba_inventory"
D1, D2 = "2026-11-24", "2026-11-25"


def snapshot(db, n: int, tag: str, day: str, **kw) -> dict:
    return load_day(db, make_rows(n, tag), report=REPORT, day=None, snapshot_day=day, **kw)


def tags(db, day: str) -> set[str]:
    return {r["tag"] for r in current_rows(db, REPORT, day)}


@pytest.mark.parametrize("mode", ["transaction", "staged"])
def test_latest_and_dated_history(mongo, mode):
    db = mongo.db()
    first = snapshot(db, 20, "d1", D1, mode=mode)
    assert first["snapshot"] is True and first["report_date"] == D1 and first["rows"] == 20
    assert tags(db, D1) == {"d1"} and tags(db, LATEST) == {"d1"}

    snapshot(db, 30, "d2-morning", D2, mode=mode)
    assert tags(db, D1) == {"d1"}  # history kept
    assert tags(db, LATEST) == {"d2-morning"} and len(current_rows(db, REPORT, LATEST)) == 30

    rerun = snapshot(db, 25, "d2-evening", D2, mode=mode)  # same day again: replaces that day's snapshot
    assert len(current_rows(db, REPORT, D2)) == 25 and tags(db, D2) == {"d2-evening"}
    assert len(current_rows(db, REPORT, LATEST)) == 25 and tags(db, LATEST) == {"d2-evening"}
    assert db[REPORT].count_documents({}) == 20 + 25 + 25
    assert str(loads.current_load(db, REPORT, LATEST)["_id"]) == str(rerun["_id"])


def test_failed_snapshot_keeps_latest_and_history(mongo):
    db = mongo.db()
    snapshot(db, 10, "good", D1)
    load = loads.start_load(db, report_name=REPORT, report_date=None, snapshot_day=D2)

    def stream():
        yield from chunks(make_rows(40, "bad"))
        raise TimeoutError("report document expired")

    with pytest.raises(TimeoutError):
        loads.write_rows(load, stream())
    assert tags(db, LATEST) == {"good"} and tags(db, D1) == {"good"}
    assert current_rows(db, REPORT, D2) == []


def test_snapshot_day_defaults_to_today_utc(mongo):
    db = mongo.db()
    load = loads.start_load(db, report_name=REPORT, report_date=None)
    meta = loads.commit_load(load)
    assert meta["report_date"] == meta["started_at"].date().isoformat()
