"""When an automation is due: Daily / Weekly at a local clock time, or every Interval from local midnight.

Times are read in the automation's Timezone on each local day, so a Daily 06:00 America/Los_Angeles fires at
06:00 local in winter and in summer (14:00 / 13:00 UTC). A clock time a daylight-saving change skips or shows
twice fires once (``Zone.at``: 02:30 on the spring-forward day fires at 03:30 daylight time, 01:30 on the
fall-back day at its first occurrence). An Interval counts elapsed time from each local midnight to the next.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from paperplan_sync.config.models import WEEKDAYS, Automation


def fire_times(automation: Automation, after: datetime, until: datetime) -> list[datetime]:
    """The moments in (after, until] at which the automation is due, oldest first (in its zone)."""
    if automation.disabled or until <= after:
        return []
    zone = automation.zone
    day, last_day = zone.local_date(after) - timedelta(days=1), zone.local_date(until)
    moments: list[datetime] = []
    while day <= last_day:
        moments += _moments_on(automation, day)
        day += timedelta(days=1)
    # Compared as instants: two wall times of one ZoneInfo compare by their clock readings, not as instants.
    start, end = after.timestamp(), until.timestamp()
    return [m for m in moments if start < m.timestamp() <= end]


def _moments_on(automation: Automation, day: date) -> list[datetime]:
    zone = automation.zone
    if automation.run == "Interval":
        step = automation.every
        assert step is not None  # Interval has its period (models.py)
        start, end = zone.day_start(day).astimezone(UTC), zone.day_start(day + timedelta(days=1)).astimezone(UTC)
        moments, moment = [], start
        while moment < end:
            moments.append(moment.astimezone(zone.tzinfo))
            moment += step  # elapsed time: UTC arithmetic
        return moments
    if automation.run == "Daily" or day.weekday() == automation.weekday:
        return [zone.at(day, automation.at or time(0))]
    return []


def latest_fire_time(automation: Automation, after: datetime, until: datetime) -> datetime | None:
    """Only the newest due moment: after downtime, one catch-up run instead of a replay of every tick."""
    moments = fire_times(automation, after, until)
    return moments[-1] if moments else None


def describe(automation: Automation) -> str:
    tz = automation.zone.label
    if automation.run == "Interval":
        assert automation.every is not None
        hours, rest = divmod(int(automation.every.total_seconds()), 3600)
        return f"every {hours:02d}:{rest // 60:02d} ({tz})"
    when = f"{automation.at:%H:%M} {tz}"
    if automation.run == "Weekly":
        assert automation.weekday is not None
        return f"weekly on {WEEKDAYS[automation.weekday]} at {when}"
    return f"daily at {when}"
