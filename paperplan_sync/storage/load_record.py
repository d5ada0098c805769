"""What a report load is, and its records outside the publishing transaction.

``ReportLoad`` is one load in progress. Its metadata document lives in ``report_loads`` (status running ->
succeeded / failed / kept_previous), its quarantined rows in ``quarantine``, and one pointer per (report type,
target day) in ``report_current`` says whose rows readers see. Here: starting and failing a load's record,
the sweep of loads a dead process left running, and the reads. The write path itself is ``loads``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from enum import StrEnum
from typing import Any, Self

from bson import ObjectId
from pymongo import DESCENDING, ReturnDocument
from pymongo.client_session import ClientSession
from pymongo.database import Database
from pymongo.errors import OperationFailure, PyMongoError
from pymongo.write_concern import WriteConcern

from paperplan_sync.storage.common import day_str, ensure_index, utcnow
from paperplan_sync.storage.rows import DATE_FIELD, LATEST, collection_name, load_filter, pending

log = logging.getLogger(__name__)

LOADS = "report_loads"
CURRENT = "report_current"  # one doc per (report type, target): which load's rows readers see
QUARANTINE = "quarantine"

ABANDONED_AFTER = timedelta(hours=6)  # a "running" load this old belongs to a dead process
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
    """A transaction-mode load grew past ``loads.TXN_MAX_BYTES``; the type's next load is staged."""


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

    @property
    def approx_bytes(self) -> int:
        """Estimated BSON bytes the load wrote (per target copy): what sizes its transaction."""
        return int(self.row_bytes * self.rows * len(self.targets))

    def expect_running(self, action: str) -> None:
        if self.status is not Status.RUNNING:
            raise LoadError(f"load {self.load_id} is {self.status.value}, cannot {action}")

    def drop_session(self) -> None:
        """End the load's transaction, if one is open: aborted unless it was committed."""
        session, self._session = self._session, None
        if session is None:
            return
        try:
            if session.in_transaction:
                session.abort_transaction()
        except PyMongoError:
            pass  # the server aborts it anyway (lifetime limit / session end)
        finally:
            session.end_session()

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


def record_start(load: ReportLoad, *, api_report_id: str | None, run_id: str | None) -> None:
    """The load's metadata document, status "running"."""
    load.db.get_collection(LOADS, write_concern=MAJORITY).insert_one(
        {
            "_id": ObjectId(load.load_id),
            "report_name": load.report_name,
            "collection": load.collection,
            "report_date": load.report_date,
            "snapshot": load.snapshot,
            "targets": load.targets,
            "api_report_id": api_report_id,
            "run_id": run_id,
            "status": Status.RUNNING.value,
            "mode": load.mode.value,
            "atomic": load.atomic,
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


def last_finished_load(db: Database, report_name: str) -> dict[str, Any] | None:
    return db[LOADS].find_one(
        {"report_name": report_name, "status": {"$ne": Status.RUNNING.value}}, sort=[("_id", DESCENDING)]
    )


def fail_load(load: ReportLoad, error: str) -> None:
    """Abandon the load: nothing of it becomes visible, the previous good rows stay. Idempotent; never
    raises (it runs in exception handlers: a MongoDB outage is logged, and the abandoned-load sweep of a
    later ``start_load`` finishes the job)."""
    if load.status is not Status.RUNNING:
        return
    load.status = Status.FAILED
    load.drop_session()
    try:
        if load.mode is Mode.STAGED:
            delete_pending(load.db, load.collection, load.load_id, load.targets)
        load.db.get_collection(LOADS, write_concern=MAJORITY).update_one(
            {"_id": ObjectId(load.load_id), "status": Status.RUNNING.value},
            {
                "$set": {
                    "status": Status.FAILED.value,
                    "error": error,
                    "rows": load.rows,
                    "approx_bytes": load.approx_bytes,
                    "finished_at": utcnow(),
                }
            },
        )
    except PyMongoError:
        log.exception("could not record the failure of load %s (%s)", load.load_id, error)


def delete_pending(db: Database, collection: str, load_id: str, targets: list[str]) -> None:
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
        delete_pending(db, doc["collection"], str(doc["_id"]), doc.get("targets") or [doc["report_date"]])
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
