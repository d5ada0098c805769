"""SP-API side of Login with Amazon: the shared provider (``sources.lwa``) with SP's retries and errors.

The token cache itself is shared by every resource in the process (see ``sources.lwa``); this module adds
only what is SP-specific: retrying the token POST on 429 / 5xx / network errors (the shared policy), and
reporting refusals as ``LWAAuthError`` (an ``SPAPIError`` with status and error code).
"""

from __future__ import annotations

import httpx

from paperplan_sync.retry import GaveUp, RetryPolicy
from paperplan_sync.sources import lwa
from paperplan_sync.sources.lwa import LwaCredentials, LwaRefusal, clear_token_cache

from .errors import LWAAuthError
from .settings import TOKEN_REFRESH_MARGIN_S

__all__ = ["OPERATION", "LwaTokenProvider", "clear_token_cache"]

OPERATION = "lwaTokenExchange"


class LwaTokenProvider(lwa.LwaTokenProvider):
    """The shared LWA token provider, posting through the shared retry policy."""

    def __init__(self, http: httpx.Client, credentials: LwaCredentials, *, policy: RetryPolicy | None = None):
        super().__init__(credentials, post=self._post, refused=_refused, margin_s=TOKEN_REFRESH_MARGIN_S)
        self._http = http
        self._policy = policy or RetryPolicy(attempts=4)

    def _post(self, url: str, form: dict[str, str]) -> httpx.Response:
        """The final answer of LWA; 429 / 5xx / network errors are retried a bounded number of times."""
        try:
            return self._policy.send(
                lambda: self._http.post(url, data=form, headers={"Accept": "application/json"}),
                what="LWA token exchange",
            )
        except GaveUp as exc:  # its message names no URL and no form field
            raise LWAAuthError(
                f"LWA token exchange failed after {exc.attempts} attempts: {exc.problem}", operation=OPERATION
            ) from None


def _refused(refusal: LwaRefusal) -> LWAAuthError:
    return LWAAuthError(
        refusal.message,
        operation=OPERATION,
        status=refusal.status,
        errors=[{"code": refusal.error, "message": refusal.description}],
    )
