"""Datapoints: upsert on (report, date, key, metric), idempotent re-pulls."""

from __future__ import annotations

from datetime import date

import pytest
from pymongo.errors import DuplicateKeyError

from paperplan_sync.storage.datapoints import (
    DATAPOINTS,
    get_datapoints,
    upsert_datapoints,
)


def points(value: float, load_id: str = "L1", days=("2026-11-24", "2026-11-25")) -> list[dict]:
    return [
        {"report": "sales_report", "date": d, "key": asin, "metric": m, "value": value, "load_id": load_id}
        for d in days
        for asin in ("B001", "B002")
        for m in ("units", "sales")
    ]


def test_repull_updates_instead_of_duplicating(mongo):
    db = mongo.db()
    assert upsert_datapoints(db, points(1.0)) == (8, 0)
    assert upsert_datapoints(db, points(2.5, "L2")) == (0, 8)
    assert db[DATAPOINTS].count_documents({}) == 8
    stored = get_datapoints(db, "sales_report")
    assert {p["value"] for p in stored} == {2.5} and {p["load_id"] for p in stored} == {"L2"}
    assert all(p["updated_at"].tzinfo is not None for p in stored)


def test_mixed_new_and_existing(mongo):
    db = mongo.db()
    upsert_datapoints(db, points(1.0, days=("2026-11-24",)))
    assert upsert_datapoints(db, points(3.0)) == (4, 4)


def test_unique_index_enforced(mongo):
    db = mongo.db()
    upsert_datapoints(db, points(1.0)[:1])
    dup = {k: v for k, v in points(9.0)[0].items()}
    with pytest.raises(DuplicateKeyError):
        db[DATAPOINTS].insert_one(dup)


def test_validation_and_normalisation(mongo):
    db = mongo.db()
    upsert_datapoints(db, [{"report": "r", "date": date(2026, 11, 25), "key": "K", "metric": "m", "value": "4"}])
    (p,) = get_datapoints(db, "r")
    assert p["date"] == "2026-11-25" and p["value"] == 4.0
    with pytest.raises(ValueError, match="lacks"):
        upsert_datapoints(db, [{"report": "r", "date": "2026-11-25", "key": "K", "value": 1}])
    with pytest.raises(ValueError):
        upsert_datapoints(db, [{"report": "r", "date": "11/25/2026", "key": "K", "metric": "m", "value": 1}])


def test_filters(mongo):
    db = mongo.db()
    upsert_datapoints(db, points(1.0))
    assert len(get_datapoints(db, "sales_report", start="2026-11-25")) == 4
    assert len(get_datapoints(db, "sales_report", end=date(2026, 11, 24), key="B001")) == 2
    assert [p["metric"] for p in get_datapoints(db, "sales_report", key="B002", metric="units")] == ["units"] * 2
