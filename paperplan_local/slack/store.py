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


DEFAULT_CHANNELS = ("airtable",)  # the product's default SLACK_CHANNEL, with the app invited


def channel_id(channel: str) -> str:
    """Slack answers with channel IDs, not names: derive a stable, Slack-shaped ID from a name."""
    digest = hashlib.sha1(channel.lstrip("#").lower().encode()).hexdigest().upper()
    return "C" + digest[:10]


@dataclass
class Channel:
    name: str
    id: str
    is_member: bool = True
    is_archived: bool = False

    def info(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "name_normalized": self.name,
            "is_channel": True,
            "is_group": False,
            "is_im": False,
            "is_private": False,
            "is_member": self.is_member,
            "is_archived": self.is_archived,
        }


class Channels:
    """The workspace's channels. Like Slack, a channel is found by ID, "#name" or bare "name"; others do not exist."""

    def __init__(self, names: tuple[str, ...] = DEFAULT_CHANNELS) -> None:
        self._lock = threading.Lock()
        self._by_id: dict[str, Channel] = {}
        for name in names:
            self.add(name)

    def add(self, name: str, *, is_member: bool = True, is_archived: bool = False) -> Channel:
        channel = Channel(name.lstrip("#").lower(), channel_id(name), is_member, is_archived)
        with self._lock:
            self._by_id[channel.id] = channel
        return channel

    def find(self, ref: str) -> Channel | None:
        with self._lock:
            if ref in self._by_id:
                return self._by_id[ref]
            name = ref[1:] if ref.startswith("#") else ref
            return next((c for c in self._by_id.values() if c.name == name.lower()), None)

    def all(self) -> list[Channel]:
        with self._lock:
            return sorted(self._by_id.values(), key=lambda c: c.name)

    def reset(self, names: tuple[str, ...] = DEFAULT_CHANNELS) -> None:
        with self._lock:
            self._by_id.clear()
        for name in names:
            self.add(name)


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

    def add(
        self, channel: str, text: str, blocks: list | None, extra: dict[str, Any], *, channel_ref: str | None = None
    ) -> dict[str, Any]:
        """``channel``: the channel's ID; ``channel_ref``: what the caller wrote ("#airtable", "airtable" or the ID)."""
        with self._lock:
            message = {
                "channel": channel_ref or channel,
                "channel_id": channel,
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
                dict(m)
                for m in self._messages
                if channel is None
                or channel in (m["channel"], m["channel_id"])
                or channel_id(channel) == m["channel_id"]
            ]

    def channels(self) -> list[str]:
        with self._lock:
            return sorted({m["channel"] for m in self._messages})

    def clear(self) -> None:
        with self._lock:
            self._messages.clear()


@dataclass
class Faults:
    """Failures to serve on the next chat.postMessage calls (only reachable with fault injection on).

    ``status_429``: that many answers 429 + Retry-After, then normal service. ``unavailable`` (set through
    ``/_test/outage``): every call is refused as Slack refuses during an outage (HTTP 503,
    ``service_unavailable``) until it is switched off."""

    status_429: int = 0
    retry_after: int = 1
    served_429: int = 0
    unavailable: bool = False
    refused: int = 0  # calls refused while unavailable
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def set(self, status_429: int = 0, retry_after: int = 1) -> None:
        """Pending 429s (``DELETE /_test/faults`` also ends an outage)."""
        with self._lock:
            self.status_429, self.retry_after, self.served_429 = status_429, retry_after, 0
            self.unavailable, self.refused = False, 0

    def take_429(self) -> int | None:
        """Consume one pending 429; returns its Retry-After seconds, or None when none is pending."""
        with self._lock:
            if self.status_429 <= 0:
                return None
            self.status_429 -= 1
            self.served_429 += 1
            return self.retry_after

    def take_refusal(self) -> bool:
        """True (and counted) while Slack is switched to unavailable."""
        with self._lock:
            self.refused += int(self.unavailable)
            return self.unavailable

    def as_dict(self) -> dict[str, int]:
        with self._lock:
            return {"status_429": self.status_429, "retry_after": self.retry_after, "served_429": self.served_429}

    def set_outage(self, unavailable: bool) -> None:
        with self._lock:
            self.unavailable, self.refused = unavailable, 0

    def outage(self) -> dict[str, int | bool]:
        with self._lock:
            return {"unavailable": self.unavailable, "refused": self.refused}
