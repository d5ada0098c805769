"""Which day a report is about: daily partitions in the report type's time zone (its IANA name, so a day on
which the clocks change is one partition of 23 or 25 hours), offsets and re-pulls."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import dagster as dg

from paperplan_sync.config.models import ReportType

PARTITION_FORMAT = "%Y-%m-%d"


def partitions_for(report_type: ReportType) -> dg.DailyPartitionsDefinition | None:
    """Daily partitions keyed by the report's data date; real-time types are unpartitioned snapshots.

    With Offset 0 the scheduled run targets today itself, so today's (still open) day must exist as a
    partition: end_offset=1. Otherwise the last partition is yesterday, the last complete day.
    """
    if report_type.real_time:
        return None
    return dg.DailyPartitionsDefinition(
        start_date=report_type.start_date.strftime(PARTITION_FORMAT),
        timezone=report_type.zone.name,
        end_offset=1 if report_type.offset_days == 0 else 0,
    )


def local_today(report_type: ReportType, now: datetime) -> date:
    return report_type.zone.local_date(now)


def target_day(report_type: ReportType, now: datetime) -> date:
    """The day a run at ``now`` pulls: today (in the type's timezone) minus Offset."""
    return local_today(report_type, now) - timedelta(days=report_type.offset_days)


def scheduled_days(report_type: ReportType, now: datetime) -> list[date]:
    """The target day plus the Repeat-after-N-days window before it, oldest first, never before the start."""
    target = target_day(report_type, now)
    days = [target - timedelta(days=n) for n in range(report_type.repeat_days, -1, -1)]
    return [d for d in days if d >= report_type.start_date]


def repeat_window_closed(report_type: ReportType, day: date, now: datetime) -> bool:
    """True when a load of ``day`` at ``now`` is its last scheduled re-pull ("Update Repeated")."""
    return target_day(report_type, now) - day >= timedelta(days=report_type.repeat_days)


def day_key(day: date) -> str:
    return day.strftime(PARTITION_FORMAT)


def parse_day(key: str) -> date:
    return datetime.strptime(key, PARTITION_FORMAT).date()
