"""When an automation is due: Daily / Weekly at a local time, or every Interval from local midnight."""

from __future__ import annotations

from datetime import datetime, timedelta

from paperplan_sync.config.models import Automation
from paperplan_sync.timezones import utc_offset_tz


def fire_times(automation: Automation, after: datetime, until: datetime) -> list[datetime]:
    """The moments in (after, until] at which the automation is due, oldest first (tz-aware)."""
    if automation.disabled or until <= after:
        return []
    tz = utc_offset_tz(automation.timezone_offset)
    first_day = after.astimezone(tz).date() - timedelta(days=1)
    last_day = until.astimezone(tz).date()
    moments: list[datetime] = []
    day = first_day
    while day <= last_day:
        midnight = datetime(day.year, day.month, day.day, tzinfo=tz)
        if automation.run == "Interval":
            step = automation.every
            assert step is not None  # Interval has its period (models.py)
            moment = midnight
            while moment < midnight + timedelta(days=1):
                moments.append(moment)
                moment += step
        elif automation.run == "Daily" or day.weekday() == automation.weekday:
            assert automation.at is not None  # Daily and Weekly have their time of day (models.py)
            moments.append(midnight.replace(hour=automation.at.hour, minute=automation.at.minute))
        day += timedelta(days=1)
    return [m for m in moments if after < m <= until]


def latest_fire_time(automation: Automation, after: datetime, until: datetime) -> datetime | None:
    """Only the newest due moment: after downtime, one catch-up run instead of a replay of every tick."""
    moments = fire_times(automation, after, until)
    return moments[-1] if moments else None


def describe(automation: Automation) -> str:
    tz = f"GMT{automation.timezone_offset:+g}"
    if automation.run == "Interval":
        assert automation.every is not None
        hours, rest = divmod(int(automation.every.total_seconds()), 3600)
        return f"every {hours:02d}:{rest // 60:02d} ({tz})"
    when = f"{automation.at:%H:%M} {tz}"
    if automation.run == "Weekly":
        from paperplan_sync.config.models import WEEKDAYS

        assert automation.weekday is not None
        return f"weekly on {WEEKDAYS[automation.weekday]} at {when}"
    return f"daily at {when}"
