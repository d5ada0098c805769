"""The monthly API call quota of the workspace (one base here): every served call counts, per UTC month.

Past the cap Airtable slows the workspace to 2 requests/s until the month ends (Airtable's support article
"Managing API call limits"); a call over that pace answers 429 PUBLIC_API_BILLING_LIMIT_EXCEEDED in the list
form observed from the real API. ``over_cap_rate_per_s=0`` refuses every call past the cap instead, as some
integrations report seeing.
"""

from __future__ import annotations

import threading
from typing import Any

from paperplan_local.airtable.clock import Clock
from paperplan_local.airtable.errors import ApiError
from paperplan_local.airtable.ratelimit import RateLimiter
from paperplan_local.airtable.store import Store

OVER_CAP_RATE_PER_S = 2.0
BILLING_LIMIT_MESSAGE = (
    "API billing plan limit exceeded. You've reached the maximum number of requests allowed for this month."
)


class BillingLimitExceeded(ApiError):
    def __init__(self) -> None:
        super().__init__(429, "PUBLIC_API_BILLING_LIMIT_EXCEEDED", BILLING_LIMIT_MESSAGE)

    def body(self) -> dict[str, Any]:
        return {"errors": [{"error": self.type, "message": self.message}]}


class MonthlyQuota:
    def __init__(
        self, store: Store, clock: Clock, cap: int | None = None, over_cap_rate_per_s: float = OVER_CAP_RATE_PER_S
    ):
        if cap is not None and cap < 0:
            raise ValueError("monthly_quota must be 0 or more (None: no cap)")
        self.store, self.clock, self.cap = store, clock, cap
        self.over_cap_rate = over_cap_rate_per_s
        self._over_cap = RateLimiter(over_cap_rate_per_s, penalty_s=0.0)
        self._lock = threading.Lock()
        store.sql("CREATE TABLE IF NOT EXISTS monthly_calls (month TEXT PRIMARY KEY, calls INTEGER NOT NULL)")

    def month(self) -> str:
        return self.clock.now().strftime("%Y-%m")

    def calls(self, month: str | None = None) -> int:
        rows = self.store.sql("SELECT calls FROM monthly_calls WHERE month = ?", (month or self.month(),))
        return rows[0][0] if rows else 0

    def admit(self) -> ApiError | None:
        """Count one call, or the answer that refuses it."""
        with self._lock:
            month = self.month()
            if self.cap is not None and self.calls(month) >= self.cap:
                if self.over_cap_rate <= 0 or not self._over_cap.allow():
                    return BillingLimitExceeded()
            self.store.sql(
                "INSERT INTO monthly_calls (month, calls) VALUES (?, 1)"
                " ON CONFLICT (month) DO UPDATE SET calls = calls + 1",
                (month,),
            )
        return None

    def snapshot(self) -> dict[str, Any]:
        calls = self.calls()
        return {
            "month": self.month(),
            "calls": calls,
            "cap": self.cap,
            "over_cap": self.cap is not None and calls >= self.cap,
        }

    def reset(self) -> None:
        self.store.sql("DELETE FROM monthly_calls")
        self._over_cap.reset()
