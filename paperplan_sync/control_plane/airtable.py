"""The Airtable client every part of the product uses: pyairtable, paced and retried for Airtable's limits.

All requests of all the product's processes go through one shared limiter per base (ratelimit.py). A 429
pauses every process for Airtable's penalty window; one that says the monthly quota is used up also slows
the limiter for the month. Transient 5xx and network errors are retried (retry.py).

Design notes: docs/design/airtable-quota.md.
"""

from __future__ import annotations

import dagster as dg
import requests
from pyairtable import Api, Table
from pydantic import PrivateAttr
from requests.adapters import HTTPAdapter

from paperplan_sync.ratelimit import RateLimited, SharedRateLimiter
from paperplan_sync.retry import GaveUp, RetryPolicy
from paperplan_sync.shared_state import SharedState, shared_state

AIRTABLE_DEFAULT_ENDPOINT = "https://api.airtable.com"
# Airtable allows 5/s per base; pacing slightly under it leaves room for clock jitter. Up to 5 requests
# may go back to back; no 6 ever fall within 5 / 4.75 s (1.05 s).
DEFAULT_REQUESTS_PER_SECOND = 4.75
DEFAULT_BURST = 5
AIRTABLE_PENALTY_S = 30.0
QUOTA_EXCEEDED = "PUBLIC_API_BILLING_LIMIT_EXCEEDED"  # Airtable's 429 error type past the monthly quota


class AirtableUnavailable(Exception):
    """Airtable could not be reached or kept failing; the caller falls back (cache, outbox)."""


class AirtableQuotaExceeded(AirtableUnavailable):
    """The workspace's monthly API quota is used up: Airtable serves 2 requests/s until the month ends."""


def _error_type(response) -> str:
    """Airtable answers {"error": {"type": ...}}, {"error": "TYPE"} or {"errors": [{"error": "TYPE", ...}]}."""
    try:
        body = response.json()
    except ValueError:
        return ""
    error = body.get("error") or next(iter(body.get("errors") or []), None)
    if isinstance(error, dict):
        return str(error.get("type") or error.get("error") or "")
    return str(error or "")


class _PacedAdapter(HTTPAdapter):
    def __init__(self, limiter: SharedRateLimiter, *, penalty_s: float, attempts: int, max_wait_s: float | None):
        super().__init__()
        self.limiter, self.penalty_s, self.attempts, self.max_wait_s = limiter, penalty_s, attempts, max_wait_s

    def send(self, request, **kwargs):  # type: ignore[override]
        def attempt():
            try:
                self.limiter.acquire(self.max_wait_s)  # every try takes a slot of the shared limiter
            except RateLimited as exc:
                raise AirtableUnavailable(f"Airtable is rate limiting this base ({exc})") from exc
            return super(_PacedAdapter, self).send(request, **kwargs)

        def throttled(response) -> None:  # every process's next acquire waits the penalty out
            self.limiter.penalize(self.penalty_s)
            if _error_type(response) == QUOTA_EXCEEDED:
                self.limiter.mark_quota_exceeded()

        policy = RetryPolicy(
            attempts=self.attempts,
            wait=lambda _: 0.0,
            backoff_s=0.5,
            backoff_max_s=8.0,
            transport_errors=(requests.ConnectionError, requests.Timeout),
        )
        try:
            return policy.send(attempt, what="Airtable", on_throttle=throttled, discard=lambda r: r.close())
        except GaveUp as exc:
            if exc.response is None:
                raise AirtableUnavailable(f"Airtable unreachable: {exc.cause}") from None
            if exc.response.status_code == 429 and _error_type(exc.response) == QUOTA_EXCEEDED:
                raise AirtableQuotaExceeded("Airtable's monthly API call quota for this workspace is used up") from None
            raise AirtableUnavailable(f"Airtable answered {exc.response.status_code} {exc.attempts} times") from None


class AirtableResource(dg.ConfigurableResource):
    """The SYNC base. In production: ``AirtableResource(api_key=EnvVar("AIRTABLE_API_KEY"), ...)``."""

    api_key: str
    base_id: str
    endpoint_url: str = AIRTABLE_DEFAULT_ENDPOINT
    requests_per_second: float = DEFAULT_REQUESTS_PER_SECOND
    burst: int = DEFAULT_BURST
    penalty_s: float = AIRTABLE_PENALTY_S
    timeout_s: float = 30.0
    attempts: int = 5
    # None: wait as long as the shared limiter says. Set it to fail fast (e.g. while loading config).
    max_wait_s: float | None = None
    # Where the shared limiter and configuration live: MongoDB (all machines), else a local file.
    state_mongodb_uri: str = ""
    state_database: str = ""
    # The workspace's plan quota, for usage reports only (Free 1,000; Team 100,000; 0 = unlimited).
    monthly_quota: int = 100_000

    _api: Api | None = PrivateAttr(default=None)

    @property
    def shared_state(self) -> SharedState:
        return shared_state(self.state_mongodb_uri, self.state_database)

    @property
    def limiter(self) -> SharedRateLimiter:
        return SharedRateLimiter(
            self.shared_state, f"airtable-limiter-{self.base_id}", self.requests_per_second, self.burst
        )

    @property
    def api(self) -> Api:
        if self._api is None:
            api = Api(
                self.api_key,
                timeout=(5, self.timeout_s),  # type: ignore[arg-type]  # pyairtable says int; requests takes float
                retry_strategy=None,
                endpoint_url=self.endpoint_url,
            )
            adapter = _PacedAdapter(
                self.limiter, penalty_s=self.penalty_s, attempts=self.attempts, max_wait_s=self.max_wait_s
            )
            api.session.mount("http://", adapter)
            api.session.mount("https://", adapter)
            self._api = api
        return self._api

    def table(self, name: str) -> Table:
        return self.api.table(self.base_id, name)

    def __repr__(self) -> str:  # never show the key
        return f"AirtableResource(base_id={self.base_id!r}, endpoint_url={self.endpoint_url!r})"
