"""A request limiter shared by every process of the product: at most ``burst`` sends in any window of
``burst / requests_per_second`` seconds, and a count of the calendar month's calls.

The last ``burst`` send times and the month's count live in one shared document (``shared_state``), so the
code server, the daemon and every run, maybe on separate machines, keep to one limit together. Once Airtable
said the monthly quota is used up, the limiter paces at ``slowed_rate`` for the rest of the month.

Design notes: docs/design/airtable-quota.md.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime

from paperplan_sync.shared_state import SharedState

SLOWED_RATE = 1.9  # Airtable's 2 requests/s past the monthly quota, with room for clock jitter


class RateLimited(Exception):
    """The next free slot is further away than the caller is willing to wait."""

    def __init__(self, wait_s: float):
        super().__init__(f"rate limited: next request slot in {wait_s:.1f}s")
        self.wait_s = wait_s


@dataclass(frozen=True)
class MonthUsage:
    month: str  # YYYY-MM (UTC)
    calls: int
    quota_exceeded: bool

    def projected(self, now: datetime | None = None) -> int:
        """This month's calls extrapolated to the whole month at the pace so far."""
        now = now or datetime.now(UTC)
        start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
        end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(month=start.month + 1)
        elapsed = max((now - start).total_seconds(), 3600.0)  # the first hour says little
        return round(self.calls * (end - start).total_seconds() / elapsed)


def month_of(moment: float) -> str:
    return datetime.fromtimestamp(moment, UTC).strftime("%Y-%m")


class SharedRateLimiter:
    def __init__(
        self, state: SharedState, key: str, requests_per_second: float, burst: int = 1, slowed_rate: float = SLOWED_RATE
    ):
        if burst < 1:
            raise ValueError("burst must be at least 1")
        self.state, self.key, self.burst = state, key, burst
        self.window = burst / requests_per_second
        self.slowed_gap = 1 / slowed_rate

    def _times(self, doc: dict) -> list[float]:
        times = [float(t) for t in doc.get("times", [])][-self.burst :]
        return [0.0] * (self.burst - len(times)) + times

    def _next_slot(self, doc: dict, now: float) -> float:
        # Never before a send already reserved (first come, first served), and the send `burst` back must
        # have left the window.
        times = self._times(doc)
        slot = max(now, times[-1], times[0] + self.window, float(doc.get("penalty_until", 0.0)))
        if doc.get("quota_exceeded") == month_of(now):
            slot = max(slot, times[-1] + self.slowed_gap)
        return slot

    def acquire(self, max_wait_s: float | None = None) -> float:
        """Reserve the next send slot, count the call and sleep until the slot. Returns the seconds waited."""
        now = time.time()
        reserved: list[float] = []

        def take(doc: dict) -> dict | None:
            slot = self._next_slot(doc, now)
            if max_wait_s is not None and slot - now > max_wait_s:
                reserved.append(-(slot - now))  # leave the slot for someone prepared to wait
                return None
            reserved.append(slot)
            month = month_of(slot)
            calls = int(doc.get("calls", 0)) + 1 if doc.get("month") == month else 1
            return {**doc, "times": [*self._times(doc)[1:], slot], "month": month, "calls": calls}

        self.state.update(self.key, take)
        if reserved[-1] < 0:
            raise RateLimited(-reserved[-1])
        wait = reserved[-1] - now
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)

    def penalize(self, seconds: float) -> None:
        """After a 429 nobody sends before the penalty is over."""
        until = time.time() + seconds
        self.state.update(
            self.key, lambda doc: {**doc, "penalty_until": max(until, float(doc.get("penalty_until", 0.0)))}
        )

    def mark_quota_exceeded(self) -> bool:
        """Airtable said the month's quota is used up: pace at its slowed rate until the month ends.
        Returns True for the first mark of the month."""
        return self.first_this_month("quota_exceeded")

    def first_this_month(self, flag: str) -> bool:
        """Set ``flag`` to this month; True only for the one caller that set it (so exactly one tells people)."""
        month = month_of(time.time())
        first: list[bool] = []

        def mark(doc: dict) -> dict | None:
            first.append(doc.get(flag) != month)
            return {**doc, flag: month} if first[-1] else None

        self.state.update(self.key, mark)
        return first[-1]

    def usage(self) -> MonthUsage:
        doc = self.state.read(self.key)
        month = month_of(time.time())
        calls = int(doc.get("calls", 0)) if doc.get("month") == month else 0
        return MonthUsage(month, calls, doc.get("quota_exceeded") == month)
