"""SP-API side of Login with Amazon: the shared provider (``sources.lwa``) with SP's retries and errors.

The token cache itself is shared by every resource in the process (see ``sources.lwa``); this module adds
only what is SP-specific: retrying the token POST on 429 / 5xx / network errors with SP's backoff, and
reporting refusals as ``LWAAuthError`` (an ``SPAPIError`` with status and error code).
"""

from __future__ import annotations

import time

import httpx

from paperplan_sync.sources.lwa import LwaCredentials, LwaRefusal, LwaTokenProvider, clear_token_cache

from .errors import LWAAuthError
from .ratelimit import backoff_delay
from .settings import RETRYABLE_STATUS, TOKEN_REFRESH_MARGIN_S

__all__ = ["OPERATION", "LWATokenProvider", "clear_token_cache"]

OPERATION = "lwaTokenExchange"


class LWATokenProvider(LwaTokenProvider):
    """The shared LWA token provider, posting through SP's own retry loop."""

    def __init__(
        self,
        http: httpx.Client,
        credentials: LwaCredentials,
        *,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        backoff_max_s: float = 30.0,
    ):
        super().__init__(credentials, post=self._post, refused=_refused, margin_s=TOKEN_REFRESH_MARGIN_S)
        self._http = http
        self._max_retries, self._backoff_s, self._backoff_max_s = max_retries, backoff_s, backoff_max_s

    def _post(self, url: str, form: dict[str, str]) -> httpx.Response:
        """The final answer of LWA; 429 / 5xx / network errors are retried a bounded number of times."""
        last = ""
        for attempt in range(self._max_retries + 1):
            if attempt:
                time.sleep(backoff_delay(attempt - 1, self._backoff_s, self._backoff_max_s))
            try:
                resp = self._http.post(url, data=form, headers={"Accept": "application/json"})
            except httpx.TransportError as exc:
                last = f"network error: {type(exc).__name__}"  # not str(exc): keep messages free of URLs
                continue
            if resp.status_code in RETRYABLE_STATUS or resp.status_code == 429:
                last = f"HTTP {resp.status_code}"
                continue
            return resp
        raise LWAAuthError(
            f"LWA token exchange failed after {self._max_retries + 1} attempts: {last}", operation=OPERATION
        )


def _refused(refusal: LwaRefusal) -> LWAAuthError:
    return LWAAuthError(
        refusal.message,
        operation=OPERATION,
        status=refusal.status,
        errors=[{"code": refusal.error, "message": refusal.description}],
    )
