"""Airtable's request limit (a token bucket per base, then a penalty) and test-only fault injection."""

from __future__ import annotations

import threading
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import asdict, dataclass, field


class RateLimiter:
    """At most ``rate_per_s`` requests a second: a bucket of ``rate_per_s`` tokens refilled at that rate, so a
    client spacing requests 1/rate apart never trips it. Tripping it refuses *every* request for
    ``penalty_s`` (Airtable: 30 s), however slowly they come. A rate of 0 or less disables the limit."""

    def __init__(self, rate_per_s: float, penalty_s: float, clock: Callable[[], float] = time.monotonic):
        self.rate, self.penalty_s, self._clock = rate_per_s, penalty_s, clock
        self._lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._tokens = max(self.rate, 1.0)
            self._stamp = self._clock()
            self._penalty_until = 0.0

    def allow(self) -> bool:
        if self.rate <= 0:
            return True
        with self._lock:
            now = self._clock()
            if now < self._penalty_until:
                return False
            self._tokens = min(max(self.rate, 1.0), self._tokens + (now - self._stamp) * self.rate)
            self._stamp = now
            if self._tokens >= 1 - 1e-9:  # tolerance: evenly spaced clients must not trip on float error
                self._tokens -= 1
                return True
            self._penalty_until = now + self.penalty_s
            return False

    @property
    def in_penalty(self) -> bool:
        return self._clock() < self._penalty_until


@dataclass
class Fault:
    status: int | None = None  # answer this status instead of serving the request
    hang_s: float = 0.0  # sleep this long first
    count: int = 1  # for the next ``count`` API requests


class Faults:
    """Queued faults, consumed one request at a time (oldest first)."""

    def __init__(self) -> None:
        self._queue: deque[Fault] = deque()
        self._lock = threading.Lock()

    def add(self, fault: Fault) -> None:
        if fault.count > 0 and (fault.status or fault.hang_s > 0):
            with self._lock:
                self._queue.append(fault)

    def clear(self) -> None:
        with self._lock:
            self._queue.clear()

    def take(self) -> Fault | None:
        with self._lock:
            if not self._queue:
                return None
            head = self._queue[0]
            head.count -= 1
            if head.count <= 0:
                self._queue.popleft()
            return head

    def pending(self) -> list[dict]:
        with self._lock:
            return [asdict(f) for f in self._queue]


@dataclass
class Stats:
    requests: int = 0  # API requests received (everything under /v0/)
    rate_limited: int = 0  # 429s the per-second limiter answered
    quota_limited: int = 0  # 429 PUBLIC_API_BILLING_LIMIT_EXCEEDED answers (monthly cap)
    responses_429: int = 0  # every 429 answered, injected ones included
    faults: int = 0  # requests a fault was applied to
    by_endpoint: Counter = field(default_factory=Counter)  # "GET Report Types" -> requests

    def clear(self) -> None:
        self.requests = self.rate_limited = self.quota_limited = self.responses_429 = self.faults = 0
        self.by_endpoint.clear()
