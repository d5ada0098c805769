"""Report rows: one collection per report type, each row stamped with ``_report_date`` and ``_load_id``.

Readers select a day with a plain ``find({"_report_date": "YYYY-MM-DD"})`` (``"latest"`` for the current
state of a snapshot report type). Rows of a load that is still being written (staged mode, see
``loads``) carry ``_report_date: "pending:<load id>:<target>"``: never equal to a day, so invisible to
those readers.

A plain multi-batch ``find`` on a real MongoDB reads each batch at its own point in time, so a reader
that spans a commit could in principle see batches from both sides of it. ``current_rows`` reads inside
a snapshot session (one point in time) to rule that out; plain readers that need the guarantee for big
days should do the same.
"""

from __future__ import annotations

import re
import weakref
from typing import Any

from pymongo.database import Database
from pymongo.errors import OperationFailure

from paperplan_sync.storage.common import day_str, ensure_index

DATE_FIELD = "_report_date"
LOAD_FIELD = "_load_id"
LATEST = "latest"
PENDING_PREFIX = "pending:"

# Collections of ours that a report type must never land in.
RESERVED = frozenset({"report_loads", "report_current", "quarantine", "datapoints", "outbox", "counters"})
ROWS_INDEX = "report_date_load_id"

_indexed: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # client -> {(database, collection)}


def collection_name(report_name: str) -> str:
    """``Sales Report`` -> ``sales_report``. Reserved names and ``system.*`` get a ``_rows`` suffix."""
    name = re.sub(r"[^a-z0-9_]+", "_", report_name.strip().lower()).strip("_")
    if not name:
        raise ValueError(f"report name {report_name!r} has no usable characters")
    if name in RESERVED or name.startswith("system"):
        name += "_rows"
    return name[:120]  # MongoDB namespaces are limited in length; db name + collection must fit


def target(report_date: Any) -> str:
    """The ``_report_date`` value readers use: a day string, or ``"latest"``."""
    return LATEST if report_date == LATEST else day_str(report_date)


def pending(load_id: str, target_value: str) -> str:
    return f"{PENDING_PREFIX}{load_id}:{target_value}"


def ensure_row_indexes(db: Database, collection: str) -> None:
    """(_report_date, _load_id): serves day reads, day deletes and pending-row lookups. Once per process."""
    done = _indexed.setdefault(db.client, set())
    if (db.name, collection) not in done:
        ensure_index(db[collection], [(DATE_FIELD, 1), (LOAD_FIELD, 1)], ROWS_INDEX)
        done.add((db.name, collection))


def current_rows(db: Database, report_name: str, report_date: Any,
                 projection: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    """The rows readers see for a day (or ``"latest"``), read at one point in time, in insertion order."""
    coll = db[collection_name(report_name)]
    query = {DATE_FIELD: target(report_date)}
    try:
        with db.client.start_session(snapshot=True) as session:
            return list(coll.find(query, projection, session=session, allow_disk_use=True).sort("_id", 1))
    except OperationFailure as exc:
        if exc.code not in (72, 115, 263):  # InvalidOptions / CommandNotSupported / OperationNotSupportedInTransaction
            raise
    return list(coll.find(query, projection, allow_disk_use=True).sort("_id", 1))


def count_current_rows(db: Database, report_name: str, report_date: Any) -> int:
    return db[collection_name(report_name)].count_documents({DATE_FIELD: target(report_date)})
