"""One SP-API call done right: token, usage-plan pacing, 429 waits, bounded retries, one token refresh."""

from __future__ import annotations

import logging
import time
from typing import Any

import httpx

from .auth import LWATokenProvider
from .errors import SPAPIError, describe_errors
from .ratelimit import backoff_delay, bucket_for
from .settings import (
    ACCESS_TOKEN_HEADER,
    RATE_LIMIT_HEADER,
    REQUEST_ID_HEADER,
    RETRYABLE_STATUS,
    THROTTLE_WAIT_MAX_S,
    THROTTLE_WAIT_MIN_S,
    USAGE_PLANS,
)


def _error_list(resp: httpx.Response) -> list[dict[str, Any]]:
    try:
        body = resp.json()
    except ValueError:
        return [{"code": str(resp.status_code), "message": resp.text[:200]}]
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors if isinstance(errors, list) else []


def _is_token_problem(errors: list[dict[str, Any]]) -> bool:
    """403s worth one token refresh: expired / revoked / missing token (code Unauthorized or the wording)."""
    for e in errors:
        text = f"{e.get('message', '')} {e.get('details', '')}".lower()
        if e.get("code") in ("Unauthorized", "InvalidToken", "MissingAuthenticationToken"):
            return True
        if "access token" in text and ("expired" in text or "invalid" in text):
            return True
    return False


class SPAPITransport:
    def __init__(
        self,
        http: httpx.Client,
        tokens: LWATokenProvider,
        *,
        endpoint: str,
        rate_limit_scale: float,
        max_retries: int,
        max_throttle_retries: int,
        backoff_s: float,
        backoff_max_s: float,
        log: logging.Logger,
    ):
        self._http, self._tokens = http, tokens
        self.endpoint = endpoint.rstrip("/")
        self._scale = rate_limit_scale
        self._max_retries, self._max_throttle = max_retries, max_throttle_retries
        self._backoff_s, self._backoff_max_s = backoff_s, backoff_max_s
        self._log = log


    @property
    def tokens(self) -> LWATokenProvider:
        return self._tokens

    def _throttle_wait(self, operation: str, resp: httpx.Response) -> float:
        """Amazon tells us the applied rate in x-amzn-RateLimit-Limit: one token comes back after 1/rate s."""
        try:
            limit = float(resp.headers.get(RATE_LIMIT_HEADER, ""))
        except ValueError:
            limit = USAGE_PLANS[operation].rate * self._scale
        if limit <= 0:
            limit = USAGE_PLANS[operation].rate * self._scale
        return min(THROTTLE_WAIT_MAX_S, max(THROTTLE_WAIT_MIN_S, 1.0 / limit))

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        retry_transient: bool = True,
    ) -> dict[str, Any]:
        """Send one operation; returns the JSON body (``{}`` when empty). Raises SPAPIError.

        ``retry_transient=False`` for non-idempotent calls (createReport): the caller re-checks for an
        in-flight report before trying again, instead of blindly POSTing a duplicate.
        """
        bucket = bucket_for(self.endpoint, operation, self._scale)
        url = self.endpoint + path
        transient = throttled = 0
        refreshed = False
        while True:
            bucket.acquire()
            token = self._tokens.token()
            headers = {ACCESS_TOKEN_HEADER: token, "Accept": "application/json"}
            try:
                resp = self._http.request(method, url, params=params, json=json, headers=headers)
            except httpx.TransportError as exc:
                problem, resp = f"network error ({type(exc).__name__})", None
            else:
                if resp.status_code < 300:
                    return resp.json() if resp.content else {}
                if resp.status_code == 429:
                    throttled += 1
                    if throttled > self._max_throttle:
                        raise self._error(operation, resp, f"still throttled after {throttled} attempts")
                    bucket.drain()
                    wait = self._throttle_wait(operation, resp)
                    self._log.info("SP-API %s throttled (429); waiting %.2fs", operation, wait)
                    time.sleep(wait)
                    continue
                if resp.status_code == 403 and not refreshed and _is_token_problem(_error_list(resp)):
                    refreshed = True  # once: a second 403 is a real authorization problem
                    self._tokens.invalidate(token)
                    self._log.info("SP-API %s: access token rejected; refreshing it once", operation)
                    continue
                if resp.status_code not in RETRYABLE_STATUS:
                    raise self._error(operation, resp)
                problem = f"HTTP {resp.status_code}"
            transient += 1
            if not retry_transient or transient > self._max_retries:
                if resp is not None:
                    raise self._error(operation, resp, f"gave up after {transient} attempt(s)")
                raise SPAPIError(f"{operation} failed: {problem}, gave up after {transient} attempt(s)",
                                 operation=operation)
            delay = backoff_delay(transient - 1, self._backoff_s, self._backoff_max_s)
            self._log.warning("SP-API %s: %s; retry %d/%d in %.2fs", operation, problem, transient,
                              self._max_retries, delay)
            time.sleep(delay)

    @staticmethod
    def _error(operation: str, resp: httpx.Response, note: str = "") -> SPAPIError:
        errors = _error_list(resp)
        msg = f"{operation} failed: HTTP {resp.status_code} {describe_errors(errors)}"
        if note:
            msg += f" [{note}]"
        return SPAPIError(msg, operation=operation, status=resp.status_code, errors=errors,
                          request_id=resp.headers.get(REQUEST_ID_HEADER))
