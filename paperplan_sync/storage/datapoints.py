"""Datapoints: one numeric value per (report, date, key, metric), e.g. units ordered of one ASIN on one day.

A load replaces the datapoints of its (report, day) in the same transaction as its rows (``replace_day``,
called by ``loads.commit_load``): a key that is gone from the re-pull (e.g. a SKU whose orders were all
cancelled) loses its stale values. ``upsert_datapoints`` updates values in place for other writers. The
mapping from report rows to datapoints lives with each report type; this module only stores them.

Shape: {report: str, date: "YYYY-MM-DD", key: str, metric: str, value: float, updated_at: datetime (UTC),
load_id: str}.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from pymongo import UpdateOne
from pymongo.client_session import ClientSession
from pymongo.database import Database

from paperplan_sync.storage.common import batched, day_str, ensure_index, utcnow

DATAPOINTS = "datapoints"
KEY_FIELDS = ("report", "date", "key", "metric")
UNIQUE_INDEX = "report_date_key_metric"
BATCH = 1000


def ensure_indexes(db: Database) -> None:
    ensure_index(db[DATAPOINTS], [(f, 1) for f in KEY_FIELDS], UNIQUE_INDEX, unique=True)
    ensure_index(db[DATAPOINTS], [("report", 1), ("key", 1), ("metric", 1), ("date", 1)], "report_key_metric_date")


def normalize(point: dict[str, Any], now: datetime | None = None) -> dict[str, Any]:
    """Validate one datapoint; returns it with ``date`` as a day string and ``value`` as a float."""
    missing = [f for f in (*KEY_FIELDS, "value") if point.get(f) in (None, "")]
    if missing:
        raise ValueError(f"datapoint {point!r} lacks {missing}")
    out = {
        "report": str(point["report"]),
        "date": day_str(point["date"]),
        "key": str(point["key"]),
        "metric": str(point["metric"]),
        "value": float(point["value"]),
        "updated_at": point.get("updated_at") or now or utcnow(),
        "load_id": point.get("load_id"),
    }
    return out


def upsert_datapoints(db: Database, points: Iterable[dict[str, Any]]) -> tuple[int, int]:
    """Insert new datapoints, update existing ones' value/updated_at/load_id. Returns (upserted, modified).

    Within one call, a later point with the same key wins (bulk operations apply in order).
    """
    upserted = modified = 0
    now = utcnow()
    for batch in batched((normalize(p, now) for p in points), BATCH):
        ops = [
            UpdateOne(
                {f: p[f] for f in KEY_FIELDS},
                {"$set": {"value": p["value"], "updated_at": p["updated_at"], "load_id": p["load_id"]}},
                upsert=True,
            )
            for p in batch
        ]
        result = db[DATAPOINTS].bulk_write(ops, ordered=True)
        upserted += result.upserted_count
        modified += result.modified_count
    return upserted, modified


def replace_day(
    db: Database,
    report: str,
    day: date | str,
    points: list[dict[str, Any]],
    *,
    load_id: str | None = None,
    session: ClientSession | None = None,
) -> int:
    """Make ``points`` THE datapoints of (report, day): delete the day's others, write these (in ``session``)."""
    day = day_str(day)
    wrong = [p for p in points if p["report"] != report or p["date"] != day]
    if wrong:
        raise ValueError(f"datapoint {wrong[0]!r} is not of {report} {day}")
    db[DATAPOINTS].delete_many({"report": report, "date": day}, session=session)
    now = utcnow()
    docs = {
        tuple(p[f] for f in KEY_FIELDS): {**p, "updated_at": now, "load_id": load_id or p.get("load_id")}
        for p in points
    }
    for batch in batched(list(docs.values()), BATCH):  # a later point with the same key wins, as in upserts
        db[DATAPOINTS].insert_many(batch, ordered=False, session=session)
    return len(docs)


def get_datapoints(
    db: Database,
    report: str,
    *,
    start: date | str | None = None,
    end: date | str | None = None,
    key: str | None = None,
    metric: str | None = None,
) -> list[dict[str, Any]]:
    """Datapoints of a report, optionally filtered (``start``/``end`` inclusive), by date then key then metric."""
    query: dict[str, Any] = {"report": report}
    if start or end:
        query["date"] = {**({"$gte": day_str(start)} if start else {}), **({"$lte": day_str(end)} if end else {})}
    if key is not None:
        query["key"] = key
    if metric is not None:
        query["metric"] = metric
    return list(db[DATAPOINTS].find(query, {"_id": 0}).sort([("date", 1), ("key", 1), ("metric", 1)]))
