"""``AmazonAdsReportsResource``: the Amazon Ads reporting v3 client (request -> poll -> download -> rows).

The resource owns auth (a shared LWA token, sources.lwa), retries (paperplan_sync.retry) and timeouts, so
everything else only sees ``ReportSource``. Days are the advertiser profile's own days (``ReportRequest.tz``
is not sent); a request without ``day`` raises ValueError (Ads has no snapshot reports), and
``request_report_range`` takes at most 31 days. ``ReportRequest.options``: see report_config. The document
is parsed while it downloads, never loaded whole.

Design notes: docs/design/amazon-ads.md.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from typing import Any, ClassVar

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from paperplan_sync.retry import GaveUp, RetryPolicy
from paperplan_sync.sources.amazon_ads.errors import (
    AdsApiError,
    AdsAuthError,
    AdsDownloadError,
    AdsUnavailable,
)
from paperplan_sync.sources.amazon_ads.lwa import LwaTokenProvider
from paperplan_sync.sources.amazon_ads.parsing import parse_ads_document
from paperplan_sync.sources.amazon_ads.report_config import (
    build_create_body,
    duplicate_report_id,
    report_mismatch,
    resolve_configuration,
)
from paperplan_sync.sources.amazon_ads.settings import (
    CREATE_CONTENT_TYPE,
    DEFAULT_ENDPOINT,
    DEFAULT_LWA_ENDPOINT,
    HEADER_CLIENT_ID,
    HEADER_SCOPE,
    REPORTS_PATH,
    STATUS_COMPLETED,
    STATUS_FAILED,
)
from paperplan_sync.sources.base import ReadyReport, ReportFailed, ReportRequest, ReportSource, RowStream, poll_report
from paperplan_sync.sources.lwa import LwaCredentials

_INIT_LOCK = threading.Lock()  # lazy creation of the per-resource HTTP client / token provider
_S3_FIELD_RE = re.compile(r"<(Code|Message)>([^<]{0,200})</\1>")


def _log():
    return dg.get_dagster_logger("amazon_ads")


class AmazonAdsReportsResource(dg.ConfigurableResource, ReportSource):
    """Amazon Ads reporting v3 (Sponsored Products reports such as ``spCampaigns``) for one profile.

    Production: built by resources.py (secrets through ``dagster.EnvVar``).
    """

    source_name: ClassVar[str] = "amazon_ads"

    client_id: str = Field(repr=False, description="LWA client id ($ADS_LWA_CLIENT_ID)")
    client_secret: str = Field(repr=False, description="LWA client secret ($ADS_LWA_CLIENT_SECRET)")
    refresh_token: str = Field(repr=False, description="LWA refresh token of the advertiser ($ADS_REFRESH_TOKEN)")
    profile_id: str = Field(description="Ads profile id sent as the API scope ($ADS_PROFILE_ID)")
    endpoint: str = Field(default=DEFAULT_ENDPOINT, description="Ads API base URL ($ADS_ENDPOINT)")
    lwa_endpoint: str = Field(default=DEFAULT_LWA_ENDPOINT, description="LWA token URL ($ADS_LWA_ENDPOINT)")
    # Reports usually take minutes; Amazon documents up to 3 hours at busy times.
    poll_timeout_s: float = Field(default=3 * 3600.0, description="Give up waiting for a report after this long")
    poll_initial_s: float = Field(default=15.0, description="First wait between status polls (doubles)")
    poll_max_s: float = Field(default=120.0, description="Longest wait between status polls")
    max_retries: int = Field(default=5, description="Retries of one call on 429 / 5xx / network errors")
    chunk_rows: int = Field(default=5000, description="Rows per chunk yielded by report_rows")
    http_timeout_s: float = Field(default=60.0, description="Timeout of one HTTP call")
    retry_base_s: float = Field(default=1.0, description="First backoff after a 5xx / network error (doubles)")
    retry_max_s: float = Field(default=60.0, description="Cap on any single retry wait, Retry-After included")

    _http: httpx.Client | None = PrivateAttr(default=None)
    _lwa: LwaTokenProvider | None = PrivateAttr(default=None)

    # --- construction / lifecycle -------------------------------------------------------------

    def __repr__(self) -> str:  # never show credentials
        return f"AmazonAdsReportsResource(profile_id={self.profile_id!r}, endpoint={self.endpoint!r})"

    __str__ = __repr__

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        if self._http is not None:
            self._http.close()
            self._http = None

    def _client(self) -> httpx.Client:
        if self._http is None:
            with _INIT_LOCK:
                if self._http is None:
                    # No default headers: the presigned download must go out without our credentials.
                    self._http = httpx.Client(timeout=self.http_timeout_s, follow_redirects=True)
        return self._http

    def _tokens(self) -> LwaTokenProvider:
        if self._lwa is None:
            with _INIT_LOCK:
                if self._lwa is None:
                    credentials = LwaCredentials(
                        self.lwa_endpoint, self.client_id, self.client_secret, self.refresh_token
                    )
                    self._lwa = LwaTokenProvider(credentials, send=self._send)
        return self._lwa

    def check_access(self) -> str:
        """Exchange the refresh token (for `paperplan-sync doctor`); raises AdsAuthError when refused."""
        self._tokens().token()
        return f"LWA token exchange OK at {self.lwa_endpoint}; profile {self.profile_id}"

    @property
    def token_grants(self) -> int:
        """How many LWA exchanges this resource made (the token is cached process-wide in between)."""
        return self._lwa.grants if self._lwa else 0

    # --- ReportSource ---------------------------------------------------------------------------

    def request_report(self, request: ReportRequest) -> str:
        """Create the report for ``request.day..request.last_day`` (at most 31 days); reuse a 425 duplicate."""
        if request.day is None:
            raise ValueError(
                "Amazon Ads has no real-time (snapshot) reports: ReportRequest.day is required "
                f"(report type {request.report_type_id!r})"
            )
        return self.request_report_range(request, request.day, request.end_day or request.day)

    def request_report_range(self, request: ReportRequest, start: date, end: date) -> str:
        """Create one report over ``start..end`` (inclusive, at most 31 days; ``request.day`` is ignored)."""
        body = build_create_body(request, start, end)  # raises ValueError beyond 31 days
        what = f"create Ads report {request.report_type_id} {start}..{end}"
        resp = self._api(
            "POST",
            REPORTS_PATH,
            what=what,
            content=json.dumps(body).encode(),
            headers={"Content-Type": CREATE_CONTENT_TYPE},
        )
        if resp.status_code in (200, 201, 202):
            report_id = _json(resp).get("reportId")
            if not report_id:
                raise AdsApiError(f"{what}: answer without reportId", status=resp.status_code)
            _log().info(f"{what}: report {report_id}")
            return str(report_id)
        if resp.status_code == 425:
            # An identical request is still pending (often our own earlier attempt that timed out or was
            # retried): Amazon names it only in the message. Reuse it once we've checked it's the same.
            existing_id = duplicate_report_id(resp.text)
            if existing_id:
                self._check_duplicate(existing_id, body, what)
                _log().info(f"{what}: duplicate of pending report {existing_id}, reusing it")
                return existing_id
        raise AdsApiError(f"{what}: HTTP {resp.status_code} {self._snippet(resp.text)}", status=resp.status_code)

    def wait_for_report(self, api_report_id: str) -> ReadyReport:
        """Poll with capped exponential backoff until COMPLETED / FAILED or ``poll_timeout_s`` passes."""

        def check() -> tuple[ReadyReport | None, str]:
            report = self._get_report(api_report_id)
            status = str(report.get("status") or "")
            if status == STATUS_COMPLETED:
                # An empty report can come back without a url: that is zero rows, not an error.
                return ReadyReport(api_report_id=api_report_id, status="DONE", extra=_ready_extra(report)), status
            if status == STATUS_FAILED:
                reason = report.get("failureReason") or "no failureReason given"
                raise ReportFailed(f"Ads report {api_report_id} FAILED: {reason}", api_report_id=api_report_id)
            return None, status

        return poll_report(
            check,
            api_report_id,
            timeout_s=self.poll_timeout_s,
            initial_s=self.poll_initial_s,
            max_s=self.poll_max_s,
            growth=2,
            label="Ads report",
        )

    def report_rows(self, report: ReadyReport, request: ReportRequest) -> RowStream:
        """Stream-download the document (no auth headers), gunzip and parse its JSON array incrementally.

        Non-object elements are quarantined with their 1-based array position as ``line``.
        """
        columns = list(resolve_configuration(request)["columns"])
        url = report.extra.get("url")
        if not url:
            return RowStream(iter(()), columns=columns)
        box: list[RowStream] = []
        stream = RowStream(self._iter_chunks(report, str(url), box), columns=columns)
        box.append(stream)  # the generator only starts once iterated, after this
        return stream

    def fetch_range(self, request: ReportRequest, start: date, end: date) -> tuple[ReadyReport, RowStream]:
        """``fetch`` over ``start..end`` (at most 31 days) instead of one day."""
        report = self.wait_for_report(self.request_report_range(request, start, end))
        return report, self.report_rows(report, request)

    # --- report helpers -------------------------------------------------------------------------

    def _get_report(self, report_id: str) -> dict[str, Any]:
        what = f"poll Ads report {report_id}"
        resp = self._api("GET", f"{REPORTS_PATH}/{report_id}", what=what)
        if resp.status_code == 200:
            return _json(resp)
        if resp.status_code == 404:
            raise ReportFailed(f"Ads report {report_id} not found", api_report_id=report_id)
        raise AdsApiError(f"{what}: HTTP {resp.status_code} {self._snippet(resp.text)}", status=resp.status_code)

    def _check_duplicate(self, report_id: str, body: dict[str, Any], what: str) -> None:
        mismatch = report_mismatch(self._get_report(report_id), body)
        if mismatch:
            raise AdsApiError(
                f"{what}: Amazon answered 425 (duplicate of {report_id}) but that report has a different "
                f"{mismatch}; retry after it finishes",
                status=425,
            )

    def _iter_chunks(self, report: ReadyReport, url: str, box: list[RowStream]) -> Iterator[list[dict[str, Any]]]:
        with self._open_download(report.api_report_id, url) as resp:
            try:
                yield from parse_ads_document(resp.iter_bytes(), box[0], self.chunk_rows)
            except httpx.TransportError as exc:
                raise AdsDownloadError(
                    f"connection lost while downloading Ads report {report.api_report_id}: {type(exc).__name__}"
                ) from None

    @contextmanager
    def _open_download(self, report_id: str, url: str) -> Iterator[httpx.Response]:
        what = f"download Ads report {report_id}"
        resp = self._send("GET", url, what=what, stream=True)
        if resp.status_code in (401, 403):
            # Presigned URLs expire (S3 answers 403 "Request has expired"); a status GET signs a fresh one.
            detail = _s3_error(resp)
            resp.close()
            fresh = self._get_report(report_id).get("url")
            if not fresh:
                raise AdsDownloadError(f"{what}: HTTP 403 {detail} and no fresh URL was issued")
            _log().info(f"{what}: URL refused ({detail}), retrying with a freshly signed one")
            resp = self._send("GET", str(fresh), what=what, stream=True)
        try:
            if resp.status_code != 200:
                raise AdsDownloadError(f"{what}: HTTP {resp.status_code} {_s3_error(resp)}".rstrip())
            yield resp
        finally:
            resp.close()

    # --- HTTP: auth + retries -------------------------------------------------------------------

    def _api(
        self, method: str, path: str, *, what: str, headers: dict[str, str] | None = None, **kw: Any
    ) -> httpx.Response:
        """An authenticated Ads call. A 401 refreshes the token once (it may be revoked or expired early)."""
        tokens = self._tokens()
        for _ in range(2):
            token = tokens.token()
            all_headers = {
                HEADER_CLIENT_ID: self.client_id,
                HEADER_SCOPE: str(self.profile_id),
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                **(headers or {}),
            }
            resp = self._send(method, self.endpoint.rstrip("/") + path, what=what, headers=all_headers, **kw)
            if resp.status_code != 401:
                return resp
            tokens.invalidate(token)
            _log().warning(f"{what}: HTTP 401, refreshing the LWA token once")
        raise AdsAuthError(f"{what}: Ads API answered 401 with a fresh LWA token ({self._snippet(resp.text)})")

    def _send(self, method: str, url: str, *, what: str, stream: bool = False, **kw: Any) -> httpx.Response:
        """One HTTP call under the shared retry policy: 429 waits Retry-After, 5xx / network errors back off.

        Retrying a create is safe: a duplicate that Amazon already accepted comes back as 425 and is reused.
        """
        http = self._client()
        policy = RetryPolicy(
            attempts=max(0, self.max_retries) + 1,
            backoff_s=self.retry_base_s,
            backoff_max_s=self.retry_max_s,
            max_wait_s=self.retry_max_s,
            log=_log(),
        )
        try:
            return policy.send(
                lambda: http.send(http.build_request(method, url, **kw), stream=stream),
                what=what,
                discard=lambda r: r.close(),
            )
        except GaveUp as exc:  # never chain the httpx error: its text can carry a presigned URL
            if exc.response is not None:
                exc.response.close()
            raise AdsUnavailable(f"{what}: {exc.cause} after {exc.attempts} attempts") from None

    def _snippet(self, text: str, limit: int = 300) -> str:
        """A short, secret-free piece of a response body for an error message."""
        text = (text or "")[:limit]
        for secret in (self.client_secret, self.refresh_token):
            if secret:
                text = text.replace(secret, "***")
        return text


def _json(resp: httpx.Response) -> dict[str, Any]:
    try:
        payload = resp.json()
    except ValueError:
        raise AdsApiError(f"expected JSON, got {resp.headers.get('content-type')!r}", status=resp.status_code) from None
    if not isinstance(payload, dict):
        raise AdsApiError("expected a JSON object", status=resp.status_code)
    return payload


def _s3_error(resp: httpx.Response) -> str:
    """Code/Message of an S3-style XML error, read from a (possibly streamed) response."""
    try:
        text = resp.read()[:2000].decode("utf-8", "replace")
    except httpx.HTTPError:
        return ""
    fields = dict(_S3_FIELD_RE.findall(text))
    return " ".join(v for v in (fields.get("Code"), fields.get("Message")) if v)


def _ready_extra(report: dict[str, Any]) -> dict[str, Any]:
    configuration = report.get("configuration") or {}
    return {
        "url": report.get("url"),
        "urlExpiresAt": report.get("urlExpiresAt"),
        "fileSize": report.get("fileSize"),
        "startDate": report.get("startDate"),
        "endDate": report.get("endDate"),
        "reportTypeId": configuration.get("reportTypeId"),
        "timeUnit": configuration.get("timeUnit"),
        "generatedAt": report.get("generatedAt"),
    }
