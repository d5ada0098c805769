"""The stand-in's wall clock: real UTC time plus an offset that tests move forward (webhook expiry, months)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import datetime, timedelta, timezone


class Clock:
    def __init__(self) -> None:
        self.offset = timedelta(0)
        self._lock = threading.Lock()
        self.on_advance: list[Callable[[], None]] = []

    def now(self) -> datetime:
        return datetime.now(timezone.utc) + self.offset

    def advance(self, seconds: float) -> None:
        with self._lock:
            self.offset += timedelta(seconds=seconds)
        for callback in self.on_advance:
            callback()

    def reset(self) -> None:
        with self._lock:
            self.offset = timedelta(0)
