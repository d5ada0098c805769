"""In-memory state of the local Ads server: issued tokens, reports, faults, clock, counters."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timezone
from typing import Any

PENDING, PROCESSING, COMPLETED, FAILED = "PENDING", "PROCESSING", "COMPLETED", "FAILED"
DEFAULT_FAILURE_REASON = "Report generation failed due to an internal error. Please retry."


@dataclass
class Faults:
    """What ``POST /_test/faults`` can arm. Counters are consumed one per Ads API request."""

    fail: bool = False  # reports created while set end FAILED
    failure_reason: str = DEFAULT_FAILURE_REASON
    status_429: int = 0
    retry_after: float = 1.0  # seconds, sent as Retry-After with each injected 429
    status_5xx: int = 0
    slow_s: float = 0.0  # added latency on every Ads API request
    processing_delay_s: float | None = None  # overrides the server's delay for reports created while set
    non_object_rows: bool = False  # documents built while set contain non-object elements

    _NUMBERS = {"status_429": int, "status_5xx": int, "retry_after": float, "slow_s": float}

    def update(self, body: dict[str, Any]) -> None:
        """Validate everything first so a bad request changes nothing."""
        changes: dict[str, Any] = {}
        for key, value in body.items():
            if key in self._NUMBERS:
                if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
                    raise ValueError(f"{key} must be a number >= 0")
                changes[key] = self._NUMBERS[key](value)
            elif key in ("fail", "non_object_rows"):
                if not isinstance(value, bool):
                    raise ValueError(f"{key} must be true or false")
                changes[key] = value
            elif key == "failure_reason":
                changes[key] = str(value)
            elif key == "processing_delay_s":
                if value is not None and (isinstance(value, bool) or not isinstance(value, int | float) or value < 0):
                    raise ValueError("processing_delay_s must be a number >= 0 or null")
                changes[key] = None if value is None else float(value)
            elif key != "revoke_tokens":  # an action, handled by the app
                raise ValueError(f"unknown fault {key!r}")
        for key, value in changes.items():
            setattr(self, key, value)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    def take(self, name: str) -> bool:
        """Consume one armed 429 / 5xx."""
        left = getattr(self, name)
        if left > 0:
            setattr(self, name, left - 1)
            return True
        return False


@dataclass
class Report:
    report_id: str
    name: str
    start: date
    end: date
    configuration: dict[str, Any]
    duplicate_key: str
    processing_delay_s: float
    failure_reason: str | None
    non_object_rows: bool
    created_mono: float = field(default_factory=time.monotonic)
    created_at: datetime = field(default_factory=lambda: datetime.now(timezone.utc))
    document: bytes | None = None
    generated_at: datetime | None = None

    def status(self) -> str:
        elapsed = time.monotonic() - self.created_mono
        if elapsed < self.processing_delay_s * 0.3:
            return PENDING
        if elapsed < self.processing_delay_s:
            return PROCESSING
        return FAILED if self.failure_reason else COMPLETED


def duplicate_key(start: str, end: str, configuration: dict[str, Any]) -> str:
    """Identity of a request for the 425 check: the same dates and configuration (list order ignored)."""
    canonical = {
        k: sorted(json.dumps(v, sort_keys=True) for v in val) if isinstance(val, list) else val
        for k, val in configuration.items()
    }
    return json.dumps({"startDate": start, "endDate": end, "configuration": canonical}, sort_keys=True)


@dataclass
class Stats:
    api_calls: int = 0  # reporting calls (create / get report), answered or refused
    token_grants: int = 0
    reports_created: int = 0
    duplicates: int = 0
    downloads: int = 0
    injected_429: int = 0
    injected_5xx: int = 0


class ServerState:
    def __init__(self, *, today: Callable[[], date], default_delay_s: float):
        self.tokens: dict[str, float] = {}  # access token -> monotonic expiry
        self.reports: dict[str, Report] = {}
        self.faults = Faults()
        self.stats = Stats()
        self._today = today
        self.today_override: date | None = None
        self.default_delay_s = default_delay_s

    def today(self) -> date:
        return self.today_override or self._today()

    def issue_token(self, ttl_s: float) -> str:
        token = f"Atza|local-ads-{uuid.uuid4().hex}"
        self.tokens[token] = time.monotonic() + ttl_s
        self.stats.token_grants += 1
        return token

    def token_valid(self, token: str) -> bool:
        expiry = self.tokens.get(token)
        return expiry is not None and time.monotonic() < expiry

    def pending_duplicate(self, key: str) -> Report | None:
        for report in self.reports.values():
            if report.duplicate_key == key and report.status() in (PENDING, PROCESSING):
                return report
        return None
