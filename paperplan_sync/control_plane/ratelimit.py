"""A request-spacing limiter shared by every process on the machine.

Airtable allows 5 requests/s per base and answers a burst with 429 plus a 30 s penalty for the whole
base. The code server, the daemon and each run are separate processes, so an in-process limiter is not
enough: the next free send slot lives in a small file, updated under an exclusive ``flock``.
"""

from __future__ import annotations

import fcntl
import os
import struct
import time
from pathlib import Path

_SLOT = struct.Struct("<d")


class RateLimited(Exception):
    """The next free slot is further away than the caller is willing to wait."""

    def __init__(self, wait_s: float):
        super().__init__(f"rate limited: next request slot in {wait_s:.1f}s")
        self.wait_s = wait_s


class SharedRateLimiter:
    def __init__(self, path: Path, requests_per_second: float):
        self.path = Path(path)
        self.interval = 1.0 / requests_per_second
        self.path.parent.mkdir(parents=True, exist_ok=True)

    def _update(self, new_slot) -> float:
        """Atomically read the stored slot, store ``new_slot(stored)``, return the stored value."""
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, _SLOT.size, 0)
            stored = _SLOT.unpack(raw)[0] if len(raw) == _SLOT.size else 0.0
            os.pwrite(fd, _SLOT.pack(new_slot(stored)), 0)
            return stored
        finally:
            os.close(fd)  # closing releases the lock

    def acquire(self, max_wait_s: float | None = None) -> float:
        """Reserve the next slot and sleep until it. Returns the seconds waited."""
        now = time.time()
        reserved: list[float] = []

        def take(stored: float) -> float:
            slot = max(now, stored)
            if max_wait_s is not None and slot - now > max_wait_s:
                reserved.append(-1.0)
                return stored  # leave the slot for someone prepared to wait
            reserved.append(slot)
            return slot + self.interval

        stored = self._update(take)
        if reserved[0] < 0:
            raise RateLimited(max(stored, now) - now)
        wait = reserved[0] - now
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)

    def penalize(self, seconds: float) -> None:
        """After a 429 nobody on this machine sends before the penalty is over."""
        until = time.time() + seconds
        self._update(lambda stored: max(stored, until))
