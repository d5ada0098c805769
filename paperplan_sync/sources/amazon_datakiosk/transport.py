"""``DataKioskTransport``: the SP-API skeleton (sources.spapi_family: the LWA token of the Selling Partner app,
the x-amz-access-token header, the regional endpoint) with Data Kiosk's own pieces -- each operation's usage
plan as a limiter shared by every process of the product (``paperplan_sync.ratelimit``, keyed by endpoint and
Data Kiosk's operation name), a 429 waiting 1 / the x-amzn-RateLimit-Limit rate, the one retry policy -- and
the raw operations of Data Kiosk 2023-11-15. Errors are ``DataKioskError`` with Amazon's ``errors`` array."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import httpx

from paperplan_sync.ratelimit import SharedRateLimiter
from paperplan_sync.retry import GaveUp, rate_limit_wait
from paperplan_sync.shared_state import shared_state
from paperplan_sync.sources.spapi_family import (
    RATE_LIMIT_HEADER,
    REQUEST_ID_HEADER,
    SpApiSource,
    applied_rate,
    describe_errors,
    error_list,
)

from . import settings as s


class DataKioskError(Exception):
    """A Data Kiosk call failed (4xx, or 429 / 5xx / network after bounded retries)."""

    def __init__(self, message: str, *, operation: str, status: int | None = None, errors: list | None = None):
        super().__init__(message)
        self.operation, self.status, self.errors = operation, status, errors or []


def api_error(operation: str, resp: httpx.Response, note: str = "") -> DataKioskError:
    errors = error_list(resp)
    msg = f"Data Kiosk {operation} failed: HTTP {resp.status_code} {describe_errors(errors)}"
    request_id = resp.headers.get(REQUEST_ID_HEADER)
    msg += f" [{note}]" if note else ""
    msg += f" (request id {request_id})" if request_id else ""
    return DataKioskError(msg, operation=operation, status=resp.status_code, errors=errors)


def gave_up_error(operation: str, exc: GaveUp) -> DataKioskError:
    if exc.response is None:
        return DataKioskError(
            f"Data Kiosk {operation} failed: {exc.problem}, gave up after {exc.attempts} attempt(s)",
            operation=operation,
        )
    note = "still throttled" if exc.response.status_code == 429 else "gave up"
    return api_error(operation, exc.response, f"{note} after {exc.attempts} attempt(s)")


class DataKioskTransport(SpApiSource):
    """Data Kiosk calls: token, usage-plan pacing shared across processes, retries, one token refresh."""

    def limiter(self, operation: str) -> SharedRateLimiter:
        """The operation's usage plan (rate x ``rate_limit_scale``, Amazon's burst), shared by every process."""
        rate, burst = s.USAGE_PLANS[operation]
        key = f"datakiosk-{self.endpoint.rstrip('/')}-{operation}"
        state = shared_state(self.state_mongodb_uri, self.state_database)
        return SharedRateLimiter(state, key, rate * self.rate_limit_scale, burst=burst)

    def call(self, operation: str, method: str, path: str, *, retry_transient: bool = True, **options: Any) -> Any:
        """Send one operation; its JSON body (``{}`` when empty). ``retry_transient=False`` for createQuery:
        only 429s (never accepted) are retried here, the caller looks for the query before sending it again.
        ``options``: params / json of the request."""
        limiter = self.limiter(operation)
        fallback = s.USAGE_PLANS[operation][0] * self.rate_limit_scale
        policy = replace(
            self.policy,
            wait=rate_limit_wait(RATE_LIMIT_HEADER, fallback),
            attempts=self.policy.attempts if retry_transient else 1,
        )

        def take_turn() -> None:  # every try takes its slot of the usage plan
            limiter.acquire()

        def throttled(answer: httpx.Response) -> None:  # nobody of the product asks again before Amazon's wait
            limiter.penalize(1 / (applied_rate(answer) or fallback))

        resp = self.call_api(
            method,
            self.endpoint.rstrip("/") + path,
            what=f"Data Kiosk {operation}",
            before_try=take_turn,
            policy=policy,
            on_throttle=throttled,
            gave_up=lambda exc: gave_up_error(operation, exc),
            **options,
        )
        if resp.status_code >= 300:
            raise api_error(operation, resp)
        return resp.json() if resp.content else {}

    # --- the raw operations ----------------------------------------------------------------------------------

    def create_query(self, query: str, pagination_token: str | None = None) -> str:
        """createQuery -> its queryId; not retried on 5xx / network errors by itself (see the client)."""
        body = {"query": query} | ({"paginationToken": pagination_token} if pagination_token else {})
        return str(self.call(s.OP_CREATE_QUERY, "POST", s.PATH_QUERIES, json=body, retry_transient=False)["queryId"])

    def get_query(self, query_id: str) -> dict[str, Any]:
        return self.call(s.OP_GET_QUERY, "GET", s.PATH_QUERY.format(query_id=query_id))

    def cancel_query(self, query_id: str) -> None:
        self.call(s.OP_CANCEL_QUERY, "DELETE", s.PATH_QUERY.format(query_id=query_id))

    def get_document(self, document_id: str) -> dict[str, Any]:
        return self.call(s.OP_GET_DOCUMENT, "GET", s.PATH_DOCUMENT.format(document_id=document_id))

    def iter_queries(
        self, statuses: tuple[str, ...] = s.IN_FLIGHT_STATUSES, max_pages: int = s.IN_FLIGHT_LOOKUP_MAX_PAGES
    ) -> Iterator[dict[str, Any]]:
        """getQueries of these statuses, newest first, following ``pagination.nextToken`` (sent with the
        same filters) for at most ``max_pages`` pages."""
        params: dict[str, Any] = {"processingStatuses": ",".join(statuses), "pageSize": s.GET_QUERIES_PAGE_SIZE}
        for _ in range(max_pages):
            page = self.call(s.OP_GET_QUERIES, "GET", s.PATH_QUERIES, params=params)
            yield from page.get("queries") or []
            token = (page.get("pagination") or {}).get("nextToken")
            if not token:
                return
            params = {**params, "paginationToken": token}
