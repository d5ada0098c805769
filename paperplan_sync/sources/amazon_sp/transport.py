"""One SP-API call done right: token, usage-plan pacing, the shared retry policy (429 waits 1 / the
x-amzn-RateLimit-Limit rate), one token refresh."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import httpx

from paperplan_sync.retry import GaveUp, RetryPolicy, rate_limit_wait

from .errors import SPAPIError, describe_errors
from .lwa import LwaTokenProvider
from .ratelimit import ReportTypeTurn, TokenBucket, bucket_for
from .settings import ACCESS_TOKEN_HEADER, RATE_LIMIT_HEADER, REQUEST_ID_HEADER, USAGE_PLANS


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


def _throttled(answer: httpx.Response, operation: TokenBucket, turns: Sequence[ReportTypeTurn]) -> None:
    """A 429 is about the limit whose rate the x-amzn-RateLimit-Limit header names: a report type's turn, or
    the operation's usage plan."""
    try:
        rate = float(answer.headers.get(RATE_LIMIT_HEADER, ""))
    except ValueError:
        rate = 0.0
    for turn in turns:
        if math.isclose(turn.rate, rate, rel_tol=0.01):
            turn.refused(1 / rate)
            return
    operation.drain()


class SPAPITransport:
    def __init__(
        self,
        http: httpx.Client,
        tokens: LwaTokenProvider,
        *,
        endpoint: str,
        rate_limit_scale: float,
        policy: RetryPolicy,
    ):
        self._http, self._tokens = http, tokens
        self.endpoint = endpoint.rstrip("/")
        self._scale = rate_limit_scale
        self.policy = policy

    @property
    def tokens(self) -> LwaTokenProvider:
        return self._tokens

    def call(
        self,
        operation: str,
        method: str,
        path: str,
        *,
        params: dict[str, Any] | None = None,
        json: dict[str, Any] | None = None,
        retry_transient: bool = True,
        turns: Sequence[ReportTypeTurn] = (),
        turns_label: str = "",
    ) -> dict[str, Any]:
        """Send one operation; returns the JSON body (``{}`` when empty). Raises SPAPIError.

        ``retry_transient=False`` for non-idempotent calls (createReport): only 429s (never accepted) are
        retried here; the caller looks for an in-flight report before trying again after a 5xx.
        ``turns``: a report type's own createReport limit, whose turn every try takes before the operation's.
        """
        bucket = bucket_for(self.endpoint, operation, self._scale)
        url = self.endpoint + path
        fallback = USAGE_PLANS[operation].rate * self._scale
        policy = replace(
            self.policy,
            wait=rate_limit_wait(RATE_LIMIT_HEADER, fallback),
            throttle_attempts=self.policy.throttle_attempts or self.policy.attempts,
            attempts=self.policy.attempts if retry_transient else 1,
        )
        sent: list[str] = []

        def attempt() -> httpx.Response:
            for turn in turns:  # waited out here, so the server is never asked early
                turn.take(
                    lambda wait, turn=turn: self.policy.log.info(  # type: ignore[misc]  # a lambda with defaults
                        "SP-API %s %s: Amazon allows one every %.0fs; waiting %.0fs for its turn",
                        operation,
                        turns_label,
                        turn.every_s,
                        wait,
                    )
                )
            bucket.acquire()  # every try takes its slot of the usage plan
            sent.append(self._tokens.token())
            headers = {ACCESS_TOKEN_HEADER: sent[-1], "Accept": "application/json"}
            return self._http.request(method, url, params=params, json=json, headers=headers)

        for refreshed in (False, True):
            try:
                resp = policy.send(
                    attempt, what=f"SP-API {operation}", on_throttle=lambda answer: _throttled(answer, bucket, turns)
                )
            except GaveUp as exc:
                note = "still throttled" if exc.response is not None and exc.response.status_code == 429 else "gave up"
                if exc.response is not None:
                    raise self._error(operation, exc.response, f"{note} after {exc.attempts} attempt(s)") from None
                raise SPAPIError(
                    f"{operation} failed: {exc.problem}, gave up after {exc.attempts} attempt(s)", operation=operation
                ) from None
            if resp.status_code < 300:
                for turn in turns:
                    turn.answered()
                return resp.json() if resp.content else {}
            if resp.status_code == 403 and not refreshed and _is_token_problem(_error_list(resp)):
                self._tokens.invalidate(sent[-1])  # once: a second 403 is a real authorization problem
                self.policy.log.info("SP-API %s: access token rejected; refreshing it once", operation)
                continue
            raise self._error(operation, resp)
        raise AssertionError("unreachable")

    @staticmethod
    def _error(operation: str, resp: httpx.Response, note: str = "") -> SPAPIError:
        errors = _error_list(resp)
        msg = f"{operation} failed: HTTP {resp.status_code} {describe_errors(errors)}"
        if note:
            msg += f" [{note}]"
        return SPAPIError(
            msg,
            operation=operation,
            status=resp.status_code,
            errors=errors,
            request_id=resp.headers.get(REQUEST_ID_HEADER),
        )
