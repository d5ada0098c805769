"""``AmazonDataKioskResource``: Data Kiosk 2023-11-15 behind the ``ReportSource`` contract.

- request: the days ``request.day..last_day`` become queries (``queries.plan``: one per range of up to
  ``MAX_QUERY_DAYS``; the by-ASIN daily type one per 30 ASINs, its ASINs first found by one by-ASIN query over
  the same range). A query whose text is already IN_QUEUE / IN_PROGRESS (one getQueries lookup per run, and
  again after a failed createQuery) is awaited, never sent again; at most ``MAX_IN_FLIGHT_QUERIES`` of ours
  are in flight. The API report id is the query ids, joined with ",".
- wait: getQuery until DONE / FATAL / CANCELLED (``self.poll``); a DONE query with ``pagination.nextToken``
  is followed by createQuery of its next page. FATAL fails with the text of Amazon's error document; DONE
  without a data document in every query (or no ASIN with data) is an empty answer (status CANCELLED).
- rows: each data document (getDocument -> presigned URL, one fresh URL when it expired) streamed through
  the type's JSONL parser, pages in order, into one RowStream.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, ClassVar

from pydantic import PrivateAttr

from paperplan_sync.readahead import read_ahead
from paperplan_sync.retry import RETRY_STATUSES
from paperplan_sync.sources.base import ReadyReport, ReportFailed, ReportRequest, RowStream, bound_stream

from . import queries
from . import settings as s
from .catalog import PARSERS
from .parsing import error_message, lines, records_of
from .transport import DataKioskError, DataKioskTransport

NO_DATA = "no-asin-with-data"  # the API report id of a by-ASIN range in which no ASIN sold or was visited
ID_SEPARATOR = ","


def _transient(exc: Exception) -> bool:
    return isinstance(exc, DataKioskError) and (exc.status is None or exc.status in RETRY_STATUSES)


class InFlight:
    """The run's view of the queries IN_QUEUE / IN_PROGRESS at Amazon, by query text (looked up once)."""

    def __init__(self, lookup: Callable[[], dict[str, str]]):
        self._lookup = lookup
        self._known: dict[str, str] | None = None

    def get(self, text: str) -> str | None:
        if self._known is None:
            self._known = self._lookup()
        return self._known.get(text)

    def add(self, text: str, query_id: str) -> None:
        if self._known is not None:
            self._known[text] = query_id


class AmazonDataKioskResource(DataKioskTransport):
    """SP-API Data Kiosk, Sales & Traffic dataset. Same app, token and endpoint settings as ``amazon_sp``."""

    source_name: ClassVar[str] = s.NAME
    poll_growth: ClassVar[float] = s.POLL_GROWTH
    poll_label: ClassVar[str] = "Data Kiosk query"

    _pending: list[str] = PrivateAttr(default_factory=list)  # our queries not yet seen terminal
    _pending_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # --- request -------------------------------------------------------------------------------------------

    def request_reports(self, requests: list[ReportRequest]) -> Iterator[str | Exception]:
        """One getQueries lookup for the run (0.0222/s), then each request's queries."""
        in_flight = InFlight(self.in_flight_queries)
        for request in requests:
            try:
                yield self._request(request, in_flight)
            except Exception as exc:  # the caller fails this request's days only
                yield exc

    def in_flight_queries(self) -> dict[str, str]:
        """Query text -> id of the queries IN_QUEUE / IN_PROGRESS (newest kept)."""
        found: dict[str, str] = {}
        for query in self.iter_queries():
            if query.get("processingStatus") in s.IN_FLIGHT_STATUSES and query.get("query"):
                found.setdefault(str(query["query"]), str(query["queryId"]))
        return found

    def _request(self, request: ReportRequest, in_flight: InFlight) -> str:
        if request.day is None or request.report_type_id not in s.REPORT_TYPES:
            raise ReportFailed(f"{request.report_type_id} is not a daily Data Kiosk report type")
        first, last = request.day, request.last_day or request.day
        today = datetime.now(UTC).date()
        asins = self._asins(first, last, in_flight) if request.report_type_id == s.BY_ASIN_DAILY else ()
        plan = queries.plan(request.report_type_id, first, last, self.marketplaces, today=today, asins=asins)
        if plan.unavailable:
            old_first, old_last = plan.unavailable
            raise ReportFailed(f"{old_first}..{old_last} is older than Data Kiosk's two-year window")
        if not plan.queries:
            self.log.info("%s %s..%s: no ASIN with data", request.report_type_id, first, last)
            return NO_DATA
        return ID_SEPARATOR.join(self._send(q.text, in_flight) for q in plan.queries)

    def _asins(self, first: date, last: date, in_flight: InFlight) -> list[str]:
        """The child ASINs with data in the range: one by-ASIN query, waited for and read here."""
        query_id = self._send(queries.by_asin_query(first, last, self.marketplaces), in_flight)
        ready = self.wait_for_report(query_id)
        found = {
            str(record.get(s.ASIN_COLUMN) or "")
            for document_id in ready.extra.get("documents", ())
            for record in self._records(document_id)
        }
        return sorted(found - {""})

    def _send(self, text: str, in_flight: InFlight, pagination_token: str | None = None) -> str:
        """The id of an identical query in flight, else createQuery (retried only after looking again: a
        createQuery that timed out may well have been accepted)."""
        existing = None if pagination_token else in_flight.get(text)
        if existing:
            self.log.info("reusing in-flight Data Kiosk query %s", existing)
            return existing
        self._make_room()
        query_id = self.policy.call(
            partial(self._create, text, pagination_token),
            what="Data Kiosk createQuery",
            transient=_transient,
            before_retry=lambda: None if pagination_token else self.in_flight_queries().get(text),
        )
        in_flight.add(text, query_id)
        with self._pending_lock:
            self._pending.append(query_id)
        self.log.info("created Data Kiosk query %s (%d characters)", query_id, len(text))
        return query_id

    def _create(self, text: str, pagination_token: str | None) -> str:
        """createQuery; refused because the same query is in flight (another process sent it meanwhile): that one."""
        try:
            return self.create_query(text, pagination_token)
        except DataKioskError as exc:
            if exc.status != 400 or pagination_token:
                raise
            existing = self.in_flight_queries().get(text)
            if existing is None:
                raise
            return existing

    def _make_room(self) -> None:
        """Wait until fewer than ``MAX_IN_FLIGHT_QUERIES`` of ours are in flight (Data Kiosk keeps no backlog)."""
        while True:
            with self._pending_lock:
                oldest = self._pending[0] if len(self._pending) >= s.MAX_IN_FLIGHT_QUERIES else None
            if oldest is None:
                return
            self.poll(partial(self._status_only, oldest), oldest)

    def _status_only(self, query_id: str) -> tuple[ReadyReport | None, str]:
        status = str(self.get_query(query_id).get("processingStatus") or "")
        if status in s.TERMINAL_STATUSES:
            self._forget(query_id)
            return ReadyReport(query_id, "DONE"), status
        return None, status

    def _forget(self, query_id: str) -> None:
        with self._pending_lock:
            if query_id in self._pending:
                self._pending.remove(query_id)

    # --- wait ----------------------------------------------------------------------------------------------

    def wait_for_report(self, api_report_id: str) -> ReadyReport:
        """Every query of the id (and its next pages) finished; their data documents in ``extra``."""
        if api_report_id == NO_DATA:
            return ReadyReport(api_report_id, "CANCELLED", None, {"documents": []})
        documents: list[str] = []
        for query_id in api_report_id.split(ID_SEPARATOR):
            documents += self._documents_of(query_id)
        if not documents:  # DONE without a document anywhere: no data, today's empty report
            return ReadyReport(api_report_id, "CANCELLED", None, {"documents": []})
        return ReadyReport(api_report_id, "DONE", documents[0], {"documents": documents})

    def _documents_of(self, query_id: str) -> list[str]:
        """Wait for the query, then for each next page it announces; their data document ids in order."""
        documents: list[str] = []
        pages = InFlight(dict)
        while True:
            query = self.poll(partial(self._check, query_id), query_id).extra["query"]
            if query.get("dataDocumentId"):
                documents.append(str(query["dataDocumentId"]))
            token = (query.get("pagination") or {}).get("nextToken")
            if not token:
                return documents
            query_id = self._send(str(query["query"]), pages, pagination_token=str(token))

    def _check(self, query_id: str) -> tuple[ReadyReport | None, str]:
        query = self.get_query(query_id)
        status = str(query.get("processingStatus") or "")
        if status in s.TERMINAL_STATUSES:
            self._forget(query_id)
        if status == s.STATUS_DONE:
            return ReadyReport(query_id, "DONE", query.get("dataDocumentId"), {"query": query}), status
        if status == s.STATUS_FATAL:
            raise ReportFailed(self._fatal_message(query_id, query), api_report_id=query_id)
        if status == s.STATUS_CANCELLED:
            raise ReportFailed(f"Data Kiosk query {query_id} was cancelled", api_report_id=query_id)
        return None, status

    def _fatal_message(self, query_id: str, query: dict[str, Any]) -> str:
        """ "Data Kiosk query <id> finished FATAL: <Amazon's error document text>" (what the alert quotes)."""
        msg = f"Data Kiosk query {query_id} finished FATAL"
        document_id = query.get("errorDocumentId")
        if not document_id:
            return msg + " (no error document)"
        try:
            raw = b""
            for block in self._document_bytes(str(document_id)):
                raw += block
                if len(raw) > s.ERROR_DOCUMENT_MAX_BYTES:
                    break
        except Exception as exc:  # the FATAL is the news; an unreadable error document only loses its text
            return msg + f" (error document {document_id} unreadable: {exc})"
        return msg + ": " + error_message(raw)[: s.ERROR_DOCUMENT_MAX_CHARS]

    # --- rows ----------------------------------------------------------------------------------------------

    def _document_bytes(self, document_id: str) -> Iterator[bytes]:
        """A document's bytes as served (gzip when Content-Encoding says so: the parser inflates them)."""
        url = str(self.get_document(document_id)["documentUrl"])

        def fresh_url() -> str | None:
            return self.get_document(document_id).get("documentUrl")

        what = f"download of Data Kiosk document {document_id}"
        with self.open_document(url, what=what, fresh_url=fresh_url) as resp:
            yield from resp.iter_raw(s.DOWNLOAD_READ_BYTES)

    def _records(self, document_id: str) -> Iterator[dict[str, Any]]:
        for _, raw in lines(self._document_bytes(document_id)):
            try:
                yield from records_of(json.loads(raw))
            except ValueError:
                continue  # a line that is not JSON names no ASIN

    def report_rows(self, report: ReadyReport, request: ReportRequest) -> RowStream:
        documents = list(report.extra.get("documents") or ())
        if report.status == "CANCELLED" or not documents:
            return RowStream.empty()
        parse, chunk_rows = PARSERS[request.report_type_id], self.chunk_rows

        def chunks(stream: RowStream) -> Iterator[Any]:
            for document_id in documents:
                blocks = read_ahead(self._document_bytes(document_id), name=f"download:{document_id}")
                yield from parse(blocks, stream, chunk_rows)

        return bound_stream(chunks)
