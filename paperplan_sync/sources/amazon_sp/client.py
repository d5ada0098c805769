"""``AmazonSPReportsResource``: the Reports API 2021-06-30 behind the ``ReportSource`` contract.

The resource owns everything about talking to Amazon -- LWA auth, usage-plan pacing, retries, timeouts
(the shared skeleton, through ``SPAPITransport``), reuse of in-flight reports, polling, streaming download
and parsing -- so assets only say *what* to pull.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from typing import Any, ClassVar

from paperplan_sync.readahead import read_ahead
from paperplan_sync.retry import RETRY_STATUSES
from paperplan_sync.sources.base import ReadyReport, ReportFailed, ReportRequest, RowBatch, RowStream, bound_stream
from paperplan_sync.timezones import Zone, day_bounds

from . import settings as s
from .catalog import NAME, SALES_AND_TRAFFIC_JSON, document_format
from .errors import ReportDocumentError, SPAPIError
from .parsing import gunzip, parse_flat_file, parse_json_document
from .transport import SPAPITransport


def day_window(request: ReportRequest) -> tuple[str, str] | None:
    """00:00:00 of the request's first day - 23:59:59 of its last day in its time zone, ISO 8601 with the
    offset in force at each end (a day on which the clocks change spans 23 or 25 hours); None = snapshot.
    Amazon sums every day a window touches, so it must end on local day bounds."""
    if request.day is None:
        return None
    start, end = day_bounds(request.day, request.last_day or request.day, request.tz)
    return start.isoformat(), end.isoformat()


def marketplace_zone(marketplace_id: str) -> Zone | None:
    """The zone of a marketplace's days in Seller Central (settings.MARKETPLACE_TIMEZONES); None: unknown id.
    Where a report type's Timezone is left empty (``Zone.origin == "default"``) this is the day to use."""
    name = s.MARKETPLACE_TIMEZONES.get(marketplace_id.strip())
    return Zone(name, origin="default") if name else None


def _transient(exc: Exception) -> bool:
    return isinstance(exc, SPAPIError) and (exc.status is None or exc.status in RETRY_STATUSES)


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class AmazonSPReportsResource(SPAPITransport):
    """Selling Partner API Reports (2021-06-30). Configure secrets with ``dagster.EnvVar`` (see settings)."""

    source_name: ClassVar[str] = NAME
    poll_growth: ClassVar[float] = s.POLL_GROWTH

    # --- request -----------------------------------------------------------------------------------------

    def _create_body(self, request: ReportRequest) -> dict[str, Any]:
        body: dict[str, Any] = {"reportType": request.report_type_id, "marketplaceIds": self.marketplaces}
        window = day_window(request)
        if window:
            body["dataStartTime"], body["dataEndTime"] = window
        if request.options:
            body["reportOptions"] = dict(request.options)
        return body

    def in_flight_reports(self, report_type_id: str) -> list[dict[str, Any]]:
        """IN_QUEUE / IN_PROGRESS reports of a type (one getReports lookup, a few pages at most)."""
        return [
            rep
            for rep in self.iter_reports([report_type_id], processing_statuses=list(s.IN_FLIGHT_STATUSES))
            if rep.get("processingStatus") in s.IN_FLIGHT_STATUSES
        ]

    def _matching(self, reports: list[dict[str, Any]], request: ReportRequest) -> str | None:
        """The id of a report of the same window and marketplaces. getReports does not return reportOptions,
        so options are not compared: a report type is always requested with the same options here."""
        window = day_window(request)
        want = (_instant(window[0]), _instant(window[1])) if window else None
        markets = set(self.marketplaces)
        for rep in reports:
            if rep.get("marketplaceIds") and set(rep["marketplaceIds"]) != markets:
                continue
            if want is None or (_instant(rep.get("dataStartTime")), _instant(rep.get("dataEndTime"))) == want:
                return str(rep["reportId"])
        return None

    def find_in_flight(self, request: ReportRequest) -> str | None:
        """An IN_QUEUE / IN_PROGRESS report of the same type, window and marketplaces, if any."""
        return self._matching(self.in_flight_reports(request.report_type_id), request)

    def request_reports(self, requests: list[ReportRequest]) -> Iterator[str | Exception]:
        """One getReports lookup for the whole run (its rate is 0.0222/s), then createReport for each request
        not already in flight. A failed create is retried only after looking again: a POST that timed out
        may well have been accepted."""
        in_flight: dict[str, list[dict[str, Any]]] = {}
        for request in requests:
            try:
                if request.report_type_id not in in_flight:
                    in_flight[request.report_type_id] = self.in_flight_reports(request.report_type_id)
                existing = self._matching(in_flight[request.report_type_id], request)
                if existing:
                    self.log.info("reusing in-flight %s report %s", request.report_type_id, existing)
                    yield existing
                else:
                    yield self._create_checked(request)
            except Exception as exc:  # the caller fails this request's days only
                yield exc

    def _create_checked(self, request: ReportRequest) -> str:
        body = self._create_body(request)
        report_id = self.policy.call(
            lambda: self.create_report(body),
            what="SP-API createReport",
            transient=_transient,
            before_retry=lambda: self.find_in_flight(request),
        )
        self.log.info(
            "requested %s report %s %s..%s",
            request.report_type_id,
            report_id,
            body.get("dataStartTime", "(snapshot)"),
            body.get("dataEndTime", ""),
        )
        return report_id

    # --- wait --------------------------------------------------------------------------------------------

    def wait_for_report(self, api_report_id: str) -> ReadyReport:
        def check() -> tuple[ReadyReport | None, str]:
            rep = self.get_report(api_report_id)
            status = str(rep.get("processingStatus") or "")
            extra: dict[str, Any] = {
                k: rep[k] for k in ("reportType", "dataStartTime", "dataEndTime", "createdTime") if k in rep
            }
            if status == s.STATUS_DONE:
                return ReadyReport(api_report_id, "DONE", rep.get("reportDocumentId"), extra), status
            if status == s.STATUS_CANCELLED:  # no data for the window: an empty report, not a failure
                return ReadyReport(api_report_id, "CANCELLED", None, extra), status
            if status == s.STATUS_FATAL:
                raise ReportFailed(self._fatal_message(api_report_id, rep), api_report_id=api_report_id)
            return None, status

        return self.poll(check, api_report_id)

    def _fatal_message(self, report_id: str, rep: dict[str, Any]) -> str:
        msg = f"report {report_id} ({rep.get('reportType', '?')}) finished FATAL"
        doc_id = rep.get("reportDocumentId")
        if not doc_id:
            return msg + " (no error document)"
        try:
            text = b"".join(self._document_bytes(doc_id)).decode("utf-8", errors="replace").strip()
        except (SPAPIError, ReportDocumentError) as exc:
            return msg + f" (error document {doc_id} unreadable: {exc})"
        return msg + ": " + text[: s.ERROR_DOCUMENT_MAX_CHARS]

    # --- rows --------------------------------------------------------------------------------------------

    def _document_bytes(self, document_id: str, info: dict[str, Any] | None = None) -> Iterator[bytes]:
        """Stream a document's (decompressed) bytes from its presigned URL. ``info`` receives the charset the
        download declares (``Content-Type: text/plain; charset=Cp1252``). An expired URL gets one fresh one
        through getReportDocument (``open_document``)."""
        doc = [self.get_report_document(document_id)]

        def fresh_url() -> str | None:
            doc[0] = self.get_report_document(document_id)
            return doc[0].get("url")

        with self.open_document(
            doc[0]["url"], what=f"download of report document {document_id}", fresh_url=fresh_url
        ) as resp:
            if info is not None:
                info["charset"] = resp.charset_encoding
            raw = resp.iter_raw(s.DOWNLOAD_READ_BYTES)
            yield from gunzip(raw) if doc[0].get("compressionAlgorithm") == s.COMPRESSION_GZIP else raw

    def report_rows(self, report: ReadyReport, request: ReportRequest) -> RowStream:
        if report.status == "CANCELLED" or not report.document_id:
            return RowStream.empty()
        report_type = report.extra.get("reportType") or request.report_type_id
        is_json = document_format(report_type) == SALES_AND_TRAFFIC_JSON
        parse = parse_json_document if is_json else parse_flat_file
        doc_id, chunk_rows = report.document_id, self.chunk_rows
        info: dict[str, Any] = {}

        def chunks(stream: RowStream) -> Iterator[RowBatch]:
            blocks = read_ahead(self._document_bytes(doc_id, info), name=f"download:{doc_id}")
            yield from parse(blocks, stream, chunk_rows, charset=lambda: info.get("charset"))

        return bound_stream(chunks)
