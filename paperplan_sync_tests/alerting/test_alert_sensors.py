"""The freshness alert and the heartbeat, evaluated as the daemon evaluates them (real sensors, real stand-ins)."""

from __future__ import annotations

import contextlib
import json
from datetime import UTC, date, datetime, timedelta
from unittest import mock

import dagster as dg
import pytest

from paperplan_sync.alerting.alerts import build_alert_sensors
from paperplan_sync.config.loader import load_config
from paperplan_sync.config.models import Automation, ReportType, SyncConfig
from paperplan_sync_tests.fixtures.reports import Product


def sensor(config, name: str) -> dg.SensorDefinition:
    return next(s for s in build_alert_sensors(config) if s.name == name)


def automation(
    name: str, at: datetime, report: str, *, run: str = "Daily", weekday: int | None = None, every=None
) -> Automation:
    clock = {"every": every} if every else {"at": at.time().replace(second=0, microsecond=0)}
    return Automation(
        record_id=f"rec{name}", name=name, run=run, zone=0, weekday=weekday, report_types=(report,), **clock
    )


def report_type(name: str, **kw) -> ReportType:
    return ReportType(
        record_id=f"rec{name}",
        name=name,
        active=True,
        report_type_id="GET_X",
        notify_on_fail=True,
        zone=0,
        offset_days=1,
        start_date=date(2026, 1, 1),
        **kw,
    )


@contextlib.contextmanager
def freeze_materialization_time(instance, moment: datetime):
    """Dagster stamps events with time.time(): a load from days ago, as the event log would hold it."""
    with mock.patch("time.time", return_value=moment.timestamp()):
        yield


def evaluate(config, resources, instance, cursor):
    context = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
    sensor(config, "report_freshness")(context)
    return context.cursor


WATCHING = json.dumps({"since": (datetime.now(UTC) - timedelta(days=10)).isoformat()})


@pytest.mark.slow
def test_a_report_missing_past_its_due_time_plus_grace_alerts_once_then_once_when_it_loads(
    airtable, airtable_resource, mongo, slack
):
    now = datetime.now(UTC)
    late, early = report_type("late_report"), report_type("in_grace_report")
    config = SyncConfig(
        report_types=(late, early),
        automations=(
            automation("three_hours_ago", now - timedelta(hours=3), "late_report"),
            automation("one_hour_ago", now - timedelta(hours=1), "in_grace_report"),
        ),
    )
    resources = {"airtable": airtable_resource, "mongo": mongo, "slack": slack.resource()}
    with dg.instance_for_test() as instance:
        yesterday = now - timedelta(hours=25)  # the in-grace type's previous run loaded on time
        with freeze_materialization_time(instance, yesterday + timedelta(minutes=5)):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    asset_key=dg.AssetKey(["amazon_sp", "in_grace_report"]),
                    partition=str((yesterday - timedelta(days=1)).date()),
                )
            )
        cursor = evaluate(config, resources, instance, WATCHING)
        cursor = evaluate(config, resources, instance, cursor)
        [alert] = [m["text"] for m in slack.messages()]
        # The day the 3-hours-ago run pulls (yesterday, Offset 1) is what is missing; the other is inside its grace.
        due = (now - timedelta(hours=3)).replace(second=0, microsecond=0)
        assert alert.startswith(
            f"Report late_report failed: no report since its run due at {due:%Y-%m-%d %H:%M} UTC "
            f"(the {(due - timedelta(days=1)).date()} report is missing 2 h after it was due"
        )

        instance.report_runless_asset_event(
            dg.AssetMaterialization(
                asset_key=dg.AssetKey(["amazon_sp", "late_report"]), partition=str((due - timedelta(days=1)).date())
            )
        )
        cursor = evaluate(config, resources, instance, cursor)
        evaluate(config, resources, instance, cursor)
    texts = [m["text"] for m in slack.messages()]
    assert len(texts) == 2 and texts[1].startswith("Report late_report is on time again")
    # Dagster's records and MongoDB only: the sensor never reads an Airtable table (it writes Logs).
    assert {k for k in airtable.stats()["by_endpoint"] if k.startswith("GET")} == set()
    logged = [r["fields"]["Summary"] for r in airtable_resource.table("Logs").all()]
    assert [s for s in logged if "late_report" in s] == [alert[:250], texts[1]]


@pytest.mark.slow
def test_a_weekly_report_loaded_after_its_fire_and_a_real_time_type_are_checked_against_their_own_schedule(
    airtable_resource, mongo, slack
):
    now = datetime.now(UTC)
    weekly, snapshot = report_type("weekly_report"), report_type("inventory_now", real_time=True)
    six_days_ago = now - timedelta(days=6)
    config = SyncConfig(
        report_types=(weekly, snapshot),
        automations=(
            automation("weekly", six_days_ago, "weekly_report", run="Weekly", weekday=six_days_ago.weekday()),
            automation("every_hour", now, "inventory_now", run="Interval", every=timedelta(hours=1)),
        ),
    )
    resources = {"airtable": airtable_resource, "mongo": mongo, "slack": slack.resource()}
    with dg.instance_for_test() as instance:
        # The weekly type loaded its day right after last week's fire: 6 days without a load are normal for it.
        with freeze_materialization_time(instance, six_days_ago + timedelta(minutes=5)):
            instance.report_runless_asset_event(
                dg.AssetMaterialization(
                    asset_key=dg.AssetKey(["amazon_sp", "weekly_report"]),
                    partition=str((six_days_ago - timedelta(days=1)).date()),
                )
            )
        evaluate(config, resources, instance, WATCHING)
    # The real-time type, due every hour, has had nothing: it is late; the weekly one is not.
    assert [m["text"].split(":")[0] for m in slack.messages()] == ["Report inventory_now failed"]


@pytest.mark.slow
def test_a_failed_run_is_retried_silently_and_only_the_final_failure_alerts(product, spapi, airtable_resource, slack):
    """Under run retries (deploy/dagster.yaml), Dagster tags a failed run dagster/will_retry: no Fail, no Slack."""
    spapi.inject(fatal=True, report_type="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL")
    failure = sensor(product.config, "report_failure_alerts")
    resources = {k: product.resources[k] for k in ("airtable", "mongo", "slack")}
    runs = []
    # Dagster itself tags the failed run: retried when run retries also cover step failures, final otherwise
    # (deploy/dagster.yaml: retry_on_asset_or_op_failure false).
    for retry_step_failures in (True, False):
        retries = {
            "run_retries": {"enabled": True, "max_retries": 1, "retry_on_asset_or_op_failure": retry_step_failures}
        }
        with dg.instance_for_test(overrides=retries) as instance:
            result = Product(product.config, product.resources, instance).materialize(
                "sales_report", "2026-11-20", raise_on_error=False
            )
            run = instance.get_run_by_id(result.run_id)
            assert run.tags["dagster/will_retry"] == str(retry_step_failures).lower()
            event = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records[0]
            context = dg.build_run_status_sensor_context(
                sensor_name="report_failure_alerts",
                dagster_instance=instance,
                dagster_run=run,
                dagster_event=event.event_log_entry.dagster_event,
                resources=resources,
            ).for_run_failure()
            failure(context)
        runs.append(([m["text"] for m in slack.messages()], airtable_resource.table("Reports").all(formula="{Fail}")))

    (texts_retrying, fail_retrying), (texts_final, fail_final) = runs
    assert texts_retrying == [] and fail_retrying == []
    assert len(texts_final) == 1 and texts_final[0].startswith("Report sales_report failed for 2026-11-20: ")
    assert [r["fields"]["Date"] for r in fail_final] == ["2026-11-20"]
    logged = [r["fields"]["Summary"] for r in airtable_resource.table("Logs").all()]
    assert "Report sales_report failed (2026-11-20); Dagster retries the run" in logged


def test_the_heartbeat_sets_alive_and_timestamp(airtable_resource, mongo):
    heartbeat = sensor(load_config(airtable_resource), "heartbeat")
    with dg.instance_for_test() as instance:
        heartbeat(dg.build_sensor_context(instance=instance, resources={"airtable": airtable_resource, "mongo": mongo}))

    [overview] = airtable_resource.table("Overview").all()
    assert overview["fields"]["Alive"] == 1
    stamp = datetime.fromisoformat(overview["fields"]["Timestamp"].replace("Z", "+00:00"))
    assert datetime.now(UTC) - stamp < timedelta(minutes=1)
