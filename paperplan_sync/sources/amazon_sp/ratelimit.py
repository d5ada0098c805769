"""Per-operation token buckets, shared by every client instance in the process.

Amazon meters each operation per selling partner + application, not per HTTP connection: Dagster builds a
fresh resource per run (and many partitions run in one process), so the buckets live at module level,
keyed by (endpoint, operation), guarded by a lock.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from paperplan_sync.ratelimit import RateLimited, SharedRateLimiter
from paperplan_sync.shared_state import SharedState

from .catalog import create_every_s
from .settings import USAGE_PLANS


class TokenBucket:
    """Classic token bucket. ``acquire`` reserves a token (the balance may go negative = a queue of waiters)
    and sleeps outside the lock, so concurrent callers are served in arrival order at the plan's rate."""

    def __init__(self, rate: float, burst: int):
        self._lock = threading.Lock()
        self.rate = rate
        self.burst = float(burst)
        self._tokens = float(burst)
        self._stamp = time.monotonic()

    def _refill(self, now: float) -> None:
        self._tokens = min(self.burst, self._tokens + (now - self._stamp) * self.rate)
        self._stamp = now

    def reserve(self) -> float:
        """Take one token; return how long the caller must wait before using it."""
        with self._lock:
            now = time.monotonic()
            self._refill(now)
            self._tokens -= 1.0
            return 0.0 if self._tokens >= 0 else -self._tokens / self.rate

    def acquire(self) -> float:
        wait = self.reserve()
        if wait > 0:
            time.sleep(wait)
        return wait

    def drain(self) -> None:
        """The server said 429: our view of the bucket was too optimistic, so start from empty."""
        with self._lock:
            self._refill(time.monotonic())
            self._tokens = min(self._tokens, 0.0)

    def reconfigure(self, rate: float, burst: int) -> None:
        with self._lock:
            self._refill(time.monotonic())
            self.rate, self.burst = rate, float(burst)
            self._tokens = min(self._tokens, self.burst)


_BUCKETS: dict[tuple[str, str], TokenBucket] = {}
_BUCKETS_LOCK = threading.Lock()


def bucket_for(endpoint: str, operation: str, scale: float = 1.0) -> TokenBucket:
    """The process-wide bucket of one operation on one endpoint (rate scaled by ``scale``)."""
    plan = USAGE_PLANS[operation]
    rate = plan.rate * scale
    key = (endpoint.rstrip("/"), operation)
    with _BUCKETS_LOCK:
        bucket = _BUCKETS.get(key)
        if bucket is None:
            bucket = _BUCKETS[key] = TokenBucket(rate, plan.burst)
    if bucket.rate != rate:  # a resource configured with another scale: last configuration wins
        bucket.reconfigure(rate, plan.burst)
    return bucket


class ReportTypeTurn:
    """Amazon's own createReport limit of one report type (Sales and Traffic: one per 15 minutes, burst 1).
    Amazon counts it per selling partner and application, so the turns live in the product's shared state:
    every process -- each run, a backfill, a retried step -- waits its turn in order instead of being refused."""

    def __init__(self, state: SharedState, endpoint: str, report_type: str, every_s: float):
        self.every_s, self.rate = every_s, 1 / every_s
        self._limiter = SharedRateLimiter(state, f"spapi-create-{endpoint.rstrip('/')}-{report_type}", self.rate)

    def take(self, on_wait: Callable[[float], None]) -> None:
        """Reserve the next turn and sleep until it; ``on_wait(seconds)`` first when that is not now."""
        try:
            self._limiter.acquire(max_wait_s=0.0)
        except RateLimited as busy:
            on_wait(busy.wait_s)
            self._limiter.acquire()

    def answered(self) -> None:
        """Amazon took the turn somewhere between our send and its answer: the next one counts from here."""
        self._limiter.penalize(self.every_s)

    def refused(self, wait_s: float) -> None:
        """Amazon said 429 (a request from outside the product): nobody asks again before ``wait_s``."""
        self._limiter.penalize(wait_s)


def report_type_turn(state: SharedState, endpoint: str, report_type: str, scale: float = 1.0) -> ReportTypeTurn | None:
    """The turn of a report type Amazon limits on its own (its catalog entry's ``create_every_s``, rate scaled
    like the usage plans), or None."""
    every = create_every_s(report_type)
    return ReportTypeTurn(state, endpoint, report_type, every / scale) if every else None


def reset_buckets() -> None:
    """Forget all buckets (tests)."""
    with _BUCKETS_LOCK:
        _BUCKETS.clear()
