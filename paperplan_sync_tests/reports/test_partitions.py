"""Partitions are the report's data date in its timezone; Offset picks the day a run targets."""

from __future__ import annotations

from datetime import UTC, date, datetime

from paperplan_sync.config.models import ReportType
from paperplan_sync.reports.partitions import partitions_for, repeat_window_closed, scheduled_days, target_day
from paperplan_sync.timezones import Zone


def report(**kw) -> ReportType:
    return ReportType(
        **{
            "record_id": "rec1",
            "name": "sales_report",
            "active": True,
            "report_type_id": "X",
            "offset_days": 1,
            "start_date": date(2026, 11, 1),
            **kw,
        }
    )


def test_timezone_names_follow_the_tz_database_sign_convention():
    assert (Zone.from_hours(-7).name, Zone.from_hours(0).name, Zone.from_hours(5).name) == (
        "Etc/GMT+7",
        "UTC",
        "Etc/GMT-5",
    )


def test_last_partition_is_the_last_complete_local_day():
    # 2026-11-26 05:45 UTC is 11-25 22:45 at GMT-7: the last complete day there is 11-24.
    now = datetime(2026, 11, 26, 5, 45, tzinfo=UTC)
    assert partitions_for(report()).get_partition_keys(current_time=now)[-1] == "2026-11-24"
    assert target_day(report(), now) == date(2026, 11, 24)
    # Offset 0 targets the current local day, which must exist as a partition.
    assert partitions_for(report(offset_days=0)).get_partition_keys(current_time=now)[-1] == "2026-11-25"
    assert target_day(report(offset_days=0), now) == date(2026, 11, 25)


def test_real_time_types_are_unpartitioned():
    assert partitions_for(report(real_time=True)) is None


def test_repeat_window_and_its_last_repull():
    now = datetime(2026, 11, 26, 20, tzinfo=UTC)  # local 11-26, target 11-25
    days = scheduled_days(report(repeat_days=21), now)
    assert days[-1] == date(2026, 11, 25) and days[0] == date(2026, 11, 4)
    assert not repeat_window_closed(report(repeat_days=21), date(2026, 11, 5), now)
    assert repeat_window_closed(report(repeat_days=21), date(2026, 11, 4), now)
    # Never before the type's start date.
    assert scheduled_days(report(repeat_days=40, start_date=date(2026, 11, 20)), now)[0] == date(2026, 11, 20)
