"""Airtable's *Logs* table keeps the last N days: older records are deleted, 10 a request.

Every Airtable plan caps the records of a base, and a full base refuses every write. MongoDB's ``logs``
collection keeps the whole history, and tells when there is anything to prune: a check costs no Airtable
call unless the product wrote Logs records in the days that just passed out of the window.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pyairtable.formulas import DATETIME_PARSE, IS_BEFORE, Field
from pymongo.database import Database

from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.records import airtable_time
from paperplan_sync.control_plane.schema import TABLE_LOGS
from paperplan_sync.storage import logs

EPOCH = "1970-01-01T00:00:00+00:00"


def prune_logs(airtable: AirtableResource, db: Database, *, keep_days: int, now: datetime) -> int:
    """Delete Logs records older than ``keep_days``; returns how many. The watermark (the last cutoff
    pruned) lives in the shared state, so the check is free until new records age out."""
    key = f"logs-retention-{airtable.base_id}"
    cutoff = now - timedelta(days=keep_days)
    pruned_until = datetime.fromisoformat(airtable.shared_state.read(key).get("pruned_until", EPOCH))
    if not logs.any_between(db, pruned_until, cutoff):
        return 0
    table = airtable.table(TABLE_LOGS)
    formula = IS_BEFORE(Field("Timestamp"), DATETIME_PARSE(airtable_time(cutoff)))
    ids = [r["id"] for r in table.all(formula=str(formula), fields=["Timestamp"])]
    table.batch_delete(ids)  # pyairtable sends 10 a request, Airtable's limit
    airtable.shared_state.update(key, lambda doc: {**doc, "pruned_until": cutoff.isoformat()})
    return len(ids)
