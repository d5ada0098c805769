"""The report write path: a load makes its rows THE rows of one (report type, day), atomically.

    load = start_load(db, report_name="sales_report", report_date=day, api_report_id=..., run_id=...)
    write_rows(load, stream.batches())         # on an exception: the load is failed, old rows untouched
    commit_load(load, rows=..., quarantined=stream.quarantined, columns=stream.columns)

Readers see the old rows until the commit and the new ones after it, never a mix; an exception, ``fail_load``
or a crash leaves the old rows in place. A load streams its rows into one transaction ("transaction" mode);
a report type too big for one is loaded "staged" (rows inserted under a pending stamp, then published by a
short transaction), and so is every load on a server without transactions, where publishing is a best
effort (a warning is logged). A snapshot (``report_date=None``) is stored under its day and ``"latest"``.

Design notes and measurements: docs/design/write-path.md.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Self

import bson
from bson import ObjectId
from pymongo import DESCENDING, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError
from pymongo.write_concern import WriteConcern

from paperplan_sync.readahead import ReadAhead, close_iterator
from paperplan_sync.sources.base import RowBatch
from paperplan_sync.storage import datapoints as datapoint_store
from paperplan_sync.storage.common import (
    batched,
    day_str,
    ensure_index,
    supports_transactions,
    utcnow,
)
from paperplan_sync.storage.rows import (
    DATE_FIELD,
    LATEST,
    LOAD_FIELD,
    collection_name,
    day_filter,
    ensure_row_layout,
    id_prefix,
    load_filter,
    pending,
    row_id,
)

log = logging.getLogger(__name__)

LOADS = "report_loads"
CURRENT = "report_current"  # one doc per (report type, target): which load's rows readers see
QUARANTINE = "quarantine"

BATCH_ROWS = 1000  # documents per insert_many: big enough to amortise round trips, far below 16 MB / 48 MB limits
AHEAD_BATCHES = 4  # insert batches built ahead on the reading thread while MongoDB writes the current one
QUARANTINE_SAMPLE = 100
ROW_SIZE_SAMPLE = 20
# One transaction's dirty data must stay under MongoDB's transactionTooLargeForCacheThreshold (0.75 x 20% of
# the WiredTiger cache: ~75 MB on a 2 GB Atlas M10); rows + _id index + oplog take ~2-3x the rows' BSON size.
TXN_MAX_BYTES = 64 * 1024 * 1024  # estimated row bytes: a transaction-mode load that grows past this fails
LARGE_LOAD_BYTES = 48 * 1024 * 1024  # the type's last load above this -> the next one is staged
ABANDONED_AFTER = timedelta(hours=6)  # a "running" load this old belongs to a dead process
BEGIN_WAIT_S = 120.0  # a concurrent load of the same day holds its transaction for at most ~60 s
MAJORITY = WriteConcern("majority")
# Codes meaning "the transaction outlived or outgrew the server's limits".
TXN_LIMIT_HINT = "outlived or outgrew one transaction"
TXN_LIMIT_CODES = {
    251: "NoSuchTransaction",
    257: "TransactionTooLarge",
    290: "TransactionExceededLifetimeLimitSeconds",
    388: "TransactionTooLargeForCache",
}


class Mode(StrEnum):
    TRANSACTION = "transaction"
    STAGED = "staged"


class Status(StrEnum):
    RUNNING = "running"
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    KEPT_PREVIOUS = "kept_previous"  # an empty answer for a day that holds rows: the old rows stay


class LoadError(RuntimeError):
    """Misuse of a load (e.g. writing to a finished one) or a row count mismatch at commit."""


class LoadTooLargeForTransaction(LoadError):
    """A transaction-mode load grew past ``TXN_MAX_BYTES``; the type's next load is staged."""


@dataclass(eq=False)
class ReportLoad:
    """One load in progress. ``load_id`` is the metadata document's ObjectId as a string (Airtable "Mongo Id")."""

    db: Database
    load_id: str
    report_name: str
    collection: str
    report_date: str  # the day; for a snapshot, the snapshot day
    snapshot: bool
    mode: Mode
    atomic: bool  # False only on a server without transactions
    rows: int = 0
    row_bytes: float = 0.0  # average BSON size of a row, sampled from the first batch
    status: Status = Status.RUNNING
    _session: ClientSession | None = field(default=None, repr=False)

    @property
    def targets(self) -> list[str]:
        """The ``_report_date`` values this load replaces."""
        return [self.report_date, LATEST] if self.snapshot else [self.report_date]

    def __enter__(self) -> Self:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if self.status is Status.RUNNING:
            fail_load(self, describe(exc) if exc else "load closed without commit_load")


def ensure_indexes(db: Database) -> None:
    ensure_index(db[LOADS], [("report_name", 1), ("status", 1), ("_id", DESCENDING)], "name_status_id")
    ensure_index(db[LOADS], [("report_name", 1), ("report_date", 1), ("_id", DESCENDING)], "name_date_id")
    ensure_index(db[LOADS], [("status", 1), ("started_at", 1)], "status_started")
    ensure_index(db[QUARANTINE], [("load_id", 1), ("line", 1)], "load_line")


def start_load(
    db: Database,
    *,
    report_name: str,
    report_date: date | str | None,
    api_report_id: str | None = None,
    run_id: str | None = None,
    snapshot_day: date | str | None = None,
    mode: Mode | str | None = None,
) -> ReportLoad:
    """Register a load (status "running") and return it. ``report_date=None`` means a snapshot report type,
    stored under ``snapshot_day`` (default: today in UTC) and ``"latest"``. ``mode=None`` picks one."""
    collection = collection_name(report_name)
    ensure_row_layout(db, collection)
    discard_abandoned(db, report_name)
    snapshot = report_date is None
    day = day_str(snapshot_day or utcnow().date()) if snapshot else day_str(report_date)
    atomic = supports_transactions(db.client)
    chosen = Mode(mode) if mode else _choose_mode(db, report_name, atomic)
    if not atomic:
        _warn_standalone_once()
    load_id = ObjectId()
    load = ReportLoad(
        db=db,
        load_id=str(load_id),
        report_name=report_name,
        collection=collection,
        report_date=day,
        snapshot=snapshot,
        mode=chosen,
        atomic=atomic,
    )
    db.get_collection(LOADS, write_concern=MAJORITY).insert_one(
        {
            "_id": load_id,
            "report_name": report_name,
            "collection": collection,
            "report_date": day,
            "snapshot": snapshot,
            "targets": load.targets,
            "api_report_id": api_report_id,
            "run_id": run_id,
            "status": Status.RUNNING.value,
            "mode": chosen.value,
            "atomic": atomic,
            "rows": 0,
            "approx_bytes": 0,
            "quarantined_rows": 0,
            "quarantine_sample": [],
            "columns": [],
            "detail": None,
            "started_at": utcnow(),
            "finished_at": None,
            "error": None,
        }
    )
    return load


def _choose_mode(db: Database, report_name: str, atomic: bool) -> Mode:
    """Transaction unless the server has none, or the type's last finished load was (or failed for being)
    too big for one: a first huge load fails once with a clear error, the next attempt is staged."""
    if not atomic:
        return Mode.STAGED
    last = db[LOADS].find_one(
        {"report_name": report_name, "status": {"$ne": Status.RUNNING.value}}, sort=[("_id", DESCENDING)]
    )
    if last is None:
        return Mode.TRANSACTION
    too_big = (last.get("approx_bytes") or 0) > LARGE_LOAD_BYTES
    hit_limit = last.get("status") == Status.FAILED.value and TXN_LIMIT_HINT in (last.get("error") or "")
    return Mode.STAGED if too_big or hit_limit else Mode.TRANSACTION


_warned_standalone = False


def _warn_standalone_once() -> None:
    global _warned_standalone
    if not _warned_standalone:
        _warned_standalone = True
        log.warning(
            "MongoDB server has no transactions (standalone): report loads are published without "
            "atomicity; readers may briefly see a day empty or partly replaced. Use a replica set."
        )


def write_rows(load: ReportLoad, chunks: Iterable[RowBatch | list[dict[str, Any]]]) -> int:
    """Stream chunks of rows (``RowBatch`` objects or lists of row dicts) into the load; returns the rows
    written by this call.

    The chunks are read, and the documents built, on a worker thread a few batches ahead of the inserts,
    so downloading and parsing overlap with MongoDB writing (and, in transaction mode, with it deleting the
    day's old rows). Any exception (from the chunk iterator or from MongoDB) fails the load, then propagates.
    """
    if load.status is not Status.RUNNING:
        raise LoadError(f"load {load.load_id} is {load.status.value}, cannot write rows")
    coll = load.db[load.collection]
    written = 0
    try:
        with ReadAhead(_documents(load, chunks), AHEAD_BATCHES, name=f"load:{load.load_id}") as ahead:
            session = _transaction(load) if load.mode is Mode.TRANSACTION else None
            for docs, rows in ahead:
                if not load.row_bytes:
                    sample = docs[:ROW_SIZE_SAMPLE]
                    load.row_bytes = sum(len(bson.encode(d)) for d in sample) / len(sample)
                coll.insert_many(docs, ordered=False, session=session)
                written += rows
                load.rows += rows
                if session is not None and _approx_bytes(load) > TXN_MAX_BYTES:
                    # Fail early and clearly rather than at the server's limit (an abort, or on the stand-in a stall).
                    raise LoadTooLargeForTransaction(
                        f"~{_approx_bytes(load) >> 20} MiB after {load.rows} rows: the load {TXN_LIMIT_HINT}; "
                        f"the next load of {load.report_name!r} is staged"
                    )
    except BaseException as exc:
        fail_load(load, describe(exc))
        raise
    return written


def _documents(
    load: ReportLoad,
    chunks: Iterable[RowBatch | list[dict[str, Any]]],
) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """(documents, rows) in even batches of about ``BATCH_ROWS`` documents, whatever the producer's chunk
    size (many tiny chunks would mean many round trips). Each document is built once, stamps included."""
    # Row numbers continue across write_rows calls; one (id prefix, stamp) per target the load replaces.
    number = load.rows
    stamps = [
        (id_prefix(t, load.load_id), t if load.mode is Mode.TRANSACTION else pending(load.load_id, t))
        for t in load.targets
    ]
    per_row = len(stamps)
    take = max(per_row, BATCH_ROWS - BATCH_ROWS % per_row)  # a multiple of the copies per row: rows = docs / copies
    docs: list[dict[str, Any]] = []
    it = iter(chunks)
    try:
        for chunk in it:
            for prefix, stamp in stamps:
                docs += _stamped(chunk, prefix, number, {DATE_FIELD: stamp, LOAD_FIELD: load.load_id})
            number += len(chunk)
            while len(docs) >= take:
                yield docs[:take], take // per_row
                docs = docs[take:]
    finally:
        close_iterator(it)  # stopped early: the source releases what it holds now
    if docs:
        yield docs, len(docs) // per_row


def _stamped(
    chunk: RowBatch | list[dict[str, Any]], prefix: str, first: int, stamps: dict[str, str]
) -> list[dict[str, Any]]:
    """The chunk's documents for one target: the row's fields, then ``_id`` and the stamps (which win over
    a report column of the same name). A columnar batch's documents are built straight from its values."""
    ids = [row_id(prefix, n) for n in range(first, first + len(chunk))]
    if isinstance(chunk, RowBatch) and chunk.values is not None:
        cols = chunk.columns
        return [dict(zip(cols, v, strict=True), _id=i, **stamps) for i, v in zip(ids, chunk.values, strict=True)]
    rows = chunk.dicts() if isinstance(chunk, RowBatch) else chunk
    return [{**row, "_id": i, **stamps} for i, row in zip(ids, rows, strict=True)]


def _transaction(load: ReportLoad) -> ClientSession:
    """The load's transaction, opened on first use: claim the day(s) and delete their old rows.

    Opening is retried while a concurrent load of the same day holds its claim (a write conflict); no row
    has been consumed yet, so retrying is safe.
    """
    if load._session is not None:
        return load._session
    deadline = time.monotonic() + BEGIN_WAIT_S
    delay = 0.1
    while True:
        session = load.db.client.start_session()
        session.start_transaction(write_concern=MAJORITY)
        try:
            for t in load.targets:
                _claim(load, t, session)
                load.db[load.collection].delete_many(day_filter(t), session=session)
            load._session = session
            return session
        except PyMongoError as exc:
            _end(session)
            if not exc.has_error_label("TransientTransactionError") or time.monotonic() > deadline:
                raise
            time.sleep(delay)
            delay = min(delay * 2, 2.0)


def _claim(load: ReportLoad, target: str, session: ClientSession | None) -> None:
    """Write the (type, target) pointer: the document two concurrent loads of a day both write, so their
    transactions conflict instead of both publishing rows (when the day had no rows, the deletes alone
    would not conflict)."""
    load.db[CURRENT].update_one(
        {"_id": f"{load.collection}|{target}"},
        {
            "$set": {
                "report_name": load.report_name,
                "report_date": target,
                "load_id": load.load_id,
                "claimed_at": utcnow(),
            }
        },
        upsert=True,
        session=session,
    )


def _end(session: ClientSession) -> None:
    try:
        if session.in_transaction:
            session.abort_transaction()
    except PyMongoError:
        pass  # the server aborts it anyway (lifetime limit / session end)
    finally:
        session.end_session()


def commit_load(
    load: ReportLoad,
    *,
    rows: int | None = None,
    quarantined: Iterable[Any] = (),
    columns: Iterable[str] = (),
    status_detail: str | None = None,
    datapoints: Iterable[dict[str, Any]] | None = None,
    keep_rows_if_empty: bool = False,
) -> dict[str, Any]:
    """Publish the load: its rows become THE rows of its day(s). Returns the final metadata document.

    ``rows`` (optional) is the caller's count, checked against what was written. ``quarantined`` holds
    dicts or objects with ``line``, ``reason``, ``raw`` (e.g. ``sources.base.QuarantinedRow``).
    ``datapoints`` (optional) become THE datapoints of the load's (report, day), in the same transaction as
    the rows. A load with no rows (an empty report) publishes an empty day, unless ``keep_rows_if_empty``
    and the day holds rows: then nothing changes and the document says so (status ``kept_previous``,
    ``kept_rows``, ``kept_load_id``).
    """
    if load.status is not Status.RUNNING:
        raise LoadError(f"load {load.load_id} is {load.status.value}, cannot commit")
    try:
        if rows is not None and rows != load.rows:
            raise LoadError(f"caller counted {rows} rows but {load.rows} were written")
        if keep_rows_if_empty and load.rows == 0 and (held := _held_rows(load)):
            return _keep_previous(load, held)
        bad = [_quarantine_doc(load, q) for q in quarantined]
        points = None if datapoints is None else [datapoint_store.normalize(p) for p in datapoints]
        finish = {
            "status": Status.SUCCEEDED.value,
            "rows": load.rows,
            "approx_bytes": _approx_bytes(load),
            "quarantined_rows": len(bad),
            "quarantine_sample": [{k: q[k] for k in ("line", "reason", "raw")} for q in bad[:QUARANTINE_SAMPLE]],
            "columns": list(columns),
            "detail": status_detail,
            "error": None,
        }
        if load.mode is Mode.TRANSACTION:
            session = _transaction(load)
            _finish(load, bad, finish, session, points)
            session.commit_transaction()
            _end(session)
            load._session = None
        elif load.atomic:
            with load.db.client.start_session() as session:
                session.with_transaction(
                    lambda s: _publish_staged(load, bad, finish, s, points), write_concern=MAJORITY
                )
        else:
            _publish_staged(load, bad, finish, None, points)
    except BaseException as exc:
        fail_load(load, describe(exc))
        raise
    load.status = Status.SUCCEEDED
    return load.db[LOADS].find_one({"_id": ObjectId(load.load_id)})


def _publish_staged(
    load: ReportLoad, bad: list[dict], finish: dict, session: ClientSession | None, points: list[dict] | None
) -> None:
    coll = load.db[load.collection]
    for t in load.targets:
        _claim(load, t, session)
        coll.delete_many(day_filter(t), session=session)
        coll.update_many(
            {**load_filter(t, load.load_id), DATE_FIELD: pending(load.load_id, t)},
            {"$set": {DATE_FIELD: t}},
            session=session,
        )
    _finish(load, bad, finish, session, points)


def _finish(
    load: ReportLoad, bad: list[dict], finish: dict, session: ClientSession | None, points: list[dict] | None = None
) -> None:
    """Quarantine, datapoints, pointers and metadata: inside the publishing transaction, so they flip with the rows."""
    now = utcnow()
    if points is not None:
        datapoint_store.replace_day(
            load.db, load.report_name, load.report_date, points, load_id=load.load_id, session=session
        )
    for batch in batched(bad, BATCH_ROWS):
        load.db[QUARANTINE].insert_many([dict(q) for q in batch], ordered=False, session=session)
    for t in load.targets:
        load.db[CURRENT].update_one(
            {"_id": f"{load.collection}|{t}"}, {"$set": {"rows": load.rows, "committed_at": now}}, session=session
        )
    load.db[LOADS].update_one(
        {"_id": ObjectId(load.load_id)}, {"$set": {**finish, "finished_at": now}}, session=session
    )


def _held_rows(load: ReportLoad) -> dict[str, Any] | None:
    """The committed pointer of the load's day when that day holds rows (read outside the load's transaction)."""
    pointer = load.db[CURRENT].find_one({"_id": f"{load.collection}|{load.targets[0]}"})
    return pointer if pointer and pointer.get("rows") and pointer.get("load_id") != load.load_id else None


def _keep_previous(load: ReportLoad, held: dict[str, Any]) -> dict[str, Any]:
    """Drop the empty load (its transaction deleted nothing yet that anyone saw) and record why."""
    if load._session is not None:
        _end(load._session)
        load._session = None
    if load.mode is Mode.STAGED:
        _delete_pending(load.db, load.collection, load.load_id, load.targets)
    load.status = Status.KEPT_PREVIOUS
    load.db.get_collection(LOADS, write_concern=MAJORITY).update_one(
        {"_id": ObjectId(load.load_id)},
        {
            "$set": {
                "status": Status.KEPT_PREVIOUS.value,
                "rows": 0,
                "kept_rows": held["rows"],
                "kept_load_id": held["load_id"],
                "detail": f"re-pull returned no data; kept {held['rows']} rows",
                "finished_at": utcnow(),
            }
        },
    )
    return load.db[LOADS].find_one({"_id": ObjectId(load.load_id)})


def _quarantine_doc(load: ReportLoad, q: Any) -> dict[str, Any]:
    get = q.get if isinstance(q, dict) else (lambda k: getattr(q, k, None))
    return {
        "load_id": load.load_id,
        "report_name": load.report_name,
        "report_date": load.report_date,
        "line": get("line"),
        "reason": get("reason"),
        "raw": get("raw"),
        "created_at": utcnow(),
    }


def fail_load(load: ReportLoad, error: str) -> None:
    """Abandon the load: nothing of it becomes visible, the previous good rows stay. Idempotent; never
    raises (it runs in exception handlers: a MongoDB outage is logged, and the abandoned-load sweep of a
    later ``start_load`` finishes the job)."""
    if load.status is not Status.RUNNING:
        return
    load.status = Status.FAILED
    if load._session is not None:
        _end(load._session)
        load._session = None
    try:
        if load.mode is Mode.STAGED:
            _delete_pending(load.db, load.collection, load.load_id, load.targets)
        load.db.get_collection(LOADS, write_concern=MAJORITY).update_one(
            {"_id": ObjectId(load.load_id), "status": Status.RUNNING.value},
            {
                "$set": {
                    "status": Status.FAILED.value,
                    "error": error,
                    "rows": load.rows,
                    "approx_bytes": _approx_bytes(load),
                    "finished_at": utcnow(),
                }
            },
        )
    except PyMongoError:
        log.exception("could not record the failure of load %s (%s)", load.load_id, error)


def _approx_bytes(load: ReportLoad) -> int:
    """Estimated BSON bytes the load wrote (per target copy): what sizes its transaction."""
    return int(load.row_bytes * load.rows * len(load.targets))


def _delete_pending(db: Database, collection: str, load_id: str, targets: list[str]) -> None:
    """A staged load's unpublished rows (a range of the ``_id`` index per target); never published ones."""
    for t in targets:
        db[collection].delete_many({**load_filter(t, load_id), DATE_FIELD: pending(load_id, t)})


def discard_abandoned(db: Database, report_name: str, older_than: timedelta = ABANDONED_AFTER) -> int:
    """Fail "running" loads of a dead process (older than ``older_than``) and drop their pending rows."""
    cutoff = utcnow() - older_than
    count = 0
    while doc := db[LOADS].find_one_and_update(
        {"report_name": report_name, "status": Status.RUNNING.value, "started_at": {"$lt": cutoff}},
        {
            "$set": {
                "status": Status.FAILED.value,
                "finished_at": utcnow(),
                "error": f"abandoned: still running after {older_than}",
            }
        },
        return_document=ReturnDocument.AFTER,
    ):
        _delete_pending(db, doc["collection"], str(doc["_id"]), doc.get("targets") or [doc["report_date"]])
        count += 1
    return count


def describe(exc: BaseException) -> str:
    text = f"{type(exc).__name__}: {exc}"
    if isinstance(exc, OperationFailure) and exc.code in TXN_LIMIT_CODES:
        text += f" [{TXN_LIMIT_CODES[exc.code]}: the load {TXN_LIMIT_HINT}; the next one is staged]"
    return text


def get_load(db: Database, load_id: str) -> dict[str, Any] | None:
    return db[LOADS].find_one({"_id": ObjectId(load_id)})


def previous_successful_load(
    db: Database, report_name: str, before_load_id: str | None = None
) -> dict[str, Any] | None:
    """The last succeeded load of a report type (started before ``before_load_id`` if given)."""
    query: dict[str, Any] = {"report_name": report_name, "status": Status.SUCCEEDED.value}
    if before_load_id:
        query["_id"] = {"$lt": ObjectId(before_load_id)}
    return db[LOADS].find_one(query, sort=[("_id", DESCENDING)])


def current_load(db: Database, report_name: str, report_date: date | str) -> dict[str, Any] | None:
    """The metadata of the load whose rows readers currently see for a day (or ``"latest"``)."""
    t = LATEST if report_date == LATEST else day_str(report_date)
    pointer = db[CURRENT].find_one({"_id": f"{collection_name(report_name)}|{t}"})
    return get_load(db, pointer["load_id"]) if pointer else None


def quarantined_rows(db: Database, load_id: str) -> list[dict[str, Any]]:
    return list(db[QUARANTINE].find({"load_id": load_id}, {"_id": 0}).sort("line", 1))
