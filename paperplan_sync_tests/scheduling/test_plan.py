"""Scheduling decisions with a pinned clock: what runs when, which days, and never twice per tick."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from paperplan_sync.config.models import Automation, ReportType, SyncConfig
from paperplan_sync.config.timing import fire_times
from paperplan_sync.scheduling.plan import automation_summary, changed_schedules, config_changes, plan_tick

SALES = ReportType(
    record_id="rec1",
    name="sales_report",
    active=True,
    report_type_id="ORDERS",
    offset_days=1,
    repeat_days=21,
    start_date=date(2026, 1, 1),
)
INVENTORY = ReportType(record_id="rec2", name="fba_inventory", active=True, report_type_id="INV", real_time=True)
RETIRED = ReportType(record_id="rec3", name="returns_report", active=False, report_type_id="RET")


def daily(**kw) -> Automation:
    return Automation(
        **{
            "record_id": "auto1",
            "name": "Daily reports",
            "run": "Daily",
            "at": time(6, 0),
            "report_types": ("sales_report", "fba_inventory"),
            **kw,
        }
    )


def config(*automations) -> SyncConfig:
    return SyncConfig(report_types=(SALES, INVENTORY, RETIRED), automations=automations, origin="airtable")


def utc(*args) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_daily_fires_once_at_its_local_time():
    # 06:00 at GMT-7 is 13:00 UTC.
    assert fire_times(daily(), utc(2026, 11, 26, 12, 59), utc(2026, 11, 26, 13, 0)) == [utc(2026, 11, 26, 13, 0)]
    assert fire_times(daily(), utc(2026, 11, 26, 13, 0), utc(2026, 11, 26, 13, 1)) == []


def test_weekly_fires_only_on_its_weekday_and_interval_from_local_midnight():
    weekly = daily(run="Weekly", weekday=0)  # Monday
    week = fire_times(weekly, utc(2026, 11, 23), utc(2026, 11, 30, 23))
    assert [m.astimezone(UTC).date() for m in week] == [date(2026, 11, 23), date(2026, 11, 30)]
    every_two_hours = daily(run="Interval", at=None, every=timedelta(hours=2))
    assert len(fire_times(every_two_hours, utc(2026, 11, 26, 7), utc(2026, 11, 27, 7))) == 12


def test_disabled_automations_launch_nothing():
    plan = plan_tick(
        config(daily(disabled=True)),
        after=utc(2026, 11, 26, 12),
        now=utc(2026, 11, 26, 14),
        loaded={"sales_report", "fba_inventory"},
    )
    assert plan.launches == []


def test_a_run_targets_today_minus_offset_and_repulls_the_repeat_window_in_one_run():
    plan = plan_tick(
        config(daily()),
        after=utc(2026, 11, 26, 12),
        now=utc(2026, 11, 26, 13, 0, 30),
        loaded={"sales_report", "fba_inventory"},
    )

    sales = [launch for launch in plan.launches if launch.report == "sales_report"]
    assert len(sales) == 1
    # Local date at 13:00 UTC is 2026-11-26 (GMT-7); Offset 1 -> 11-25; 21 days of re-pulls before it.
    assert sales[0].days[-1] == "2026-11-25" and sales[0].days[0] == "2026-11-04" and len(sales[0].days) == 22
    [snapshot] = [launch for launch in plan.launches if launch.report == "fba_inventory"]
    assert snapshot.days == ()


def test_failed_reports_unchecked_in_airtable_rerun_at_the_next_scheduled_time():
    plan = plan_tick(
        config(daily()),
        after=utc(2026, 11, 26, 12),
        now=utc(2026, 11, 26, 13, 1),
        loaded={"sales_report", "fba_inventory"},
        retry_days={"sales_report": [date(2026, 10, 1), date(2026, 11, 20)]},
    )

    sales = [launch for launch in plan.launches if launch.report == "sales_report"]
    # 11-20 is inside the re-pull window already; 10-01 gets its own run.
    assert [launch.days for launch in sales if "re-run" in launch.reason] == [("2026-10-01",)]


def test_no_partition_is_launched_twice_for_the_same_tick():
    twin = daily(record_id="auto2", name="Also daily")
    plan = plan_tick(
        config(daily(), twin),
        after=utc(2026, 11, 26, 12),
        now=utc(2026, 11, 26, 13, 1),
        loaded={"sales_report", "fba_inventory"},
    )

    assert len(plan.launches) == 2
    assert len({launch.run_key for launch in plan.launches}) == 2


def test_inactive_or_not_yet_loaded_types_are_logged_not_run():
    auto = daily(report_types=("returns_report", "sales_report"))
    plan = plan_tick(config(auto), after=utc(2026, 11, 26, 12), now=utc(2026, 11, 26, 13, 1), loaded={"fba_inventory"})

    assert plan.launches == []
    assert {line[2] for line in plan.log_lines} == {
        "'Daily reports': returns_report is Inactive, not run",
        "'Daily reports': sales_report is not loaded yet (code location reload pending)",
    }


def test_after_downtime_a_snapshot_type_runs_once_for_all_its_missed_fires():
    every_hour = daily(run="Interval", at=None, every=timedelta(hours=1), report_types=("fba_inventory",))
    plan = plan_tick(
        config(every_hour), after=utc(2026, 11, 26, 0), now=utc(2026, 11, 26, 10, 30), loaded={"fba_inventory"}
    )
    assert len(plan.launches) == 1 and plan.missed == []


def test_after_three_days_down_every_missed_day_runs_in_one_run():
    no_repeat = SALES.model_copy(update={"repeat_days": 0})
    conf = SyncConfig(report_types=(no_repeat,), automations=(daily(report_types=("sales_report",)),))
    # Down from 11-23 10:00 UTC to 11-26 14:00 UTC: the 06:00 GMT-7 fires of 11-23, 11-24, 11-25 and 11-26 were missed.
    plan = plan_tick(conf, after=utc(2026, 11, 23, 10), now=utc(2026, 11, 26, 14), loaded={"sales_report"})
    [launch] = plan.launches
    assert launch.days == ("2026-11-22", "2026-11-23", "2026-11-24", "2026-11-25")
    assert "4 missed fires caught up" in launch.reason and plan.missed == []


def test_missed_fires_older_than_the_catch_up_bound_become_missed_days():
    no_repeat = SALES.model_copy(update={"repeat_days": 0})
    conf = SyncConfig(report_types=(no_repeat,), automations=(daily(report_types=("sales_report",)),))
    plan = plan_tick(conf, after=utc(2026, 11, 10, 14), now=utc(2026, 11, 26, 14), loaded={"sales_report"})
    [launch] = plan.launches
    assert launch.days[0] == "2026-11-19" and launch.days[-1] == "2026-11-25"  # the last 7 days' fires
    assert [m.day for m in plan.missed] == [f"2026-11-{d:02d}" for d in range(10, 19)]
    assert plan.missed[0].fired_at == utc(2026, 11, 11, 13)


def test_config_changes_read_like_sentences():
    before = {"auto1": automation_summary(daily())}
    after = {
        "auto1": automation_summary(daily(at=time(7, 15), disabled=True)),
        "auto9": automation_summary(daily(record_id="auto9", name="Night", at=time(1, 0))),
    }

    assert config_changes(before, after) == [
        "Automation 'Daily reports' changed: When daily at 06:00 GMT-7 -> daily at 07:15 GMT-7; Disable off -> on",
        "Automation 'Night' added: daily at 01:00 GMT-7, runs sales_report, fba_inventory",
    ]
    assert config_changes(after, {}) == ["Automation 'Daily reports' removed", "Automation 'Night' removed"]


def test_an_edit_seen_only_after_its_new_time_launches_that_fire_once_late():
    # 06:00 GMT-7 is 13:00 UTC. Edited at 12:59:40 to run at 06:00; the product saw it at 13:00:30 (poll).
    edited = {"auto1": utc(2026, 11, 26, 12, 59, 40)}
    before = dict(after=utc(2026, 11, 26, 13, 0, 10), now=utc(2026, 11, 26, 13, 0, 30), loaded={"sales_report"})

    plan = plan_tick(config(daily()), edited_at=edited, **before)

    assert [(launch.report, launch.fired_at) for launch in plan.launches] == [("sales_report", utc(2026, 11, 26, 13))]
    late = [line for line in plan.log_lines if line[1] == "late fire"]
    assert len(late) == 1 and "launched late" in late[0][2] and "12:59:40" in late[0][2]
    # The same fire through the regular window had the same run key: Dagster launches it once.
    regular = plan_tick(
        config(daily()), after=utc(2026, 11, 26, 12, 59, 50), now=utc(2026, 11, 26, 13, 0, 5), loaded={"sales_report"}
    )
    assert regular.launches[0].run_key == plan.launches[0].run_key


def test_an_edit_to_a_time_already_past_launches_nothing():
    # At 13:05 UTC somebody sets 06:00 (13:00 UTC): that moment was before the edit, not made due by it.
    plan = plan_tick(
        config(daily()),
        after=utc(2026, 11, 26, 13, 5, 20),
        now=utc(2026, 11, 26, 13, 5, 40),
        loaded={"sales_report"},
        edited_at={"auto1": utc(2026, 11, 26, 13, 5)},
    )
    assert plan.launches == [] and not plan.log_lines


def test_a_late_fire_is_never_one_still_to_come_nor_older_than_the_catch_up_bound():
    # The clock was set back from 14:00 to 12:00 UTC: 13:00 is still to come, not late.
    clock_set_back = plan_tick(
        config(daily()),
        after=utc(2026, 11, 26, 14),
        now=utc(2026, 11, 26, 12),
        loaded={"sales_report"},
        edited_at={"auto1": utc(2026, 11, 26, 11)},
    )
    assert clock_set_back.launches == []
    # An edit the product learned of 25 days late: its fires of the last 7 days (the catch-up bound), one run.
    old = plan_tick(
        config(daily()),
        after=utc(2026, 11, 26, 14),
        now=utc(2026, 11, 26, 14, 0, 20),
        loaded={"sales_report"},
        edited_at={"auto1": utc(2026, 11, 1)},
    )
    late = [line[2] for line in old.log_lines if line[1] == "late fire"]
    assert len(old.launches) == 1 and len(old.launches[0].days) == 7 + 21 and len(late) == 1
    assert "(and 6 earlier)" in late[0]


def test_changed_schedules_are_added_or_retimed_automations_not_renamed_ones():
    before = {"a": automation_summary(daily()), "b": automation_summary(daily(record_id="b"))}
    after = {
        "a": automation_summary(daily(name="Renamed")),
        "b": automation_summary(daily(record_id="b", at=time(7, 0))),
        "c": automation_summary(daily(record_id="c")),
    }
    assert changed_schedules(before, after) == {"b", "c"}
