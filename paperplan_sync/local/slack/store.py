"""In-memory state of the local Slack stand-in: posted messages and injected faults."""

from __future__ import annotations

import hashlib
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

# Enough for a long `make dev` session without growing without bound.
MAX_MESSAGES = 2000


def channel_id(channel: str) -> str:
    """Slack answers with channel IDs, not names: derive a stable, Slack-shaped ID from a name."""
    if not channel.startswith("#"):
        return channel  # already an ID (C...)
    digest = hashlib.sha1(channel[1:].lower().encode()).hexdigest().upper()
    return "C" + digest[:10]


class MessageStore:
    """Posted messages, newest last. Thread-safe because tests read it while the server writes."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._messages: deque[dict[str, Any]] = deque(maxlen=MAX_MESSAGES)
        self._last_ts_us = 0

    def _next_ts(self) -> str:
        # Slack's ts is "<epoch seconds>.<6 digits>" and unique per message: force strict monotonicity.
        now_us = time.time_ns() // 1000
        self._last_ts_us = max(now_us, self._last_ts_us + 1)
        return f"{self._last_ts_us // 1_000_000}.{self._last_ts_us % 1_000_000:06d}"

    def add(self, channel: str, text: str, blocks: list | None, extra: dict[str, Any]) -> dict[str, Any]:
        with self._lock:
            message = {
                "channel": channel,
                "channel_id": channel_id(channel),
                "text": text,
                "blocks": blocks,
                "ts": self._next_ts(),
                "received_at": datetime.now(timezone.utc).isoformat(),
                **extra,
            }
            self._messages.append(message)
            return dict(message)

    def list(self, channel: str | None = None) -> list[dict[str, Any]]:
        with self._lock:
            return [
                dict(m) for m in self._messages if channel is None or channel in (m["channel"], m["channel_id"])
            ]

    def channels(self) -> list[str]:
        with self._lock:
            return sorted({m["channel"] for m in self._messages})

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


@dataclass
class Faults:
    """Failures to serve on the next chat.postMessage calls (only reachable with fault injection on)."""

    status_429: int = 0
    retry_after: int = 1
    served_429: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, status_429: int = 0, retry_after: int = 1) -> None:
        with self._lock:
            self.status_429, self.retry_after, self.served_429 = status_429, retry_after, 0

    def take_429(self) -> int | None:
        """Consume one pending 429; returns its Retry-After seconds, or None when none is pending."""
        with self._lock:
            if self.status_429 <= 0:
                return None
            self.status_429 -= 1
            self.served_429 += 1
            return self.retry_after

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {"status_429": self.status_429, "retry_after": self.retry_after, "served_429": self.served_429}
