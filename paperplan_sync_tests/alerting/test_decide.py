"""The alert sensors' decisions on plain data: which days a failed run leaves undone, when a report is late or
on time again, what a run's Logs line says, and the heartbeat and outbox summaries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from paperplan_sync.alerting import decide
from paperplan_sync.alerting.decide import Lateness
from paperplan_sync.alerting.freshness import Expectation

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_a_failed_run_alerts_the_days_it_did_not_materialize():
    alert = decide.failure_alert(
        "sales",
        targeted=["2026-11-18", "2026-11-19", "2026-11-20"],
        done={"2026-11-19"},
        today="x",
        retried=False,
        notify=True,
    )
    assert alert.days == ("2026-11-18", "2026-11-20")
    assert alert.label == "2026-11-18 … 2026-11-20 (2 days)"


def test_a_failed_run_that_named_no_day_alerts_today():
    alert = decide.failure_alert("inventory", targeted=[], done=set(), today="2026-11-26", retried=True, notify=False)
    assert (alert.days, alert.label, alert.retried, alert.notify) == (("2026-11-26",), "2026-11-26", True, False)


def test_a_failed_run_whose_every_day_loaded_names_its_own_days_not_today():
    # Killed after its last write (the fault matrix's run worker SIGKILL on a fast machine): the Logs line and
    # any Fail must name the day the run was about, not today's date.
    alert = decide.failure_alert(
        "sales", targeted=["2026-11-20"], done={"2026-11-20"}, today="2026-11-26", retried=False, notify=True
    )
    assert alert.days == ("2026-11-20",)


def late(**kw):
    facts = {
        "notify_on_fail": True,
        "expectation": Expectation(NOW - timedelta(hours=3), "2026-11-25"),
        "watching_since": NOW - timedelta(days=1),
        "was_late": False,
        "loaded": False,
        "alerted": False,
    }
    return decide.lateness(**(facts | kw))


def test_a_report_missing_after_its_fire_is_late_once():
    assert late() is Lateness.LATE
    assert late(was_late=True) is None  # said already


@pytest.mark.parametrize(
    "facts",
    [
        {"loaded": True},
        {"alerted": True},  # the failure alert spoke
        {"expectation": None},  # no fire past its grace
        {"watching_since": NOW},  # a fire from before the product watched: the catch-up's business
    ],
)
def test_a_report_is_not_late_when(facts):
    assert late(**facts) is None


def test_a_late_report_is_on_time_again_once_it_loads_or_nothing_is_expected():
    assert late(was_late=True, loaded=True) is Lateness.ON_TIME
    assert late(was_late=True, expectation=None) is Lateness.ON_TIME
    # A failed-for-good run stops the lateness but is no load: the report is not announced as on time.
    assert late(was_late=True, alerted=True) is None


def test_a_report_without_notify_on_fail_is_forgotten():
    assert late(notify_on_fail=False, was_late=True) is Lateness.FORGET


def test_the_freshness_cursor_round_trips_and_starts_watching_now():
    fresh = decide.FreshnessCursor.read(None, NOW)
    assert (fresh.since, fresh.late) == (NOW, {})
    fresh.late["sales"] = NOW.isoformat()
    again = decide.FreshnessCursor.read(fresh.dump(), NOW + timedelta(hours=1))
    assert again == fresh


@pytest.mark.parametrize(
    "tags,assets,expected",
    [
        (
            {"paperplan/report": "sales", "dagster/partition": "2026-11-20"},
            [],
            ("Run started: sales 2026-11-20", "sales"),
        ),
        (
            {decide.RANGE_START: "2026-11-01", decide.RANGE_END: "2026-11-21"},
            ["sales"],
            ("Run started: sales 2026-11-01 … 2026-11-21", "sales"),
        ),
        ({}, ["a", "b"], ("Run started: a, b", "")),
        ({}, [], ("Run started: __ASSET_JOB", "__ASSET_JOB")),
    ],
)
def test_a_run_log_line_names_its_reports_and_days(tags, assets, expected):
    assert decide.run_log_line("started", tags=tags, assets=assets, job_name="__ASSET_JOB") == expected


def test_heartbeat_and_outbox_summaries():
    assert decide.heartbeat_summary(1, None) == "heartbeat sent (1 write(s))"
    assert decide.heartbeat_summary(0, "429") == "Airtable unavailable, heartbeat queued: 429"
    assert decide.outbox_summary(3, 1, 0, None) == "sent 3, refused 1, set aside 0"
    assert decide.outbox_summary(0, 0, 2, "down") == "sent 0, refused 0, set aside 2; stopped: down"
