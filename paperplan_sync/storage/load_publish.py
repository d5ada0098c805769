"""Publishing a load: the transaction that makes its rows THE rows of its day(s).

A transaction-mode load opens its transaction before its first insert (claim the day, delete the old rows)
and commits it here; a staged load's pending rows are flipped to their day in one short transaction (or,
without transactions, one best-effort pass). Quarantine, datapoints, day pointers and the metadata document
are written in the same transaction, so they flip with the rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import tenacity
from bson import ObjectId
from pymongo.client_session import ClientSession
from pymongo.errors import PyMongoError

from paperplan_sync.storage import datapoints as datapoint_store
from paperplan_sync.storage.common import batched, utcnow
from paperplan_sync.storage.load_record import (
    CURRENT,
    LOADS,
    MAJORITY,
    QUARANTINE,
    Mode,
    ReportLoad,
    Status,
    delete_pending,
)
from paperplan_sync.storage.rows import DATE_FIELD, day_filter, load_filter, pending

BEGIN_WAIT_S = 120.0  # a concurrent load of the same day holds its transaction for at most ~60 s
INSERT_BATCH = 1000  # quarantine documents per insert_many


@dataclass
class Publication:
    """What a commit writes beside the rows: the quarantine documents, the metadata document's final fields
    and (when given) the datapoints that become THE datapoints of the load's (report, day)."""

    quarantine: list[dict[str, Any]]
    fields: dict[str, Any]
    datapoints: list[dict[str, Any]] | None


def open_transaction(load: ReportLoad) -> ClientSession:
    """The load's transaction, opened on first use: claim the day(s) and delete their old rows.

    Opening is retried while a concurrent load of the same day holds its claim (a write conflict); no row
    has been consumed yet, so retrying is safe.
    """
    if load._session is not None:
        return load._session
    retrying = tenacity.Retrying(
        retry=tenacity.retry_if_exception(_write_conflict),
        stop=tenacity.stop_after_delay(BEGIN_WAIT_S),
        wait=tenacity.wait_exponential(multiplier=0.1, max=2.0),
        reraise=True,
    )
    return retrying(_claim_days, load)


def _write_conflict(exc: BaseException) -> bool:
    return isinstance(exc, PyMongoError) and exc.has_error_label("TransientTransactionError")


def _claim_days(load: ReportLoad) -> ClientSession:
    load._session = session = load.db.client.start_session()
    session.start_transaction(write_concern=MAJORITY)
    try:
        for t in load.targets:
            claim(load, t, session)
            load.db[load.collection].delete_many(day_filter(t), session=session)
    except PyMongoError:
        load.drop_session()
        raise
    return session


def claim(load: ReportLoad, target: str, session: ClientSession | None) -> None:
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


def publish(load: ReportLoad, publication: Publication) -> None:
    """Make the load's rows and ``publication`` visible together."""
    if load.mode is Mode.TRANSACTION:
        session = open_transaction(load)
        _finish(load, publication, session)
        session.commit_transaction()
        load.drop_session()
    elif load.atomic:
        with load.db.client.start_session() as session:
            session.with_transaction(lambda s: _publish_staged(load, publication, s), write_concern=MAJORITY)
    else:
        _publish_staged(load, publication, None)


def _publish_staged(load: ReportLoad, publication: Publication, session: ClientSession | None) -> None:
    coll = load.db[load.collection]
    for t in load.targets:
        claim(load, t, session)
        coll.delete_many(day_filter(t), session=session)
        coll.update_many(
            {**load_filter(t, load.load_id), DATE_FIELD: pending(load.load_id, t)},
            {"$set": {DATE_FIELD: t}},
            session=session,
        )
    _finish(load, publication, session)


def _finish(load: ReportLoad, publication: Publication, session: ClientSession | None) -> None:
    """Quarantine, datapoints, pointers and metadata: inside the publishing transaction, so they flip with the rows."""
    now = utcnow()
    if publication.datapoints is not None:
        datapoint_store.replace_day(
            load.db, load.report_name, load.report_date, publication.datapoints, load_id=load.load_id, session=session
        )
    for batch in batched(publication.quarantine, INSERT_BATCH):
        load.db[QUARANTINE].insert_many([dict(q) for q in batch], ordered=False, session=session)
    for t in load.targets:
        load.db[CURRENT].update_one(
            {"_id": f"{load.collection}|{t}"}, {"$set": {"rows": load.rows, "committed_at": now}}, session=session
        )
    load.db[LOADS].update_one(
        {"_id": ObjectId(load.load_id)}, {"$set": {**publication.fields, "finished_at": now}}, session=session
    )


def held_rows(load: ReportLoad) -> dict[str, Any] | None:
    """The committed pointer of the load's day when that day holds rows (read outside the load's transaction)."""
    pointer = load.db[CURRENT].find_one({"_id": f"{load.collection}|{load.targets[0]}"})
    return pointer if pointer and pointer.get("rows") and pointer.get("load_id") != load.load_id else None


def keep_previous(load: ReportLoad, held: dict[str, Any]) -> None:
    """Drop the empty load (its transaction deleted nothing yet that anyone saw) and record why."""
    load.drop_session()
    if load.mode is Mode.STAGED:
        delete_pending(load.db, load.collection, load.load_id, load.targets)
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


def quarantine_document(load: ReportLoad, q: Any) -> dict[str, Any]:
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
