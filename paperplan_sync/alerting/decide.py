"""What the alert sensors say, as pure functions of plain data (no Dagster instance, no I/O).

The sensors in alerts.py gather the facts (run tags, materializations, the freshness cursor, a flush's
result), call one function here, then write Logs / Reports / Slack from its answer; so each decision
reads and tests plainly, the way scheduling/plan.py does for the scheduler.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from enum import Enum

from paperplan_sync.alerting.freshness import Expectation

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class FailureAlert:
    """What a failed run means for one report type: the days it left undone, and who hears of it."""

    report: str
    days: tuple[str, ...]
    retried: bool  # Dagster re-executes the run: a warning in Logs only, the retry's outcome decides
    notify: bool  # Slack too (Notify On Fail), for a final failure

    @property
    def label(self) -> str:
        return self.days[0] if len(self.days) == 1 else f"{self.days[0]} … {self.days[-1]} ({len(self.days)} days)"


def failure_alert(
    report: str, *, targeted: list[str], done: set[str | None], today: str, retried: bool, notify: bool
) -> FailureAlert:
    """The days of ``targeted`` the run did not materialize; all of them when it failed after storing every one
    (killed after its last write: the days are whole, but the run still failed); ``today`` for a run that named
    no day."""
    days = [d for d in targeted if d not in done] or targeted or [today]
    return FailureAlert(report, tuple(days), retried, notify)


@dataclass(frozen=True)
class FreshnessCursor:
    """The freshness sensor's memory: since when it watches, and the reports it said were late (and since when)."""

    since: datetime
    late: dict[str, str]

    @classmethod
    def read(cls, cursor: str | None, now: datetime) -> FreshnessCursor:
        state = json.loads(cursor) if cursor else {}
        return cls(datetime.fromisoformat(state.get("since") or now.isoformat()), dict(state.get("late") or {}))

    def dump(self) -> str:
        return json.dumps({"since": self.since.isoformat(), "late": self.late})


class Lateness(Enum):
    LATE = "late"  # newly late: one message
    ON_TIME = "on time"  # was late, has loaded since: one message
    FORGET = "forget"  # no longer watched (Notify On Fail off): drop any memory of it, silently


def lateness(
    *,
    notify_on_fail: bool,
    expectation: Expectation | None,
    watching_since: datetime,
    was_late: bool,
    loaded: bool,
    alerted: bool,
) -> Lateness | None:
    """One report type at one freshness tick; None: nothing to say.

    ``loaded``: a load after the expected fire; ``alerted``: that fire's run failed for good, so the failure
    alert already spoke. Fires from before the product was watching are the missed-days catch-up's business.
    """
    if not notify_on_fail:
        return Lateness.FORGET
    watched = expectation is not None and expectation.fired_at >= watching_since
    is_late = watched and not loaded and not alerted
    if is_late and not was_late:
        return Lateness.LATE
    if not is_late and was_late and (expectation is None or loaded):
        return Lateness.ON_TIME
    return None


def run_log_line(what: str, *, tags: dict[str, str], assets: list[str], job_name: str) -> tuple[str, str]:
    """A run's start or end as a Logs summary, and the report type it names ('' for a run of several)."""
    reports = tags.get("paperplan/report") or ", ".join(assets) or job_name
    span = tags.get("dagster/partition") or (f"{tags[RANGE_START]} … {tags[RANGE_END]}" if RANGE_START in tags else "")
    return f"Run {what}: {reports} {span}".strip(), reports if "," not in reports else ""


def heartbeat_summary(sent: int, stopped_by: str | None) -> str:
    return (
        f"heartbeat sent ({sent} write(s))"
        if not stopped_by
        else f"Airtable unavailable, heartbeat queued: {stopped_by}"
    )


def outbox_summary(sent: int, failed: int, announced: int, stopped_by: str | None) -> str:
    return f"sent {sent}, refused {failed}, set aside {announced}" + (f"; stopped: {stopped_by}" if stopped_by else "")
