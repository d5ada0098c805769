"""``AmazonSPReportsResource``: the Reports API 2021-06-30 behind the ``ReportSource`` contract.

The resource owns everything about talking to Amazon -- LWA auth, usage-plan pacing, retries, timeouts,
reuse of in-flight reports, polling, streaming download and parsing -- so assets only say *what* to pull.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import datetime
from datetime import time as dtime
from typing import Any, ClassVar

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from paperplan_sync.readahead import read_ahead
from paperplan_sync.retry import RETRY_STATUSES, GaveUp, RetryPolicy
from paperplan_sync.shared_state import SharedState, shared_state
from paperplan_sync.sources.base import (
    ReadyReport,
    ReportFailed,
    ReportRequest,
    ReportSource,
    RowBatch,
    RowStream,
    poll_report,
)
from paperplan_sync.sources.lwa import LwaCredentials

from . import settings as s
from .errors import ReportDocumentError, SPAPIError
from .lwa import LwaTokenProvider
from .parsing import bound_stream, gunzip, parse_flat_file, parse_json_document
from .ratelimit import report_type_turn
from .transport import SPAPITransport


def day_window(request: ReportRequest) -> tuple[str, str] | None:
    """00:00:00 of the request's first day - 23:59:59 of its last day in its timezone, ISO 8601 with the
    offset; None = snapshot. Amazon sums every day a window touches, so it must end on local day bounds."""
    if request.day is None:
        return None
    start = datetime.combine(request.day, dtime(0, 0, 0), tzinfo=request.tz)
    end = datetime.combine(request.end_day or request.day, dtime(23, 59, 59), tzinfo=request.tz)
    return start.isoformat(), end.isoformat()


def _transient(exc: Exception) -> bool:
    return isinstance(exc, SPAPIError) and (exc.status is None or exc.status in RETRY_STATUSES)


def _instant(value: str | None) -> datetime | None:
    if not value:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        return None


class AmazonSPReportsResource(dg.ConfigurableResource, ReportSource):
    """Selling Partner API Reports (2021-06-30). Configure secrets with ``dagster.EnvVar`` (see settings)."""

    source_name: ClassVar[str] = "amazon_sp"

    lwa_client_id: str = Field(repr=False, description="LWA client id (SPAPI_LWA_CLIENT_ID).")
    lwa_client_secret: str = Field(repr=False, description="LWA client secret (SPAPI_LWA_CLIENT_SECRET).")
    refresh_token: str = Field(repr=False, description="LWA refresh token (SPAPI_REFRESH_TOKEN).")
    endpoint: str = Field(default=s.DEFAULT_ENDPOINT, description="SP-API regional endpoint (SPAPI_ENDPOINT).")
    lwa_endpoint: str = Field(default=s.DEFAULT_LWA_ENDPOINT, description="LWA token URL (SPAPI_LWA_ENDPOINT).")
    marketplace_ids: str = Field(
        default=s.DEFAULT_MARKETPLACE_IDS, description="Comma-separated marketplace ids (SPAPI_MARKETPLACE_IDS)."
    )
    poll_timeout_s: float = Field(default=3600.0, description="Give up waiting for a report after this long.")
    poll_initial_s: float = Field(default=5.0, description="First getReport poll interval.")
    poll_max_s: float = Field(default=60.0, description="Cap of the growing poll interval.")
    max_retries: int = Field(default=5, description="Retries of a call after 5xx / network errors.")
    max_throttle_retries: int = Field(default=20, description="Retries of a call answered 429.")
    retry_backoff_s: float = Field(default=1.0, description="First retry delay (doubles, with jitter).")
    retry_backoff_max_s: float = Field(default=30.0, description="Cap of the retry delay.")
    chunk_rows: int = Field(default=5000, description="Rows per chunk yielded by report_rows.")
    rate_limit_scale: float = Field(
        default=1.0, description="Multiplier of Amazon's documented rates (1.0 in production; high in tests)."
    )
    http_timeout_s: float = Field(default=s.HTTP_TIMEOUT_S, description="Read timeout of one HTTP call.")
    # Where every process of the product shares the turns of report types Amazon spaces out (MongoDB; else a
    # file under PAPERPLAN_STATE_DIR, one machine only).
    state_mongodb_uri: str = Field(default="", repr=False, description="MongoDB URI of the shared state.")
    state_database: str = Field(default="", description="Database of the shared state.")

    _http: httpx.Client | None = PrivateAttr(default=None)
    _transport: SPAPITransport | None = PrivateAttr(default=None)
    _init_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # --- plumbing --------------------------------------------------------------------------------------

    @property
    def marketplaces(self) -> list[str]:
        return [m.strip() for m in self.marketplace_ids.split(",") if m.strip()]

    @property
    def _log(self):
        return dg.get_dagster_logger("amazon_sp")

    def _client(self) -> httpx.Client:
        with self._init_lock:  # the download runs in a worker thread: create the client exactly once
            return self._client_locked()

    def _client_locked(self) -> httpx.Client:
        if self._http is None:
            timeout = httpx.Timeout(self.http_timeout_s, connect=s.HTTP_CONNECT_TIMEOUT_S)
            self._http = httpx.Client(timeout=timeout, headers={"User-Agent": s.USER_AGENT})
        return self._http

    def _state(self) -> SharedState:
        return shared_state(self.state_mongodb_uri, self.state_database)

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=self.max_retries + 1,
            throttle_attempts=self.max_throttle_retries + 1,
            backoff_s=self.retry_backoff_s,
            backoff_max_s=self.retry_backoff_max_s,
            max_wait_s=s.THROTTLE_WAIT_MAX_S,
            log=self._log,
        )

    @property
    def api(self) -> SPAPITransport:
        with self._init_lock:
            return self._api_locked()

    def _api_locked(self) -> SPAPITransport:
        if self._transport is None:
            credentials = LwaCredentials(
                self.lwa_endpoint, self.lwa_client_id, self.lwa_client_secret, self.refresh_token
            )
            tokens = LwaTokenProvider(self._client_locked(), credentials, policy=self.policy)
            self._transport = SPAPITransport(
                self._client_locked(),
                tokens,
                endpoint=self.endpoint,
                rate_limit_scale=self.rate_limit_scale,
                policy=self.policy,
            )
        return self._transport

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def check_access(self) -> str:
        """Exchange the refresh token (for `paperplan-sync doctor`); raises LWAAuthError when refused."""
        self.api.tokens.token()
        return f"LWA token exchange OK at {self.lwa_endpoint}; marketplaces {', '.join(self.marketplaces)}"

    def close(self) -> None:
        with self._init_lock:
            if self._http is not None:
                self._http.close()
            self._http = self._transport = None

    # --- the raw operations (also handy for ad-hoc use and the sandbox) -----------------------------------

    def create_report(self, body: dict[str, Any]) -> str:
        """createReport; not retried on 5xx/network errors by itself (see ``request_report``)."""
        report_type = str(body.get("reportType", ""))
        turn = report_type_turn(self._state(), self.endpoint, report_type, self.rate_limit_scale)
        resp = self.api.call(
            s.OP_CREATE_REPORT,
            "POST",
            s.PATH_REPORTS,
            json=body,
            retry_transient=False,
            turns=[turn] if turn else (),
            turns_label=report_type,
        )
        return str(resp["reportId"])

    def get_report(self, report_id: str) -> dict[str, Any]:
        return self.api.call(s.OP_GET_REPORT, "GET", s.PATH_REPORT.format(report_id=report_id))

    def cancel_report(self, report_id: str) -> None:
        self.api.call(s.OP_CANCEL_REPORT, "DELETE", s.PATH_REPORT.format(report_id=report_id))

    def get_report_document(self, document_id: str) -> dict[str, Any]:
        return self.api.call(s.OP_GET_REPORT_DOCUMENT, "GET", s.PATH_DOCUMENT.format(document_id=document_id))

    def iter_reports(
        self,
        report_types: list[str],
        *,
        processing_statuses: list[str] | None = None,
        max_pages: int = s.REUSE_LOOKUP_MAX_PAGES,
    ) -> Iterator[dict[str, Any]]:
        """getReports, following nextToken (which must be sent alone) for at most ``max_pages`` pages."""
        params: dict[str, Any] = {"reportTypes": ",".join(report_types), "pageSize": s.REUSE_PAGE_SIZE}
        if processing_statuses:
            params["processingStatuses"] = ",".join(processing_statuses)
        for _ in range(max_pages):
            page = self.api.call(s.OP_GET_REPORTS, "GET", s.PATH_REPORTS, params=params)
            yield from page.get("reports") or []
            token = page.get("nextToken")
            if not token:
                return
            params = {"nextToken": token}

    # --- ReportSource ------------------------------------------------------------------------------------

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

    def request_report(self, request: ReportRequest) -> str:
        """Reuse an identical in-flight report, else createReport."""
        outcome = next(self.request_reports([request]))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome

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
                    self._log.info("reusing in-flight %s report %s", request.report_type_id, existing)
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
        self._log.info(
            "requested %s report %s %s..%s",
            request.report_type_id,
            report_id,
            body.get("dataStartTime", "(snapshot)"),
            body.get("dataEndTime", ""),
        )
        return report_id

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

        return poll_report(
            check,
            api_report_id,
            timeout_s=self.poll_timeout_s,
            initial_s=self.poll_initial_s,
            max_s=self.poll_max_s,
            growth=1.5,
        )

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

    def _document_bytes(self, document_id: str, info: dict[str, Any] | None = None) -> Iterator[bytes]:
        """Stream a document's (decompressed) bytes from its presigned URL -- with no auth header. ``info``
        receives the charset the download declares (``Content-Type: text/plain; charset=Cp1252``).

        A 403 before any byte (the URL expired) gets one fresh URL through getReportDocument; 5xx and network
        errors before any byte are retried by the shared policy. Once bytes have flowed, a broken stream is an
        error: a download cannot resume mid-way without risking duplicated or missing rows."""
        doc = self.get_report_document(document_id)
        http = self._client()
        what = f"download of report document {document_id}"
        for refreshed in (False, True):
            try:
                resp = self.policy.send(
                    lambda doc=doc: http.send(http.build_request("GET", doc["url"]), stream=True),  # type: ignore[misc]
                    what=what,
                    discard=lambda r: r.close(),
                )
            except GaveUp as exc:
                if exc.response is not None:
                    exc.response.close()
                raise ReportDocumentError(f"{what} failed: {exc.problem} after {exc.attempts} attempt(s)") from None
            if resp.status_code == 403 and not refreshed:
                resp.close()
                self._log.info("document %s URL refused (expired?); asking for a fresh one", document_id)
                doc = self.get_report_document(document_id)
                continue
            break
        try:
            if resp.status_code != 200:
                resp.read()
                code = "AccessDenied" if "AccessDenied" in resp.text else resp.reason_phrase
                raise ReportDocumentError(f"{what} failed: HTTP {resp.status_code} {code}")
            if info is not None:
                info["charset"] = resp.charset_encoding
            raw = resp.iter_raw(s.DOWNLOAD_READ_BYTES)
            yield from gunzip(raw) if doc.get("compressionAlgorithm") == s.COMPRESSION_GZIP else raw
        except httpx.TransportError as exc:
            raise ReportDocumentError(f"{what} broke off: {type(exc).__name__}") from None
        finally:
            resp.close()

    def report_rows(self, report: ReadyReport, request: ReportRequest) -> RowStream:
        if report.status == "CANCELLED" or not report.document_id:
            return RowStream.empty()
        report_type = report.extra.get("reportType") or request.report_type_id
        parse = parse_json_document if report_type in s.JSON_REPORT_TYPES else parse_flat_file
        doc_id, chunk_rows = report.document_id, self.chunk_rows
        info: dict[str, Any] = {}

        def chunks(stream: RowStream) -> Iterator[RowBatch]:
            blocks = read_ahead(self._document_bytes(doc_id, info), name=f"download:{doc_id}")
            yield from parse(blocks, stream, chunk_rows, charset=lambda: info.get("charset"))

        return bound_stream(chunks)
