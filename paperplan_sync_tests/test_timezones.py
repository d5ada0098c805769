"""A Timezone is an IANA name or hours from GMT; local days, partitions and fire times follow daylight saving."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from paperplan_sync.alerting.freshness import expected
from paperplan_sync.config.models import Automation, ReportType, SyncConfig
from paperplan_sync.config.timing import describe, fire_times
from paperplan_sync.reports.factory import report_job_name
from paperplan_sync.reports.partitions import partitions_for, target_day
from paperplan_sync.scheduling.plan import plan_tick
from paperplan_sync.sources.amazon_sp import settings as sp_settings
from paperplan_sync.sources.amazon_sp.client import day_window, marketplace_zone
from paperplan_sync.sources.base import ReportRequest
from paperplan_sync.timezones import DEFAULT_ZONE, Zone, ZoneError

LA = "America/Los_Angeles"
SPRING_FORWARD, FALL_BACK = date(2026, 3, 8), date(2026, 11, 1)  # in the United States, 2026


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def report(zone: object = LA, **kw) -> ReportType:
    values = {"record_id": "rec1", "name": "sales_report", "active": True, "report_type_id": "X", "offset_days": 1}
    return ReportType(**{**values, "start_date": date(2026, 1, 1), "zone": zone, **kw})


def automation(zone: object = LA, **kw) -> Automation:
    values = {"record_id": "auto1", "name": "Daily reports", "run": "Daily", "at": time(6, 0)}
    return Automation(**{**values, "zone": zone, "report_types": ("sales_report",), **kw})


@pytest.mark.parametrize(
    ("value", "name", "hours"),
    [
        ("America/Los_Angeles", LA, None),
        ("europe/berlin", "Europe/Berlin", None),  # Airtable text typed in lower case
        (-7, "Etc/GMT+7", -7),  # a number-typed field of an existing base
        ("-7", "Etc/GMT+7", -7),  # the same typed into the text field
        ("+2", "Etc/GMT-2", 2),
        (0, "UTC", 0),
        (None, "Etc/GMT+7", -7),  # empty: the default
    ],
)
def test_a_timezone_is_a_name_or_whole_hours(value, name, hours):
    zone = Zone.parse(value)
    assert (zone.name, zone.hours) == (name, hours)


@pytest.mark.parametrize(("value", "says"), [("Mars/Olympus", "unknown time zone 'Mars/Olympus'"), ("+15", "(got 15)")])
def test_a_bad_timezone_says_what_would_be_valid(value, says):
    with pytest.raises(ZoneError) as caught:
        Zone.parse(value)
    assert says in str(caught.value) and "America/Los_Angeles" in str(caught.value) and "-7" in str(caught.value)


def test_hours_stay_a_fixed_offset_all_year_and_keep_their_job_name():
    assert Zone.parse(-7).local_date(utc(2026, 7, 1, 6, 59)) == date(2026, 6, 30)  # 23:59 at UTC-7, in summer too
    assert Zone.parse(-7).local_date(utc(2026, 1, 15, 6, 59)) == date(2026, 1, 14)
    assert report_job_name(report(-7)) == "amazon_sp__daily_from_20260101_utcminus7"  # unchanged since numbers
    assert report_job_name(report(LA)) == "amazon_sp__daily_from_20260101_america_los_angeles"
    assert DEFAULT_ZONE.origin == "default" and report().model_copy(update={"zone": DEFAULT_ZONE}).zone.hours == -7


def test_a_day_on_which_the_clocks_change_is_one_partition_of_23_or_25_hours():
    partitions = partitions_for(report())
    keys = partitions.get_partition_keys(current_time=utc(2026, 11, 10))
    assert keys.count("2026-03-08") == 1 and keys.count("2026-11-01") == 1
    hours = {}
    for key in ("2026-03-08", "2026-07-01", "2026-11-01"):
        window = partitions.time_window_for_partition_key(key)
        hours[key] = (window.end.timestamp() - window.start.timestamp()) / 3600
    assert hours == {"2026-03-08": 23, "2026-07-01": 24, "2026-11-01": 25}
    # The day after spring-forward starts at 07:00 UTC (midnight PDT), not 08:00.
    assert partitions.get_partition_keys(current_time=utc(2026, 3, 9, 6, 59))[-1] == "2026-03-07"
    assert partitions.get_partition_keys(current_time=utc(2026, 3, 9, 7, 0))[-1] == "2026-03-08"
    assert target_day(report(), utc(2026, 3, 9, 7, 0)) == date(2026, 3, 8)


def test_the_sp_api_window_of_a_dst_day_spans_23_or_25_hours():
    spring = day_window(ReportRequest("X", SPRING_FORWARD, tz=ZoneInfo(LA)))
    fall = day_window(ReportRequest("X", FALL_BACK, tz=ZoneInfo(LA)))
    assert spring == ("2026-03-08T00:00:00-08:00", "2026-03-08T23:59:59-07:00")
    assert fall == ("2026-11-01T00:00:00-07:00", "2026-11-01T23:59:59-08:00")
    berlin = day_window(ReportRequest("X", date(2026, 3, 29), end_day=date(2026, 3, 30), tz=ZoneInfo("Europe/Berlin")))
    assert berlin == ("2026-03-29T00:00:00+01:00", "2026-03-30T23:59:59+02:00")


def test_a_daily_automation_fires_at_its_local_time_in_winter_and_summer():
    winter = fire_times(automation(), utc(2026, 1, 15), utc(2026, 1, 16))
    summer = fire_times(automation(), utc(2026, 7, 15), utc(2026, 7, 16))
    assert [m.astimezone(UTC) for m in winter + summer] == [utc(2026, 1, 15, 14), utc(2026, 7, 15, 13)]
    assert [m.isoformat() for m in winter + summer] == ["2026-01-15T06:00:00-08:00", "2026-07-15T06:00:00-07:00"]
    # Hours from GMT do not move: 06:00 at -7 is 13:00 UTC all year.
    fixed = fire_times(automation(-7), utc(2026, 1, 15), utc(2026, 1, 16))
    assert [m.astimezone(UTC) for m in fixed] == [utc(2026, 1, 15, 13)]
    assert describe(automation()) == "daily at 06:00 America/Los_Angeles"
    assert describe(automation(-7)) == "daily at 06:00 GMT-7"  # as before: no change logged after the upgrade


def test_a_skipped_or_repeated_clock_time_fires_once():
    # 02:30 does not exist on the spring-forward day: it fires at 03:30 PDT (10:30 UTC), an hour after 01:30.
    spring = fire_times(automation(at=time(2, 30)), utc(2026, 3, 7, 12), utc(2026, 3, 9, 12))
    assert [m.astimezone(UTC) for m in spring] == [utc(2026, 3, 8, 10, 30), utc(2026, 3, 9, 9, 30)]
    # 01:30 happens twice on the fall-back day: it fires at the first, 01:30 PDT (08:30 UTC).
    fall = fire_times(automation(at=time(1, 30)), utc(2026, 10, 31, 12), utc(2026, 11, 2, 12))
    assert [m.astimezone(UTC) for m in fall] == [utc(2026, 11, 1, 8, 30), utc(2026, 11, 2, 9, 30)]


def test_an_hourly_interval_fires_23_and_25_times_on_the_dst_days():
    hourly = automation(run="Interval", at=None, every=timedelta(hours=1))
    for day, count in ((SPRING_FORWARD, 23), (FALL_BACK, 25), (date(2026, 7, 1), 24)):
        zone = hourly.zone
        moments = fire_times(hourly, zone.day_start(day) - timedelta(seconds=1), zone.day_start(day + timedelta(1)))
        moments = moments[:-1]  # the next day's midnight
        assert len(moments) == count == len({m.timestamp() for m in moments})
        assert all(b.timestamp() - a.timestamp() == 3600 for a, b in zip(moments, moments[1:], strict=False))


def test_freshness_expects_the_local_day_of_the_newest_fire():
    # 2026-03-09 14:00 UTC: the fire of 13:00 UTC (06:00 PDT) pulls 03-08, the 23-hour day.
    expectation = expected(report(), [automation()], utc(2026, 3, 9, 15), grace=timedelta(hours=1))
    assert expectation.fired_at.astimezone(UTC) == utc(2026, 3, 9, 13)
    assert expectation.partition == "2026-03-08"


def test_catch_up_across_the_spring_change_runs_each_local_day_once():
    sales = report(repeat_days=0)
    config = SyncConfig(report_types=(sales,), automations=(automation(),), origin="airtable")
    plan = plan_tick(config, after=utc(2026, 3, 6, 12), now=utc(2026, 3, 10, 20), loaded={"sales_report"})
    assert [(launch.days[0], launch.days[-1], len(launch.days)) for launch in plan.launches] == [
        ("2026-03-05", "2026-03-09", 5)
    ]
    assert plan.launches[0].fired_at.astimezone(UTC) == utc(2026, 3, 10, 13)  # 06:00 PDT


def test_every_marketplace_has_its_documented_zone():
    assert len(sp_settings.MARKETPLACE_TIMEZONES) == 23
    for marketplace_id, name in sp_settings.MARKETPLACE_TIMEZONES.items():
        assert Zone.named(name).name == name == marketplace_zone(marketplace_id).name
    assert marketplace_zone("ATVPDKIKX0DER").name == LA and marketplace_zone("A1PA6795UKMFR9").name == "Europe/Berlin"
    assert marketplace_zone("ATVPDKIKX0DER").origin == "default" and marketplace_zone("nope") is None
