"""What a report run's outcomes mean, as pure functions of plain data (no Dagster, no I/O).

The asset body (factory.materialize_report) stores each day, asks ``day_verdict`` what that day's outcome
means for Airtable and the run, and at the end asks ``run_failure`` whether the run fails and how.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from paperplan_sync.reports.load import DayResult
from paperplan_sync.sources.base import ReportFailed


class DayVerdict(Enum):
    LOADED = "loaded"  # rows stored (or an empty re-pull kept the day's rows): a success record
    EMPTY = "empty"  # nothing for a day without rows yet: an empty record, the day still counts as done
    EMPTY_FAILS = "empty fails"  # the same under Notify On Fail: the day fails, so the failure alert follows
    FAILED = "failed"  # the day could not be stored


def day_verdict(
    outcome: DayResult | Exception, *, nothing: bool, empty_is_ok: bool, notify_on_fail: bool
) -> DayVerdict:
    """``nothing``: the whole report came back empty (CANCELLED or no rows). A day it would wipe keeps its
    rows (storage does that); a day without rows yet is the runbook's scenario 2, unless Empty Is OK."""
    if isinstance(outcome, Exception):
        return DayVerdict.FAILED
    if nothing and not outcome.kept_rows and not empty_is_ok:
        return DayVerdict.EMPTY_FAILS if notify_on_fail else DayVerdict.EMPTY
    return DayVerdict.LOADED


@dataclass(frozen=True)
class RunFailure:
    description: str
    days: list[str]
    retryable: bool  # a FATAL or empty report fails the same way again: only other errors are worth a retry


def run_failure(
    report: str,
    *,
    failed_reports: list[tuple[str, list[str], BaseException]],
    failed_days: list[tuple[str, BaseException]],
    stored: set[str | None],
) -> RunFailure | None:
    """None when every day the run covers was stored. ``failed_reports``: (report label, its days, error), a
    failed report failing each of its days not stored otherwise; ``failed_days``: (day, error) of one day."""
    days = [d for _, report_days, _ in failed_reports for d in report_days if d not in stored]
    days += [day for day, _ in failed_days]
    if not days:
        return None
    summary = "; ".join([f"{label}: {exc}" for label, _, exc in failed_reports] + [f"{d}: {e}" for d, e in failed_days])
    errors = [exc for _, _, exc in failed_reports] + [exc for _, exc in failed_days]
    return RunFailure(
        description=f"Report {report} failed for {len(days)} day(s): {summary}",
        days=days,
        retryable=not all(isinstance(exc, ReportFailed) for exc in errors),
    )
