"""The report write path: a load makes its rows THE rows of one (report type, day), atomically.

    load = start_load(db, report_name="sales_report", report_date=day, api_report_id=..., run_id=...)
    write_rows(load, stream.batches())         # on an exception: the load is failed, old rows untouched
    commit_load(load, rows=..., quarantined=stream.quarantined, columns=stream.columns)

Readers see the old rows until the commit and the new ones after it, never a mix; an exception, ``fail_load``
or a crash leaves the old rows in place. A load streams its rows into one transaction ("transaction" mode);
a report type too big for one is loaded "staged" (rows inserted under a pending stamp, then published by a
short transaction), and so is every load on a server without transactions, where publishing is a best
effort (a warning is logged). A snapshot (``report_date=None``) is stored under its day and ``"latest"``.

The pieces: ``load_record`` (the load, its metadata document, the reads), ``load_documents`` (rows as
documents), ``load_publish`` (the publishing transaction). Design notes and measurements:
docs/design/write-path.md.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from typing import Any, cast

from bson import ObjectId
from pymongo.client_session import ClientSession
from pymongo.database import Database

from paperplan_sync.readahead import ReadAhead
from paperplan_sync.storage import datapoints as datapoint_store
from paperplan_sync.storage.common import day_str, supports_transactions, utcnow
from paperplan_sync.storage.load_documents import Chunk, average_bytes, documents
from paperplan_sync.storage.load_publish import (
    Publication,
    held_rows,
    keep_previous,
    open_transaction,
    publish,
    quarantine_document,
)
from paperplan_sync.storage.load_record import (
    LOADS,
    QUARANTINE,
    TXN_LIMIT_HINT,
    LoadError,
    LoadTooLargeForTransaction,
    Mode,
    ReportLoad,
    Status,
    current_load,
    describe,
    discard_abandoned,
    ensure_indexes,
    fail_load,
    get_load,
    last_finished_load,
    previous_successful_load,
    quarantined_rows,
    record_start,
)
from paperplan_sync.storage.rows import collection_name, ensure_row_layout

__all__ = [
    "LOADS",
    "QUARANTINE",
    "TXN_LIMIT_HINT",
    "LoadError",
    "LoadTooLargeForTransaction",
    "Mode",
    "ObjectId",
    "ReportLoad",
    "Status",
    "commit_load",
    "current_load",
    "discard_abandoned",
    "ensure_indexes",
    "fail_load",
    "get_load",
    "previous_successful_load",
    "quarantined_rows",
    "start_load",
    "write_rows",
]

log = logging.getLogger(__name__)

BATCH_ROWS = 1000  # documents per insert_many: big enough to amortise round trips, far below 16 MB / 48 MB limits
AHEAD_BATCHES = 4  # insert batches built ahead on the reading thread while MongoDB writes the current one
QUARANTINE_SAMPLE = 100
# One transaction's dirty data must stay under MongoDB's transactionTooLargeForCacheThreshold (0.75 x 20% of
# the WiredTiger cache: ~75 MB on a 2 GB Atlas M10); rows + _id index + oplog take ~2-3x the rows' BSON size.
TXN_MAX_BYTES = 64 * 1024 * 1024  # estimated row bytes: a transaction-mode load that grows past this fails
LARGE_LOAD_BYTES = 48 * 1024 * 1024  # the type's last load above this -> the next one is staged


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
    atomic = supports_transactions(db.client)
    if not atomic:
        _warn_standalone_once()
    load = ReportLoad(
        db=db,
        load_id=str(ObjectId()),
        report_name=report_name,
        collection=collection,
        report_date=day_str(snapshot_day or utcnow().date()) if report_date is None else day_str(report_date),
        snapshot=report_date is None,
        mode=Mode(mode) if mode else _choose_mode(db, report_name, atomic),
        atomic=atomic,
    )
    record_start(load, api_report_id=api_report_id, run_id=run_id)
    return load


def _choose_mode(db: Database, report_name: str, atomic: bool) -> Mode:
    """Transaction unless the server has none, or the type's last finished load was (or failed for being)
    too big for one: a first huge load fails once with a clear error, the next attempt is staged."""
    if not atomic:
        return Mode.STAGED
    last = last_finished_load(db, report_name)
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


def write_rows(load: ReportLoad, chunks: Iterable[Chunk]) -> int:
    """Stream chunks of rows (``RowBatch`` objects or lists of row dicts) into the load; returns the rows
    written by this call.

    The chunks are read, and the documents built, on a worker thread a few batches ahead of the inserts,
    so downloading and parsing overlap with MongoDB writing (and, in transaction mode, with it deleting the
    day's old rows). Any exception (from the chunk iterator or from MongoDB) fails the load, then propagates.
    """
    load.expect_running("write rows")
    written = 0
    try:
        batches = documents(load, chunks, BATCH_ROWS)
        with ReadAhead(batches, AHEAD_BATCHES, name=f"load:{load.load_id}") as ahead:
            session = open_transaction(load) if load.mode is Mode.TRANSACTION else None
            for docs, rows in ahead:
                _insert(load, docs, rows, session)
                written += rows
    except BaseException as exc:
        fail_load(load, describe(exc))
        raise
    return written


def _insert(load: ReportLoad, docs: list[dict[str, Any]], rows: int, session: ClientSession | None) -> None:
    if not load.row_bytes:
        load.row_bytes = average_bytes(docs)
    load.db[load.collection].insert_many(docs, ordered=False, session=session)
    load.rows += rows
    if session is not None and load.approx_bytes > TXN_MAX_BYTES:
        # Fail early and clearly rather than at the server's limit (an abort, or on the stand-in a stall).
        raise LoadTooLargeForTransaction(
            f"~{load.approx_bytes >> 20} MiB after {load.rows} rows: the load {TXN_LIMIT_HINT}; "
            f"the next load of {load.report_name!r} is staged"
        )


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
    load.expect_running("commit")
    try:
        if rows is not None and rows != load.rows:
            raise LoadError(f"caller counted {rows} rows but {load.rows} were written")
        if keep_rows_if_empty and load.rows == 0 and (held := held_rows(load)):
            keep_previous(load, held)
            return _document(load)
        publish(load, _publication(load, quarantined, columns, status_detail, datapoints))
    except BaseException as exc:
        fail_load(load, describe(exc))
        raise
    load.status = Status.SUCCEEDED
    return _document(load)


def _document(load: ReportLoad) -> dict[str, Any]:
    """The load's metadata document (written with majority at start: it is there)."""
    return cast(dict[str, Any], get_load(load.db, load.load_id))


def _publication(
    load: ReportLoad,
    quarantined: Iterable[Any],
    columns: Iterable[str],
    status_detail: str | None,
    datapoints: Iterable[dict[str, Any]] | None,
) -> Publication:
    bad = [quarantine_document(load, q) for q in quarantined]
    fields = {
        "status": Status.SUCCEEDED.value,
        "rows": load.rows,
        "approx_bytes": load.approx_bytes,
        "quarantined_rows": len(bad),
        "quarantine_sample": [{k: q[k] for k in ("line", "reason", "raw")} for q in bad[:QUARANTINE_SAMPLE]],
        "columns": list(columns),
        "detail": status_detail,
        "error": None,
    }
    points = None if datapoints is None else [datapoint_store.normalize(p) for p in datapoints]
    return Publication(quarantine=bad, fields=fields, datapoints=points)
