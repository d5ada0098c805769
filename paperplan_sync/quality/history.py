"""What the checks read from MongoDB: the rows of the same weekday in past weeks (the product's load
metadata), a stored day's rows (read back once after its load), and the per-day quality record of this
package (collection ``report_quality``: the day's figures, row keys and last verdicts), written after each
load. Report rows and loads are read through ``storage``'s public functions only."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from typing import Any

from pymongo import DESCENDING
from pymongo.database import Database

from paperplan_sync.quality.rules import MARKET_HISTORY_DAYS, VOLUME_WEEKS
from paperplan_sync.storage.common import day_str
from paperplan_sync.storage.loads import current_load
from paperplan_sync.storage.rows import collection_name, day_filter, target

QUALITY = "report_quality"  # one document per (report type name, day)
READ_BATCH = 5000


def weekday_history(db: Database, report_name: str, day: date) -> list[int | None]:
    """The rows readers saw for the same weekday 1..VOLUME_WEEKS weeks before ``day`` (None: no load)."""
    out: list[int | None] = []
    for week in range(1, VOLUME_WEEKS + 1):
        load = current_load(db, report_name, day - timedelta(weeks=week))
        out.append(int(load["rows"]) if load else None)
    return out


def stored_rows(db: Database, report_name: str, day: date | str, fields: list[str]) -> Iterator[dict[str, Any]]:
    """A day's current rows (only ``fields``), streamed in ``_id`` (report) order."""
    projection = dict.fromkeys(fields, 1) | {"_id": 0}
    query = day_filter(target(day))
    return db[collection_name(report_name)].find(query, projection, batch_size=READ_BATCH)


def _id(report_name: str, day: str) -> str:
    return f"{report_name}|{day}"


def get_record(db: Database, report_name: str, day: str) -> dict[str, Any] | None:
    return db[QUALITY].find_one({"_id": _id(report_name, day)})


def save_record(db: Database, report_name: str, day: str, fields: dict[str, Any]) -> None:
    now = datetime.now(UTC)
    db[QUALITY].update_one(
        {"_id": _id(report_name, day)},
        {"$set": {**fields, "report_name": report_name, "day": day, "updated_at": now}},
        upsert=True,
    )


def latest_for_type(db: Database, report_type_id: str, day: str) -> dict[str, Any] | None:
    """The newest quality record of any report type with this Report Type Id for ``day`` (the other side of
    a reconciliation)."""
    return db[QUALITY].find_one(
        {"report_type_id": report_type_id, "day": day}, {"keys": 0}, sort=[("updated_at", DESCENDING)]
    )


def market_history(db: Database, report_name: str, day: date) -> dict[str, float]:
    """Average rows a day per marketplace over the stored days of the week before ``day``."""
    days = [day_str(day - timedelta(days=n)) for n in range(1, MARKET_HISTORY_DAYS + 1)]
    records = list(db[QUALITY].find({"report_name": report_name, "day": {"$in": days}}, {"markets": 1}))
    totals: dict[str, float] = {}
    for rec in records:
        for figures in rec.get("markets") or []:  # a list: sales channels hold dots, not for field names
            totals[figures["market"]] = totals.get(figures["market"], 0.0) + figures.get("rows", 0)
    return {m: total / len(records) for m, total in totals.items()} if records else {}
