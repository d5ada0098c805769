"""What a report run's outcomes mean, on plain data: a day's verdict, and whether (and how) the run fails."""

from __future__ import annotations

import pytest

from paperplan_sync.reports.load import DayResult
from paperplan_sync.reports.outcomes import DayVerdict, day_verdict, run_failure
from paperplan_sync.sources.base import ReportFailed


def day(rows: int = 10, kept_rows: int = 0) -> DayResult:
    return DayResult("sales", "2026-11-20", "load1", "rep1", False, rows, 0, ["sku"], kept_rows=kept_rows)


@pytest.mark.parametrize(
    "outcome,nothing,empty_is_ok,notify,expected",
    [
        (day(), False, False, True, DayVerdict.LOADED),
        (RuntimeError("disk full"), False, False, True, DayVerdict.FAILED),
        (day(rows=0), True, False, True, DayVerdict.EMPTY_FAILS),  # Notify On Fail: the failure alert follows
        (day(rows=0), True, False, False, DayVerdict.EMPTY),
        (day(rows=0), True, True, True, DayVerdict.LOADED),  # Empty Is OK
        (day(rows=0, kept_rows=5), True, False, True, DayVerdict.LOADED),  # an empty re-pull kept the day's rows
        (day(rows=0), False, False, True, DayVerdict.LOADED),  # one empty day of a range that had rows
    ],
)
def test_a_days_verdict(outcome, nothing, empty_is_ok, notify, expected):
    assert day_verdict(outcome, nothing=nothing, empty_is_ok=empty_is_ok, notify_on_fail=notify) is expected


def test_a_run_whose_every_day_was_stored_does_not_fail():
    assert run_failure("sales", failed_reports=[], failed_days=[], stored={"2026-11-20"}) is None
    # A failed report whose days another report stored fails nothing.
    stored = {"2026-11-19", "2026-11-20"}
    failed = [("2026-11-19..2026-11-20", ["2026-11-19", "2026-11-20"], RuntimeError("x"))]
    assert run_failure("sales", failed_reports=failed, failed_days=[], stored=stored) is None


def test_a_failed_report_fails_its_days_not_stored_and_a_fatal_one_is_not_retried():
    failure = run_failure(
        "sales",
        failed_reports=[("2026-11-18..2026-11-19", ["2026-11-18", "2026-11-19"], ReportFailed("FATAL"))],
        failed_days=[("2026-11-21", ReportFailed("empty"))],
        stored={"2026-11-19"},
    )
    assert failure.days == ["2026-11-18", "2026-11-21"]
    assert failure.description == "Report sales failed for 2 day(s): 2026-11-18..2026-11-19: FATAL; 2026-11-21: empty"
    assert not failure.retryable


def test_a_run_with_any_other_error_is_retryable():
    failure = run_failure(
        "sales",
        failed_reports=[("2026-11-18", ["2026-11-18"], ReportFailed("FATAL"))],
        failed_days=[("2026-11-19", TimeoutError("slow"))],
        stored=set(),
    )
    assert failure.retryable and failure.days == ["2026-11-18", "2026-11-19"]
