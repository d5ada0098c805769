"""``AmazonAdsReportsResource``: the Amazon Ads reporting v3 client (request -> poll -> download -> rows).

The shared skeleton (sources.http) owns auth, retries and timeouts, so everything else only sees
``ReportSource``. Days are the advertiser profile's own days (``ReportRequest.tz`` is not sent: the report
type's Timezone should be the profile's IANA zone, e.g. America/Los_Angeles, so that its partitions, "today"
and freshness count the same days as Ads does); a request
without ``day`` raises ValueError (Ads has no snapshot reports), and one report covers at most 31 days
(``ReportRequest.day..end_day``; reports/load plans the ranges). ``ReportRequest.options``: see
report_config. The document is parsed while it downloads, never loaded whole.

Design notes: docs/design/amazon-ads.md.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any, ClassVar

import httpx
from pydantic import Field

from paperplan_sync.retry import GaveUp
from paperplan_sync.sources.base import ReadyReport, ReportFailed, ReportRequest, RowStream, bound_stream
from paperplan_sync.sources.http import ApiSource
from paperplan_sync.sources.lwa import LwaRefusal

from . import settings as s
from .catalog import NAME
from .errors import AdsApiError, AdsAuthError, AdsDownloadError, AdsUnavailable
from .parsing import parse_ads_document
from .report_config import build_create_body, duplicate_report_id, report_mismatch, resolve_configuration

_S3_FIELD_RE = re.compile(r"<(Code|Message)>([^<]{0,200})</\1>")


class AmazonAdsReportsResource(ApiSource):
    """Amazon Ads reporting v3 (Sponsored Products reports such as ``spCampaigns``) for one profile.

    Production: built by the source registry (secrets through ``dagster.EnvVar``)."""

    source_name: ClassVar[str] = NAME
    token_margin_s: ClassVar[float] = s.TOKEN_REFRESH_MARGIN_S
    poll_label: ClassVar[str] = "Ads report"

    profile_id: str = Field(description="Ads profile id sent as the API scope ($ADS_PROFILE_ID)")
    endpoint: str = Field(default=s.DEFAULT_ENDPOINT, description="Ads API base URL ($ADS_ENDPOINT)")
    poll_timeout_s: float = Field(default=s.POLL_TIMEOUT_S, description="Give up waiting for a report after this long")
    poll_initial_s: float = Field(default=15.0, description="First wait between status polls (doubles)")
    poll_max_s: float = Field(default=120.0, description="Longest wait between status polls")
    retry_max_s: float = Field(default=60.0, description="Cap of the backoff")

    def __repr__(self) -> str:  # never show credentials
        return f"AmazonAdsReportsResource(profile_id={self.profile_id!r}, endpoint={self.endpoint!r})"

    __str__ = __repr__

    # --- the skeleton's hooks ----------------------------------------------------------------------------

    def auth_headers(self, token: str) -> dict[str, str]:
        return {
            s.HEADER_CLIENT_ID: self.client_id,
            s.HEADER_SCOPE: str(self.profile_id),
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
        }

    def lwa_refused(self, refusal: LwaRefusal) -> Exception:
        return AdsAuthError(refusal.message)

    def lwa_unavailable(self, exc: GaveUp) -> Exception:
        return AdsAuthError(f"LWA token endpoint unavailable: {self.unavailable('LWA token exchange', exc)}")

    def unavailable(self, what: str, exc: GaveUp) -> Exception:
        return AdsUnavailable(f"{what}: {exc.cause} after {exc.attempts} attempts")

    def download_failed(self, what: str, resp: httpx.Response, note: str = "") -> Exception:
        return AdsDownloadError(f"{what}: HTTP {resp.status_code} {_s3_error(resp)}".rstrip() + note)

    def download_broken(self, what: str, exc: httpx.TransportError) -> Exception:
        return AdsDownloadError(f"connection lost during {what}: {type(exc).__name__}")

    def access_note(self) -> str:
        return f"profile {self.profile_id}"

    # --- ReportSource ------------------------------------------------------------------------------------

    def request_report(self, request: ReportRequest) -> str:
        """Create the report for ``request.day..request.last_day`` (at most 31 days); reuse a 425 duplicate."""
        if request.day is None:
            raise ValueError(
                "Amazon Ads has no real-time (snapshot) reports: ReportRequest.day is required "
                f"(report type {request.report_type_id!r})"
            )
        start, end = request.day, request.end_day or request.day
        body = build_create_body(request, start, end)  # raises ValueError beyond 31 days
        what = f"create Ads report {request.report_type_id} {start}..{end}"
        resp = self._api("POST", s.REPORTS_PATH, what=what, content=json.dumps(body).encode(), create=True)
        if resp.status_code in (200, 201, 202):
            report_id = _json(resp).get("reportId")
            if not report_id:
                raise AdsApiError(f"{what}: answer without reportId", status=resp.status_code)
            self.log.info(f"{what}: report {report_id}")
            return str(report_id)
        # 425: an identical request is still pending (often our own earlier attempt that timed out or was
        # retried): Amazon names it only in the message. Reuse it once we've checked it's the same.
        existing_id = duplicate_report_id(resp.text) if resp.status_code == 425 else None
        if not existing_id:
            raise AdsApiError(f"{what}: HTTP {resp.status_code} {self._snippet(resp.text)}", status=resp.status_code)
        self._check_duplicate(existing_id, body, what)
        self.log.info(f"{what}: duplicate of pending report {existing_id}, reusing it")
        return existing_id

    def wait_for_report(self, api_report_id: str) -> ReadyReport:
        """Poll with capped exponential backoff until COMPLETED / FAILED or ``poll_timeout_s`` passes."""

        def check() -> tuple[ReadyReport | None, str]:
            report = self._get_report(api_report_id)
            status = str(report.get("status") or "")
            if status == s.STATUS_COMPLETED:
                # An empty report can come back without a url: that is zero rows, not an error.
                return ReadyReport(api_report_id=api_report_id, status="DONE", extra=_ready_extra(report)), status
            if status == s.STATUS_FAILED:
                reason = report.get("failureReason") or "no failureReason given"
                raise ReportFailed(f"Ads report {api_report_id} FAILED: {reason}", api_report_id=api_report_id)
            return None, status

        return self.poll(check, api_report_id)

    def report_rows(self, report: ReadyReport, request: ReportRequest) -> RowStream:
        """Stream-download the document (no auth headers), gunzip and parse its JSON array incrementally.

        Non-object elements are quarantined with their 1-based array position as ``line``.
        """
        columns = list(resolve_configuration(request)["columns"])
        url = report.extra.get("url")
        if not url:
            return RowStream(iter(()), columns=columns)
        stream = bound_stream(lambda own: self._chunks(report.api_report_id, str(url), own))
        stream.columns = columns
        return stream

    # --- helpers -----------------------------------------------------------------------------------------

    def _chunks(self, report_id: str, url: str, stream: RowStream) -> Iterator[list[dict[str, Any]]]:
        def fresh_url() -> str | None:  # a status GET signs a fresh URL
            return self._get_report(report_id).get("url")

        with self.open_document(url, what=f"download Ads report {report_id}", fresh_url=fresh_url) as resp:
            yield from parse_ads_document(resp.iter_bytes(), stream, self.chunk_rows)

    def _get_report(self, report_id: str) -> dict[str, Any]:
        what = f"poll Ads report {report_id}"
        resp = self._api("GET", f"{s.REPORTS_PATH}/{report_id}", what=what)
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

    def _api(self, method: str, path: str, *, what: str, create: bool = False, **kw: Any) -> httpx.Response:
        """An authenticated Ads call (retrying a create is safe: a duplicate Amazon already accepted comes
        back as 425 and is reused). A 401 after the one token refresh is an AdsAuthError."""
        headers = {"Content-Type": s.CREATE_CONTENT_TYPE} if create else None
        resp = self.call_api(method, self.endpoint.rstrip("/") + path, what=what, headers=headers, **kw)
        if resp.status_code == 401:
            raise AdsAuthError(f"{what}: Ads API answered 401 with a fresh LWA token ({self._snippet(resp.text)})")
        return resp

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
