"""The one HTTP retry policy of the product (SP-API, Ads, LWA, Airtable).

Retried: 429, 5xx (500/502/503/504) and transport errors; any other answer goes back to the caller as is.
The wait after a 429 is the API's own (``wait``: SP-API 1 / x-amzn-RateLimit-Limit, Ads Retry-After,
Airtable its 30 s penalty through the shared limiter); everything else backs off exponentially with
jitter. Rate limiters stay inside the attempt (every try takes its slot), and a non-idempotent call uses
``call(..., before_retry=...)`` to look for what the failed attempt may have created before trying again.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, Protocol, TypeVar

import httpx

RETRY_STATUSES = frozenset({500, 502, 503, 504})
THROTTLED = 429

T = TypeVar("T")
_log = logging.getLogger(__name__)


class Answer(Protocol):  # an httpx or requests response
    status_code: int
    headers: Any


class GaveUp(Exception):
    """Retries are spent. ``response`` is the last 429/5xx answer (None after transport errors)."""

    def __init__(self, what: str, problem: str, attempts: int, response: Any = None, cause: str = ""):
        super().__init__(f"{what}: {problem}, gave up after {attempts} attempt(s)")
        self.problem, self.attempts, self.response = problem, attempts, response
        self.cause = cause or problem  # "HTTP 503", or the transport error's class name


def backoff(attempt: int, base_s: float, cap_s: float) -> float:
    """Exponential backoff with +-25 % jitter (runs that failed together do not retry together)."""
    return min(cap_s, base_s * 2 ** max(attempt - 1, 0)) * random.uniform(0.75, 1.25)


def retry_after(answer: Answer) -> float | None:
    """Seconds from a Retry-After header (delta seconds or an HTTP date), None without one."""
    value = answer.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError):
        return None


def rate_limit_wait(header: str, fallback_rate: float) -> Callable[[Answer], float]:
    """SP-API: one token comes back after 1 / rate s, the rate the header states (else the plan's)."""

    def wait(answer: Answer) -> float:
        try:
            rate = float(answer.headers.get(header, ""))
        except ValueError:
            rate = fallback_rate
        return 1.0 / (rate if rate > 0 else fallback_rate)

    return wait


@dataclass
class RetryPolicy:
    attempts: int = 6  # tries of a call that meets 5xx / transport errors
    throttle_attempts: int | None = None  # tries of a call answered 429 (default: attempts)
    wait: Callable[[Answer], float | None] = retry_after  # the API's wait after a 429; None: back off
    backoff_s: float = 1.0
    backoff_max_s: float = 30.0
    max_wait_s: float = 120.0  # bound on any single wait, whatever a header says
    transport_errors: tuple[type[BaseException], ...] = (httpx.TransportError,)
    log: logging.Logger = field(default=_log)
    sleep: Callable[[float], None] = time.sleep

    def _pause(self, what: str, problem: str, tries: int, limit: int, seconds: float) -> None:
        seconds = min(max(seconds, 0.0), self.max_wait_s)
        self.log.info("%s: %s; retry %d/%d in %.2fs", what, problem, tries, limit - 1, seconds)
        self.sleep(seconds)

    def send(
        self,
        attempt: Callable[[], T],
        *,
        what: str,
        on_throttle: Callable[[T], None] | None = None,
        discard: Callable[[T], None] | None = None,
    ) -> T:
        """``attempt()`` until it answers neither 429 nor 5xx. ``on_throttle`` sees each 429 (e.g. to drain a
        bucket); ``discard`` releases an answer that is retried (a streamed body)."""
        failures = throttled = 0
        throttle_limit = self.throttle_attempts or self.attempts
        while True:
            try:
                answer = attempt()
            except self.transport_errors as exc:
                failures += 1
                problem = f"network error ({type(exc).__name__})"  # never str(exc): it may hold a presigned URL
                if failures >= self.attempts:
                    raise GaveUp(what, problem, failures, cause=type(exc).__name__) from None
                self._pause(
                    what, problem, failures, self.attempts, backoff(failures, self.backoff_s, self.backoff_max_s)
                )
                continue
            status = answer.status_code  # type: ignore[attr-defined]
            if status != THROTTLED and status not in RETRY_STATUSES:
                return answer
            problem = f"HTTP {status}"
            if status == THROTTLED:
                throttled += 1
                if on_throttle:
                    on_throttle(answer)
                tries, limit = throttled, throttle_limit
                seconds = self.wait(answer)  # type: ignore[arg-type]
            else:
                failures += 1
                tries, limit, seconds = failures, self.attempts, None
            if tries >= limit:
                raise GaveUp(what, problem, tries, answer)
            if discard:
                discard(answer)
            if seconds is None:
                seconds = backoff(tries, self.backoff_s, self.backoff_max_s)
            self._pause(what, problem, tries, limit, seconds)

    def call(
        self,
        fn: Callable[[], T],
        *,
        what: str,
        transient: Callable[[Exception], bool],
        before_retry: Callable[[], T | None] | None = None,
    ) -> T:
        """``fn()`` again after a transient failure -- for a call that is not safe to repeat blindly (a create):
        ``before_retry`` looks for what the failed try may have done anyway; a result other than None ends
        the retries with it."""
        for tries in range(1, self.attempts + 1):
            try:
                return fn()
            except Exception as exc:
                if not transient(exc) or tries >= self.attempts:
                    raise
                self._pause(
                    what, type(exc).__name__, tries, self.attempts, backoff(tries, self.backoff_s, self.backoff_max_s)
                )
            if before_retry is not None:
                found = before_retry()
                if found is not None:
                    return found
        raise AssertionError("unreachable")
