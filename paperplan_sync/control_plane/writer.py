"""Every write to the SYNC base goes through a durable outbox in MongoDB, then to Airtable in order.

So an Airtable outage never fails a data load and never loses a write: entries wait in the outbox
and a later flush (the next load, or the outbox sensor) sends them. Consecutive entries for the same
table are sent together, 10 records a request, under the shared 5 requests/s limit.

An outage only pauses the queue, which keeps its order. A write Airtable *refuses* (e.g. a renamed
field) is kept, backs off and is retried, without holding up the writes behind it.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pymongo.database import Database
from requests import HTTPError

from paperplan_sync.control_plane.airtable import AirtableResource, AirtableUnavailable
from paperplan_sync.control_plane.records import REPORT_KEY_FIELDS
from paperplan_sync.control_plane.schema import TABLE_LOGS, TABLE_OVERVIEW, TABLE_REPORTS
from paperplan_sync.reports.destinations import mirror_rows
from paperplan_sync.storage import outbox

log = logging.getLogger(__name__)

BATCH = 10  # Airtable's records-per-request limit
REFUSED = "refused: "
_EVERYTHING = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass
class FlushResult:
    sent: int = 0
    failed: int = 0
    stopped_by: str | None = None  # why the flush stopped early (Airtable unavailable)
    errors: list[str] = field(default_factory=list)


class AirtableWriter:
    def __init__(self, db: Database, airtable: AirtableResource | None):
        self.db, self.airtable = db, airtable

    # -- enqueue -------------------------------------------------------------------------------
    def upsert(self, table: str, fields: dict, key_fields: tuple[str, ...], *, coalesce_key: str | None = None) -> None:
        payload = {"op": "upsert", "table": table, "key_fields": list(key_fields), "fields": fields}
        outbox.enqueue(self.db, kind=f"upsert:{table}", payload=payload, key=coalesce_key)

    def create(self, table: str, fields: dict) -> None:
        outbox.enqueue(self.db, kind=f"create:{table}", payload={"op": "create", "table": table, "fields": fields})

    def report(self, fields: dict) -> None:
        key = f"{TABLE_REPORTS}:{fields['Report Type']}:{fields['Date']}"
        self.upsert(TABLE_REPORTS, fields, REPORT_KEY_FIELDS, coalesce_key=key)

    def log(self, fields: dict) -> None:
        self.create(TABLE_LOGS, fields)

    def mirror(self, *, report: str, report_date: str | None, table: str, key_fields: tuple[str, ...]) -> None:
        """Queue "copy this report's current rows into ``table``" (reads MongoDB when sent, so it stays small)."""
        payload = {"op": "mirror", "table": table, "report": report, "report_date": report_date, "key_fields": list(key_fields), "fields": {}}
        outbox.enqueue(self.db, kind=f"mirror:{table}", payload=payload, key=f"mirror:{report}:{report_date}")

    def heartbeat(self, fields: dict) -> None:
        self.upsert(TABLE_OVERVIEW, fields, ("Name",), coalesce_key=f"{TABLE_OVERVIEW}:heartbeat")

    # -- send ----------------------------------------------------------------------------------
    def flush(self, limit: int = 500, *, now: datetime | None = None) -> FlushResult:
        result = FlushResult()
        if self.airtable is None:
            result.stopped_by = "Airtable is not configured"
            return result
        now = now or datetime.now(UTC)
        entries = [e for e in outbox.pending(self.db, limit=limit, now=_EVERYTHING) if not _backing_off(e, now)]
        for batch in _batches(entries):
            ids = [e["_id"] for e in batch]
            try:
                self._send(batch)
            except AirtableUnavailable as exc:
                for entry_id in ids:
                    outbox.mark_failed_attempt(self.db, entry_id, str(exc))
                result.stopped_by = str(exc)
                break  # keep order: nothing after this batch is sent before it
            except (HTTPError, ValueError) as exc:
                # A rejected write (e.g. a renamed field): record why, keep it, do not block the rest.
                message = REFUSED + _error_text(exc)
                for entry_id in ids:
                    outbox.mark_failed_attempt(self.db, entry_id, message)
                result.failed += len(ids)
                result.errors.append(message)
                log.error("Airtable refused %d %s write(s): %s", len(ids), batch[0]["payload"]["table"], message)
                continue
            outbox.mark_done(self.db, ids)
            result.sent += len(ids)
        return result

    def _send(self, batch: list[dict]) -> None:
        payload = batch[0]["payload"]
        if payload["op"] == "mirror":
            mirror_rows(self.db, self.airtable, report=payload["report"], report_date=payload["report_date"],
                        table=payload["table"], key_fields=payload["key_fields"])
            return
        table = self.airtable.table(payload["table"])
        records = [e["payload"]["fields"] for e in batch]
        if payload["op"] == "create":
            table.batch_create(records, typecast=True)
        else:
            table.batch_upsert([{"fields": r} for r in records], key_fields=payload["key_fields"], typecast=True)


def _batches(entries: list[dict]):
    """Consecutive entries of the same kind, at most 10, and (for upserts) no key twice in one request."""
    batch: list[dict] = []
    keys: set = set()
    for entry in entries:
        payload = entry["payload"]
        key = tuple(payload["fields"].get(f) for f in payload.get("key_fields", ())) or None
        if payload["op"] == "mirror":  # one report per request group
            if batch:
                yield batch
            yield [entry]
            batch, keys = [], set()
            continue
        same_kind = batch and entry["kind"] == batch[0]["kind"] and payload.get("key_fields") == batch[0]["payload"].get("key_fields")
        if batch and (not same_kind or len(batch) == BATCH or (key is not None and key in keys)):
            yield batch
            batch, keys = [], set()
        batch.append(entry)
        if key is not None:
            keys.add(key)
    if batch:
        yield batch


def _backing_off(entry: dict, now: datetime) -> bool:
    if not str(entry.get("last_error") or "").startswith(REFUSED):
        return False
    due = entry["next_attempt_at"]
    return (due if due.tzinfo else due.replace(tzinfo=UTC)) > now


def _error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is None:
        return str(exc)
    try:
        return f"{response.status_code}: {response.json().get('error')}"
    except ValueError:
        return f"{response.status_code}: {response.text[:200]}"
