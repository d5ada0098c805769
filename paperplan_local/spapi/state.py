"""In-memory state of the stand-in: reports and their progress, documents, access tokens, usage-plan
buckets, injected faults and call statistics. One lock guards it; critical sections are tiny."""

from __future__ import annotations

import hashlib
import hmac
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from .constants import REPORT_TYPE_CREATE_PLANS, USAGE_PLANS
from .documents import DocumentSpec


class Bucket:
    """Server-side token bucket: take() answers now (no waiting) -- a miss is a 429."""

    def __init__(self, rate: float, burst: int):
        self.rate, self.burst = rate, float(burst)
        self.tokens, self.stamp = float(burst), time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False


@dataclass
class Report:
    report_id: str
    report_type: str
    marketplace_ids: list[str]
    data_start: datetime
    data_end: datetime
    created: datetime
    created_mono: float
    queue_s: float
    done_s: float
    final_status: str  # DONE | CANCELLED | FATAL, reached at created_mono + done_s
    document_id: str | None = None
    cancelled: bool = False

    def status(self, now_mono: float) -> str:
        if self.cancelled:
            return "CANCELLED"
        age = now_mono - self.created_mono
        if age < self.queue_s:
            return "IN_QUEUE"
        if age < self.done_s:
            return "IN_PROGRESS"
        return self.final_status

    def to_json(self, now_mono: float) -> dict[str, Any]:
        status = self.status(now_mono)
        out: dict[str, Any] = {
            "reportId": self.report_id,
            "reportType": self.report_type,
            "marketplaceIds": list(self.marketplace_ids),
            "dataStartTime": self.data_start.astimezone(UTC).isoformat(),
            "dataEndTime": self.data_end.astimezone(UTC).isoformat(),
            "createdTime": self.created.isoformat(),
            "processingStatus": status,
        }
        if status != "IN_QUEUE":
            out["processingStartTime"] = self.created.isoformat()
        if status in ("DONE", "FATAL", "CANCELLED"):
            out["processingEndTime"] = self.created.isoformat()
        if status in ("DONE", "FATAL") and self.document_id and not self.cancelled:
            out["reportDocumentId"] = self.document_id
        return out


@dataclass
class Document:
    kind: str  # "data" | "error" | "file"
    compression: str | None  # "GZIP" or None
    spec: DocumentSpec | None = None
    message: str = ""
    path: str = ""


COUNTER_FAULTS = ("status_429", "status_5xx", "status_403_expired", "expire_document_urls")
REPORT_FAULTS = (
    "fatal",
    "fatal_message",
    "fatal_document",
    "cancelled",
    "truncate_gzip",
    "slow_queue_s",
    "malformed_rows",
    "undecodable_rows",
    "rows",
    "compression",
    "empty_days",
    "keep_fraction",  # answer with this share of the rows (0.3: a third)
    "drop_marketplaces",  # marketplace ids whose orders are missing from an order report
    "fault_days",  # the two above only on these local days (YYYY-MM-DD)
    "rename_columns",  # {"item-price": "item_price"}: the header names a column differently
)
OTHER_KEYS = ("report_type", "operation", "rate_limit", "code", "expire_tokens")


class Faults:
    def __init__(self) -> None:
        self.entries: list[dict[str, Any]] = []

    def add(self, fault: dict[str, Any]) -> None:
        unknown = set(fault) - set(COUNTER_FAULTS) - set(REPORT_FAULTS) - set(OTHER_KEYS)
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        self.entries.append(dict(fault))

    def take(self, counter: str, operation: str) -> dict[str, Any] | None:
        """Consume one unit of a counted fault that applies to ``operation``."""
        for entry in self.entries:
            if entry.get(counter, 0) > 0 and entry.get("operation", operation) == operation:
                entry[counter] -= 1
                return entry
        return None

    def for_report(self, report_type: str) -> dict[str, Any]:
        merged: dict[str, Any] = {}
        for entry in self.entries:
            if entry.get("report_type", report_type) == report_type:
                merged.update({k: v for k, v in entry.items() if k in REPORT_FAULTS})
        return merged


@dataclass
class ServerState:
    seed: int
    rate_limit_scale: float
    processing_delay_s: float
    client_id: str
    client_secret: str
    refresh_token: str
    today: Callable[[], date]
    document_ttl_s: float
    token_ttl_s: int
    account_opened: date
    fault_injection: bool
    document_files: dict[str, str] = field(default_factory=dict)

    lock: threading.Lock = field(default_factory=threading.Lock)
    reports: dict[str, Report] = field(default_factory=dict)
    documents: dict[str, Document] = field(default_factory=dict)
    tokens: dict[str, float] = field(default_factory=dict)  # access token -> expiry (time.time())
    url_expiry: dict[str, float] = field(default_factory=dict)  # presigned URL signature -> expiry
    buckets: dict[str, Bucket] = field(default_factory=dict)
    type_buckets: dict[str, Bucket] = field(default_factory=dict)  # createReport limits per report type
    faults: Faults = field(default_factory=Faults)
    stats: dict[str, Counter] = field(
        default_factory=lambda: {
            "calls": Counter(),
            "throttled": Counter(),
            "injected_5xx": Counter(),
            "create_calls": Counter(),
            "lwa": Counter(),
            "downloads": Counter(),
            "throttled_types": Counter(),
        }
    )
    today_override: date | None = None
    next_id: int = 0
    tokens_issued: int = 0

    def __post_init__(self) -> None:
        self.signing_key = hashlib.sha256(f"spapi-standin:{self.seed}".encode()).digest()
        for op, (rate, burst) in USAGE_PLANS.items():
            self.buckets[op] = Bucket(rate * self.rate_limit_scale, burst)
        self.reset_type_buckets()

    def reset_type_buckets(self) -> None:
        for report_type, (rate, burst) in REPORT_TYPE_CREATE_PLANS.items():
            self.type_buckets[report_type] = Bucket(rate * self.rate_limit_scale, burst)

    # --- clock -------------------------------------------------------------------------------------------
    def current_day(self) -> date:
        return self.today_override or self.today()

    # --- ids / signing -----------------------------------------------------------------------------------
    def new_report_id(self) -> str:
        self.next_id += 1
        return str(50_000_000_000 + self.seed * 1_000_000 + self.next_id)

    def sign(self, *parts: str) -> str:
        return hmac.new(self.signing_key, "|".join(parts).encode(), hashlib.sha256).hexdigest()

    def issue_token(self) -> tuple[str, int]:
        with self.lock:
            self.tokens_issued += 1
            token = "Atza|" + self.sign("token", str(self.tokens_issued))[:48]
            self.tokens[token] = time.time() + self.token_ttl_s
        return token, self.token_ttl_s

    def rate_header(self, operation: str) -> str:
        rate = USAGE_PLANS[operation][0] * self.rate_limit_scale
        return f"{rate:g}"

    def type_rate_header(self, report_type: str) -> str:
        rate = REPORT_TYPE_CREATE_PLANS[report_type][0] * self.rate_limit_scale
        return f"{rate:g}"

    def stats_json(self) -> dict[str, Any]:
        with self.lock:
            return {k: dict(v) for k, v in self.stats.items()}

    def reset_stats(self) -> None:
        with self.lock:
            for counter in self.stats.values():
                counter.clear()
