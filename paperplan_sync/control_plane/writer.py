"""Every write to the SYNC base goes through a durable outbox in MongoDB, then to Airtable in order.

An Airtable outage never fails a data load and never loses a write: it pauses the queue, and a later flush
(the next load, or the outbox sensor) sends the entries, 10 records a request under the shared limiter. A
write Airtable *refuses* backs off without holding up the writes behind it and, after
``outbox.MAX_REFUSALS`` refusals, is set aside as a dead letter. Delivery is at least once (a crash between
sending and marking done sends again). ``background=True`` sends full batches while a run writes::

    with AirtableWriter(db, airtable, background=True) as writer:
        writer.report(...)            # durable in MongoDB when it returns; sent soon after
        flushed = writer.flush()      # stops the sender, then sends what is left

Design notes: docs/design/airtable-writes.md.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from pymongo.database import Database
from requests import HTTPError

from paperplan_sync.control_plane.airtable import AirtableResource, AirtableUnavailable
from paperplan_sync.control_plane.mirror import mirror_rows
from paperplan_sync.control_plane.records import REPORT_KEY_FIELDS
from paperplan_sync.control_plane.schema import TABLE_LOGS, TABLE_OVERVIEW, TABLE_REPORTS
from paperplan_sync.storage import logs, outbox

log = logging.getLogger(__name__)

BATCH = 10  # Airtable's records-per-request limit
FLUSH_LIMIT = 500  # entries read per flush (and per background round)
REFUSED = "refused: "
_EVERYTHING = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass
class FlushResult:
    sent: int = 0
    failed: int = 0
    dead: int = 0  # writes set aside by this flush (refused MAX_REFUSALS times)
    stopped_by: str | None = None  # why the flush stopped early (Airtable unavailable)
    errors: list[str] = field(default_factory=list)

    def add(self, other: FlushResult) -> FlushResult:
        self.sent += other.sent
        self.failed += other.failed
        self.dead += other.dead
        self.stopped_by = self.stopped_by or other.stopped_by
        self.errors += other.errors
        return self


class AirtableWriter:
    def __init__(self, db: Database, airtable: AirtableResource | None, *, background: bool = False):
        self.db, self.airtable = db, airtable
        self.enqueued = 0  # writes queued through this writer
        self._sender = _BackgroundSender(self._send_full_batches) if background and airtable is not None else None

    def __enter__(self) -> AirtableWriter:
        return self

    def __exit__(self, *exc_info) -> None:
        self.close()

    def close(self) -> None:
        """Stop the background sender (after its current batch). What it has not sent stays pending."""
        if self._sender is not None:
            self._sender.stop()

    # -- enqueue -------------------------------------------------------------------------------
    def upsert(self, table: str, fields: dict, key_fields: tuple[str, ...], *, coalesce_key: str | None = None) -> None:
        payload = {"op": "upsert", "table": table, "key_fields": list(key_fields), "fields": fields}
        self._enqueue(f"upsert:{table}", payload, key=coalesce_key)

    def create(self, table: str, fields: dict) -> None:
        self._enqueue(f"create:{table}", {"op": "create", "table": table, "fields": fields})

    def report(self, fields: dict) -> None:
        key = f"{TABLE_REPORTS}:{fields['Report Type']}:{fields['Date']}"
        self.upsert(TABLE_REPORTS, fields, REPORT_KEY_FIELDS, coalesce_key=key)

    def log(self, fields: dict) -> None:
        logs.record(self.db, fields)  # the whole history; Airtable keeps the last N days (retention.py)
        self.create(TABLE_LOGS, fields)

    def mirror(self, *, report: str, report_date: str | None, table: str, key_fields: tuple[str, ...]) -> None:
        """Queue "copy this report's current rows into ``table``" (reads MongoDB when sent, so it stays small)."""
        payload: dict[str, object] = {
            "op": "mirror",
            "table": table,
            "report": report,
            "report_date": report_date,
            "key_fields": list(key_fields),
            "fields": {},
        }
        self._enqueue(f"mirror:{table}", payload, key=f"mirror:{report}:{report_date}")

    def heartbeat(self, fields: dict) -> None:
        self.upsert(TABLE_OVERVIEW, fields, ("Name",), coalesce_key=f"{TABLE_OVERVIEW}:heartbeat")

    def _enqueue(self, kind: str, payload: dict, key: str | None = None) -> None:
        outbox.enqueue(self.db, kind=kind, payload=payload, key=key)
        self.enqueued += 1
        if self._sender is not None:
            self._sender.wake()

    # -- send ----------------------------------------------------------------------------------
    def flush(self, limit: int = FLUSH_LIMIT, *, now: datetime | None = None) -> FlushResult:
        """Send pending writes in order. With a background sender: stop it, then send what it left,
        and report both (unless it already found Airtable unavailable: then the outbox sensor retries)."""
        result = self._sender.stop() if self._sender is not None else FlushResult()
        self._sender = None
        if result.stopped_by:
            return result
        if self.airtable is None:
            result.stopped_by = "Airtable is not configured"
            return result
        return result.add(self._send_batches(self._due_batches(limit, now)))

    def _send_full_batches(self, should_stop: Callable[[], bool]) -> FlushResult:
        """A background round: like flush(), but keeps back a last batch that more writes could still fill."""
        batches = self._due_batches(FLUSH_LIMIT, None)
        if batches and _may_grow(batches[-1]):
            batches.pop()
        return self._send_batches(batches, should_stop)

    def _due_batches(self, limit: int, now: datetime | None) -> list[list[dict]]:
        now = now or datetime.now(UTC)
        entries = [e for e in outbox.pending(self.db, limit=limit, now=_EVERYTHING) if not _backing_off(e, now)]
        return list(_batches(entries))

    def _send_batches(self, batches: list[list[dict]], should_stop: Callable[[], bool] = lambda: False) -> FlushResult:
        result = FlushResult()
        for batch in batches:
            if should_stop():
                break
            ids = [e["_id"] for e in batch]
            try:
                self._send(batch)
            except AirtableUnavailable as exc:
                for entry_id in ids:
                    outbox.mark_failed_attempt(self.db, entry_id, str(exc))
                result.stopped_by = str(exc)
                break  # keep order: nothing after this batch is sent before it
            except (HTTPError, ValueError) as exc:
                if len(batch) > 1:  # Airtable refuses a whole request for one bad record: find it
                    result.add(self._send_batches([[entry] for entry in batch], should_stop))
                    continue
                self._refused(batch[0], REFUSED + _error_text(exc), result)
                continue
            outbox.mark_done(self.db, ids)
            result.sent += len(ids)
        return result

    def _refused(self, entry: dict, message: str, result: FlushResult) -> None:
        """Record why, keep it (backing off), do not block the rest; set it aside after MAX_REFUSALS."""
        table = entry["payload"]["table"]
        doc = outbox.mark_failed_attempt(self.db, entry["_id"], message)
        result.failed += 1
        result.errors.append(message)
        if doc is not None and doc["attempts"] >= outbox.MAX_REFUSALS:
            outbox.set_aside(self.db, entry["_id"], message)
            result.dead += 1
            log.error("Airtable refused a %s write %d times, set aside: %s", table, doc["attempts"], message)
        else:
            log.error("Airtable refused a %s write: %s", table, message)

    def _send(self, batch: list[dict]) -> None:
        assert self.airtable is not None  # nothing is sent without Airtable (flush)
        payload = batch[0]["payload"]
        if payload["op"] == "mirror":
            mirror_rows(
                self.db,
                self.airtable,
                report=payload["report"],
                report_date=payload["report_date"],
                table=payload["table"],
                key_fields=payload["key_fields"],
            )
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
        same_kind = (
            batch
            and entry["kind"] == batch[0]["kind"]
            and payload.get("key_fields") == batch[0]["payload"].get("key_fields")
        )
        if batch and (not same_kind or len(batch) == BATCH or (key is not None and key in keys)):
            yield batch
            batch, keys = [], set()
        batch.append(entry)
        if key is not None:
            keys.add(key)
    if batch:
        yield batch


def _may_grow(batch: list[dict]) -> bool:
    """A short batch at the end of the queue could still fill up (a mirror is always sent alone)."""
    return len(batch) < BATCH and batch[0]["payload"]["op"] != "mirror"


def _backing_off(entry: dict, now: datetime) -> bool:
    if not str(entry.get("last_error") or "").startswith(REFUSED):
        return False
    due = entry["next_attempt_at"]
    return (due if due.tzinfo else due.replace(tzinfo=UTC)) > now


def refused_fields(entry: dict) -> str:
    """The field Airtable's error names (e.g. 'Unknown field name: "Colour"'), else the fields the write set."""
    payload = entry["payload"]
    names = list(payload.get("fields") or {}) or list(payload.get("key_fields") or [])
    quoted = re.findall(r'"([^"]+)"', str(entry.get("last_error") or ""))
    named = [q for q in quoted if q in names] or [q for q in quoted if not q.isupper()][:1]
    return ", ".join(named or names) or "(none)"


def _error_text(exc: Exception) -> str:
    response = getattr(exc, "response", None)
    if response is None:
        return str(exc)
    try:
        return f"{response.status_code}: {response.json().get('error')}"
    except ValueError:
        return f"{response.status_code}: {response.text[:200]}"


class _BackgroundSender:
    """A daemon thread that runs ``send_round`` whenever something new was queued, until ``stop()``.

    It ends by itself when a round fails (Airtable unavailable, MongoDB error): what is left stays
    pending for the caller's flush() or the outbox sensor.
    """

    def __init__(self, send_round: Callable[[Callable[[], bool]], FlushResult]):
        self._send_round = send_round
        self._changed = threading.Condition()
        self._queued = self._stopping = False
        self.result = FlushResult()
        self._thread = threading.Thread(target=self._run, name="airtable-writer", daemon=True)
        self._thread.start()

    def wake(self) -> None:
        with self._changed:
            self._queued = True
            self._changed.notify()

    def stop(self) -> FlushResult:
        """Stop after the batch in flight (so it is marked done); returns what was sent."""
        with self._changed:
            self._stopping = True
            self._changed.notify()
        self._thread.join()
        return self.result

    def _run(self) -> None:
        while self._wait_for_news():
            try:
                round_result = self._send_round(lambda: self._stopping)
            except Exception:  # e.g. MongoDB unreachable: the caller's flush() retries and raises it
                log.warning("Background Airtable sending stopped", exc_info=True)
                return
            self.result.add(round_result)
            if round_result.stopped_by:
                return

    def _wait_for_news(self) -> bool:
        with self._changed:
            self._changed.wait_for(lambda: self._queued or self._stopping)
            self._queued = False
            return not self._stopping
