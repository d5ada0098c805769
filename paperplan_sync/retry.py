"""The one HTTP retry policy of the product (SP-API, Ads, LWA, Airtable).

Retried: 429, 5xx (500/502/503/504) and transport errors; any other answer goes back to the caller as is.
The wait after a 429 is the API's own (``wait``: SP-API 1 / x-amzn-RateLimit-Limit, Ads Retry-After,
Airtable its 30 s penalty through the shared limiter); everything else backs off exponentially with
jitter. Rate limiters stay inside the attempt (every try takes its slot), and a non-idempotent call uses
``call(..., before_retry=...)`` to look for what the failed attempt may have created before trying again.
The loops themselves are tenacity's; this module only says what is retried, how long to wait, and when to stop.
"""

from __future__ import annotations

import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import parsedate_to_datetime
from typing import Any, NoReturn, Protocol, TypeVar

import httpx
import tenacity

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


def _outcome(state: tenacity.RetryCallState) -> tenacity.Future:
    """The try's outcome: tenacity calls its hooks after a try, so there is one."""
    assert state.outcome is not None
    return state.outcome


class _Tally:
    """One ``send``: counts 429s and failures apart (each has its own bound) and feeds tenacity's hooks."""

    def __init__(self, policy: RetryPolicy, what: str, on_throttle: Callable | None, discard: Callable | None):
        self.policy, self.what = policy, what
        self.on_throttle, self.discard = on_throttle, discard
        self.failures = self.throttled = 0
        self.tries, self.limit, self.problem = 0, 0, ""

    def count(self, state: tenacity.RetryCallState) -> None:  # tenacity's ``after``: runs first after a try
        outcome = _outcome(state)
        if outcome.failed:
            self.failures += 1
            self.problem = f"network error ({type(outcome.exception()).__name__})"  # never str(exc): a URL
            self.tries, self.limit = self.failures, self.policy.attempts
            return
        status = outcome.result().status_code
        self.problem = f"HTTP {status}"
        if status == THROTTLED:
            self.throttled += 1
            if self.on_throttle:
                self.on_throttle(outcome.result())
            self.tries, self.limit = self.throttled, self.policy.throttle_attempts or self.policy.attempts
        else:
            self.failures += 1
            self.tries, self.limit = self.failures, self.policy.attempts

    def wait(self, state: tenacity.RetryCallState) -> float:
        outcome = _outcome(state)
        seconds = None
        if not outcome.failed and outcome.result().status_code == THROTTLED:
            seconds = self.policy.wait(outcome.result())
        if seconds is None:
            seconds = backoff(self.tries, self.policy.backoff_s, self.policy.backoff_max_s)
        return min(max(seconds, 0.0), self.policy.max_wait_s)

    def spent(self, state: tenacity.RetryCallState) -> bool:
        return self.tries >= self.limit

    def before_sleep(self, state: tenacity.RetryCallState) -> None:
        if self.discard and not _outcome(state).failed:
            self.discard(_outcome(state).result())
        self.policy.log.info(
            "%s: %s; retry %d/%d in %.2fs", self.what, self.problem, self.tries, self.limit - 1, state.upcoming_sleep
        )

    def give_up(self, state: tenacity.RetryCallState) -> NoReturn:
        outcome = _outcome(state)
        if outcome.failed:
            raise GaveUp(self.what, self.problem, self.tries, cause=type(outcome.exception()).__name__) from None
        raise GaveUp(self.what, self.problem, self.tries, outcome.result())


def _retryable(answer: Any) -> bool:
    return answer.status_code == THROTTLED or answer.status_code in RETRY_STATUSES


class _LookupFailed(Exception):
    """``before_retry`` raised: not the call's failure, so it is raised as is, never retried."""

    def __init__(self, error: Exception):
        self.error = error


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
        tally = _Tally(self, what, on_throttle, discard)
        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception_type(self.transport_errors) | tenacity.retry_if_result(_retryable),
            after=tally.count,
            wait=tally.wait,
            stop=tally.spent,
            before_sleep=tally.before_sleep,
            retry_error_callback=tally.give_up,
            sleep=self.sleep,
        )
        return retrying(attempt)

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
        tries = [0]

        def attempt() -> T:
            tries[0] += 1
            if tries[0] > 1 and before_retry is not None:
                try:
                    found = before_retry()
                except Exception as exc:
                    raise _LookupFailed(exc) from None
                if found is not None:
                    return found
            return fn()

        def pause(state: tenacity.RetryCallState) -> None:
            exc = _outcome(state).exception()
            self.log.info(
                "%s: %s; retry %d/%d in %.2fs",
                what,
                type(exc).__name__,
                state.attempt_number,
                self.attempts - 1,
                state.upcoming_sleep,
            )

        retrying = tenacity.Retrying(
            retry=tenacity.retry_if_exception(
                lambda exc: isinstance(exc, Exception) and not isinstance(exc, _LookupFailed) and transient(exc)
            ),
            wait=lambda state: min(backoff(state.attempt_number, self.backoff_s, self.backoff_max_s), self.max_wait_s),
            stop=tenacity.stop_after_attempt(self.attempts),
            before_sleep=pause,
            sleep=self.sleep,
            reraise=True,
        )
        try:
            return retrying(attempt)
        except _LookupFailed as failed:
            raise failed.error from None
