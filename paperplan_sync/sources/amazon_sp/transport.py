"""``SPAPITransport``: the SP-API skeleton (sources.spapi_family: the x-amz-access-token header, a 403
"access token expired" as the token refusal) with the Reports API's own pieces -- the usage-plan buckets and
report type turns as the limiter of every try, a 429 waiting 1 / the x-amzn-RateLimit-Limit rate -- and the
raw operations of the Reports API 2021-06-30."""

from __future__ import annotations

import math
from collections.abc import Iterator, Sequence
from dataclasses import replace
from functools import partial
from typing import Any

import httpx
from pydantic import Field

from paperplan_sync.retry import GaveUp, rate_limit_wait
from paperplan_sync.shared_state import SharedState, shared_state
from paperplan_sync.sources.lwa import LwaRefusal
from paperplan_sync.sources.spapi_family import SpApiSource, applied_rate, error_list

from . import settings as s
from .errors import LWAAuthError, ReportDocumentError, SPAPIError, describe_errors
from .ratelimit import ReportTypeTurn, TokenBucket, bucket_for, report_type_turn

LWA_OPERATION = "lwaTokenExchange"


def api_error(operation: str, resp: httpx.Response, note: str = "") -> SPAPIError:
    errors = error_list(resp)
    msg = f"{operation} failed: HTTP {resp.status_code} {describe_errors(errors)}"
    if note:
        msg += f" [{note}]"
    return SPAPIError(
        msg,
        operation=operation,
        status=resp.status_code,
        errors=errors,
        request_id=resp.headers.get(s.REQUEST_ID_HEADER),
    )


def gave_up_error(operation: str, exc: GaveUp) -> SPAPIError:
    if exc.response is None:
        return SPAPIError(
            f"{operation} failed: {exc.problem}, gave up after {exc.attempts} attempt(s)", operation=operation
        )
    note = "still throttled" if exc.response.status_code == 429 else "gave up"
    return api_error(operation, exc.response, f"{note} after {exc.attempts} attempt(s)")


def throttled(answer: httpx.Response, operation: TokenBucket, turns: Sequence[ReportTypeTurn]) -> None:
    """A 429 is about the limit whose rate the x-amzn-RateLimit-Limit header names: a report type's turn, or
    the operation's usage plan."""
    rate = applied_rate(answer)
    for turn in turns:
        if math.isclose(turn.rate, rate, rel_tol=0.01):
            turn.refused(1 / rate)
            return
    operation.drain()


class SPAPITransport(SpApiSource):
    """SP-API calls: token, usage-plan pacing, retries, one token refresh; errors are ``SPAPIError``."""

    max_throttle_retries: int = Field(default=20, description="Retries of a call answered 429.")
    # Above the longest wait Amazon advertises (a Sales and Traffic createReport: 15 min): a shorter cap would
    # retry early, be refused again, and burn createReport calls of every report type.
    max_wait_s: float = Field(default=s.THROTTLE_WAIT_MAX_S, description="Cap of any single wait.")

    def lwa_refused(self, refusal: LwaRefusal) -> Exception:
        errors = [{"code": refusal.error, "message": refusal.description}]
        return LWAAuthError(refusal.message, operation=LWA_OPERATION, status=refusal.status, errors=errors)

    def lwa_unavailable(self, exc: GaveUp) -> Exception:  # its message names no URL and no form field
        return LWAAuthError(
            f"LWA token exchange failed after {exc.attempts} attempts: {exc.problem}", operation=LWA_OPERATION
        )

    def download_failed(self, what: str, resp: httpx.Response, note: str = "") -> Exception:
        code = "AccessDenied" if "AccessDenied" in resp.text else resp.reason_phrase
        return ReportDocumentError(f"{what} failed: HTTP {resp.status_code} {code}{note}")

    def download_broken(self, what: str, exc: httpx.TransportError) -> Exception:
        return ReportDocumentError(f"{what} broke off: {type(exc).__name__}")

    def unavailable(self, what: str, exc: GaveUp) -> Exception:  # downloads; calls and LWA name their own
        return ReportDocumentError(f"{what} failed: {exc.problem} after {exc.attempts} attempt(s)")

    def _state(self) -> SharedState:
        return shared_state(self.state_mongodb_uri, self.state_database)

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        retry_transient: bool = True,
        turns: Sequence[ReportTypeTurn] = (),
        turns_label: str = "",
        **options: Any,
    ) -> dict[str, Any]:
        """Send one operation; returns the JSON body (``{}`` when empty). Raises SPAPIError.

        ``retry_transient=False`` for non-idempotent calls (createReport): only 429s (never accepted) are
        retried here; the caller looks for an in-flight report before trying again after a 5xx.
        ``turns``: a report type's own createReport limit, whose turn every try takes before the operation's.
        ``options``: params / json of the request."""
        bucket = bucket_for(self.endpoint, operation, self.rate_limit_scale)
        fallback = s.USAGE_PLANS[operation].rate * self.rate_limit_scale
        policy = replace(
            self.policy,
            wait=rate_limit_wait(s.RATE_LIMIT_HEADER, fallback),
            attempts=self.policy.attempts if retry_transient else 1,
        )

        def take_turns() -> None:
            for turn in turns:  # waited out here, so the server is never asked early
                turn.take(partial(self._waiting, operation, turns_label, turn))
            bucket.acquire()  # every try takes its slot of the usage plan

        resp = self.call_api(
            method,
            self.endpoint.rstrip("/") + path,
            what=f"SP-API {operation}",
            before_try=take_turns,
            policy=policy,
            on_throttle=lambda answer: throttled(answer, bucket, turns),
            gave_up=lambda exc: gave_up_error(operation, exc),
            **options,
        )
        if resp.status_code >= 300:
            raise api_error(operation, resp)
        for turn in turns:
            turn.answered()
        return resp.json() if resp.content else {}

    def _waiting(self, operation: str, label: str, turn: ReportTypeTurn, wait: float) -> None:
        self.log.info(
            "SP-API %s %s: Amazon allows one every %.0fs; waiting %.0fs for its turn",
            operation,
            label,
            turn.every_s,
            wait,
        )

    # --- the raw operations (also handy for ad-hoc use and the sandbox) -----------------------------------

    def create_report(self, body: dict[str, Any]) -> str:
        """createReport; not retried on 5xx/network errors by itself (see ``request_report``)."""
        report_type = str(body.get("reportType", ""))
        turn = report_type_turn(self._state(), self.endpoint, report_type, self.rate_limit_scale)
        resp = self.call(
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
        return self.call(s.OP_GET_REPORT, "GET", s.PATH_REPORT.format(report_id=report_id))

    def cancel_report(self, report_id: str) -> None:
        self.call(s.OP_CANCEL_REPORT, "DELETE", s.PATH_REPORT.format(report_id=report_id))

    def get_report_document(self, document_id: str) -> dict[str, Any]:
        return self.call(s.OP_GET_REPORT_DOCUMENT, "GET", s.PATH_DOCUMENT.format(document_id=document_id))

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
            page = self.call(s.OP_GET_REPORTS, "GET", s.PATH_REPORTS, params=params)
            yield from page.get("reports") or []
            token = page.get("nextToken")
            if not token:
                return
            params = {"nextToken": token}
