"""A request limiter shared by every process on the machine: at most ``burst`` sends in any window of
``burst / requests_per_second`` seconds.

Airtable allows 5 requests/s per base and answers more with 429 plus a 30 s penalty for the whole base.
Within that limit a short burst is free: a code-location load reads its few pages back to back instead of
one every 0.2 s. The long-run pace is still ``requests_per_second``, and a client that never sends more
than ``burst`` requests in ``burst / rate`` seconds conforms to a token bucket of that size and rate, which
is how such limits are enforced. The code server, the daemon and each run are separate processes, so an
in-process limiter is not enough: the last ``burst`` send times live in a small file, updated under an
exclusive ``flock``.
"""

from __future__ import annotations

import fcntl
import os
import struct
import time
from pathlib import Path


class RateLimited(Exception):
    """The next free slot is further away than the caller is willing to wait."""

    def __init__(self, wait_s: float):
        super().__init__(f"rate limited: next request slot in {wait_s:.1f}s")
        self.wait_s = wait_s


class SharedRateLimiter:
    def __init__(self, path: Path, requests_per_second: float, burst: int = 1):
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.path = Path(path)
        self.burst = burst
        self.window = burst / requests_per_second
        self._record = struct.Struct(f"<{burst}d")  # the last `burst` send times, oldest first
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _update(self, change) -> tuple[float, ...]:
        """Atomically read the stored send times, store ``change(times)``, return what was stored."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, self._record.size, 0)
            # A missing file or one written with another burst size: no sends on record.
            times = self._record.unpack(raw) if len(raw) == self._record.size else (0.0,) * self.burst
            os.pwrite(fd, self._record.pack(*change(times)), 0)
            os.ftruncate(fd, self._record.size)
            return times
        finally:
            os.close(fd)  # closing releases the lock

    def _next_slot(self, times: tuple[float, ...], now: float) -> float:
        # Never before a send already reserved (first come, first served), and the send `burst` back must
        # have left the window.
        return max(now, times[-1], times[0] + self.window)

    def acquire(self, max_wait_s: float | None = None) -> float:
        """Reserve the next send slot and sleep until it. Returns the seconds waited."""
        now = time.time()
        reserved: list[float] = []

        def take(times: tuple[float, ...]) -> tuple[float, ...]:
            slot = self._next_slot(times, now)
            if max_wait_s is not None and slot - now > max_wait_s:
                return times  # leave the slot for someone prepared to wait
            reserved.append(slot)
            return (*times[1:], slot)

        times = self._update(take)
        if not reserved:
            raise RateLimited(self._next_slot(times, now) - now)
        wait = reserved[0] - now
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)

    def penalize(self, seconds: float) -> None:
        """After a 429 nobody on this machine sends before the penalty is over."""
        until = time.time() + seconds
        self._update(lambda times: tuple(max(t, until - self.window) for t in times))
