"""Report rows: one collection per report type, one document per row, keyed by day.

A row's ``_id`` is ``"<target>/<load id>/<row number>"`` (target: the day ``YYYY-MM-DD`` or ``"latest"``), so
a day read or delete is one range scan of the ``_id`` index. Readers use ``find(day_filter(target))``, which
leaves out the rows of a staged load not yet published, or ``current_rows`` for one point-in-time read.
Collections of the older ``ObjectId`` layout are converted at first use (``ensure_row_layout``).

Design notes: docs/design/write-path.md.
"""

from __future__ import annotations

import logging
import re
import weakref
from functools import partial
from typing import Any

from pymongo.client_session import ClientSession
from pymongo.collection import Collection
from pymongo.database import Database
from pymongo.errors import OperationFailure

from paperplan_sync.storage.common import day_str, supports_transactions

log = logging.getLogger(__name__)

DATE_FIELD = "_report_date"
LOAD_FIELD = "_load_id"
LATEST = "latest"
PENDING_PREFIX = "pending:"
ID_SEP = "/"
ROW_DIGITS = 9  # row numbers are zero-padded so that string order is row order

# Collections of ours that a report type must never land in ("counters": where an earlier outbox kept its
# order counter; databases it wrote still have it).
RESERVED = frozenset(
    {
        "report_loads",
        "report_current",
        "quarantine",
        "datapoints",
        "outbox",
        "counters",
        "logs",
        "paperplan_state",
        "report_quality",  # quality/history.py: each day's figures for the data-quality checks
        "slack_alerts",  # alerting/alert_queue.py: failure alerts kept until Slack takes them
    }
)
LEGACY_INDEX = "report_date_load_id"  # the (_report_date, _load_id) index of the ObjectId layout
MIGRATE_BATCH = 1000

_checked: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # client -> {(database, collection)}


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


def id_prefix(target_value: str, load_id: str | None = None) -> str:
    """The ``_id`` prefix of a target's rows, or of one load's rows of that target."""
    return f"{target_value}{ID_SEP}" if load_id is None else f"{target_value}{ID_SEP}{load_id}{ID_SEP}"


def row_id(prefix: str, number: int) -> str:
    return f"{prefix}{number:0{ROW_DIGITS}d}"


def id_range(prefix: str) -> dict[str, str]:
    """Every string starting with ``prefix``: ``[prefix, prefix with its last character + 1)``. Served by
    the ``_id`` index (a prefix regex would be too, but a range says so plainly)."""
    return {"$gte": prefix, "$lt": prefix[:-1] + chr(ord(prefix[-1]) + 1)}


def day_filter(target_value: str) -> dict[str, Any]:
    """The rows readers see for a target (a day or ``"latest"``)."""
    return {"_id": id_range(id_prefix(target_value)), DATE_FIELD: target_value}


def load_filter(target_value: str, load_id: str) -> dict[str, Any]:
    """Every row one load wrote for a target, published or pending."""
    return {"_id": id_range(id_prefix(target_value, load_id))}


def ensure_row_layout(db: Database, collection: str) -> None:
    """Convert a collection of the ObjectId layout (once per process and collection): nothing to do on a
    new or already converted one. No index to create: the ``_id`` index serves every row query."""
    done = _checked.setdefault(db.client, set())
    if (db.name, collection) in done:
        return
    if LEGACY_INDEX in db[collection].index_information():
        migrate_legacy_rows(db, collection)
    done.add((db.name, collection))


def migrate_legacy_rows(db: Database, collection: str) -> int:
    """Give rows with an ObjectId ``_id`` their day-keyed ``_id`` (same fields), then drop the old index.
    Returns the rows converted.

    Per ``_report_date`` value, in ``_id`` (= insertion) order, in chunks of ``MIGRATE_BATCH`` rows, each
    converted in its own transaction (insert the new documents, delete their originals): bounded
    transactions, and a reader filtering on ``_report_date`` sees every row exactly once throughout.
    Without transactions a crash between the two steps leaves both copies, and the next attempt fails on
    the duplicate ``_id``s: loudly, never silently."""
    coll = db[collection]
    atomic = supports_transactions(db.client)
    converted = 0
    for value in coll.distinct(DATE_FIELD, {"_id": {"$type": "objectId"}}):
        numbers: dict[str, int] = {}  # load id -> last row number given
        while True:
            if atomic:
                with db.client.start_session() as session:
                    done, numbers = session.with_transaction(partial(_convert_chunk, coll, value, numbers))
            else:
                done, numbers = _convert_chunk(coll, value, numbers, None)
            if not done:
                break
            converted += done
    coll.drop_index(LEGACY_INDEX)
    log.info("converted %d rows of %s to day-keyed _ids", converted, collection)
    return converted


def _convert_chunk(
    coll: Collection, value: str, numbers: dict[str, int], session: ClientSession | None
) -> tuple[int, dict[str, int]]:
    legacy = {DATE_FIELD: value, "_id": {"$type": "objectId"}}
    docs = list(coll.find(legacy, session=session).sort("_id", 1).limit(MIGRATE_BATCH))
    if not docs:
        return 0, numbers
    numbers = dict(numbers)  # a retried transaction starts again from the caller's numbers
    day = value.rsplit(":", 1)[-1] if value.startswith(PENDING_PREFIX) else value  # pending:<load>:<target>
    converted = []
    for doc in docs:
        load_id = str(doc.get(LOAD_FIELD))
        numbers[load_id] = numbers.get(load_id, -1) + 1
        converted.append({**doc, "_id": row_id(id_prefix(day, load_id), numbers[load_id])})
    coll.insert_many(converted, ordered=True, session=session)
    # The chunk is the first rows of this value in _id order: exactly its rows up to the chunk's last _id.
    coll.delete_many({**legacy, "_id": {"$gte": docs[0]["_id"], "$lte": docs[-1]["_id"]}}, session=session)
    return len(docs), numbers


def current_rows(
    db: Database, report_name: str, report_date: Any, projection: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """The rows readers see for a day (or ``"latest"``), read at one point in time, in report order."""
    coll = db[collection_name(report_name)]
    query = day_filter(target(report_date))
    try:
        with db.client.start_session(snapshot=True) as session:
            return list(coll.find(query, projection, session=session).sort("_id", 1))
    except OperationFailure as exc:
        if exc.code not in (72, 115, 263):  # InvalidOptions / CommandNotSupported / OperationNotSupportedInTransaction
            raise
    return list(coll.find(query, projection).sort("_id", 1))


def count_current_rows(db: Database, report_name: str, report_date: Any) -> int:
    return db[collection_name(report_name)].count_documents(day_filter(target(report_date)))
