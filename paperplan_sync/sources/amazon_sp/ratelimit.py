"""Per-operation token buckets, shared by every client instance in the process.

Amazon meters each operation per selling partner + application, not per HTTP connection: Dagster builds a
fresh resource per run (and many partitions run in one process), so the buckets live at module level,
keyed by (endpoint, operation), guarded by a lock.
"""

from __future__ import annotations

import threading
import time

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


def reset_buckets() -> None:
    """Forget all buckets (tests)."""
    with _BUCKETS_LOCK:
        _BUCKETS.clear()
