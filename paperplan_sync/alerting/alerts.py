"""Sensors that tell people what happened: failures (Airtable Fail + Logs + Slack), run lifecycle in
Logs, stale reports, the heartbeat, and flushing Airtable writes that waited in the outbox.

Each sensor gathers its facts (Dagster's records, the cursor), asks a pure function of decide.py what they
mean, and writes what it says. The failure and freshness sensors are built per configuration (they know
the code location's report types); the others are plain module-level sensors."""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from paperplan_sync import settings
from paperplan_sync.alerting import alert_queue, decide, freshness
from paperplan_sync.alerting.decide import RANGE_END, RANGE_START
from paperplan_sync.alerting.slack import (
    SlackResource,
    dead_letter_message,
    report_failed_message,
    report_late_message,
    report_loading_again_message,
)
from paperplan_sync.config import loader
from paperplan_sync.config.models import Automation, ReportType, SyncConfig
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.schema import TABLE_LOGS
from paperplan_sync.control_plane.writer import REFUSED, AirtableWriter, refused_fields
from paperplan_sync.reports.factory import asset_key
from paperplan_sync.reports.partitions import day_key, local_today, partitions_for
from paperplan_sync.storage import outbox
from paperplan_sync.storage.mongo import MongoResource

WILL_RETRY_TAG = "dagster/will_retry"
REASON_MAX = 400


def targeted_days(run: dg.DagsterRun, rt: ReportType) -> list[str]:
    if rt.real_time:
        return []
    if key := run.tags.get("dagster/partition"):
        return [key]
    start, end = run.tags.get(RANGE_START), run.tags.get(RANGE_END)
    if start and end and (partitions := partitions_for(rt)) is not None:
        return list(partitions.get_partition_keys_in_range(dg.PartitionKeyRange(start, end)))
    return []


def materialized_days(instance: dg.DagsterInstance, run_id: str, key: dg.AssetKey) -> set[str | None]:
    records_ = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return {
        r.event_log_entry.dagster_event.partition
        for r in records_
        if r.event_log_entry.dagster_event and r.event_log_entry.dagster_event.asset_key == key
    }


def failure_reason(instance: dg.DagsterInstance, run_id: str, fallback: str) -> str:
    """The step's own error (e.g. "FATAL: ..."), not Dagster's generic "run failed" line."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records:
        data = record.event_log_entry.get_dagster_event().step_failure_data
        if data and data.error:
            text = (
                data.user_failure_data.description
                if data.user_failure_data and data.user_failure_data.description
                else data.error.message
            )
            return text.strip()[:REASON_MAX]
    return fallback[:REASON_MAX]


def will_be_retried(instance: dg.DagsterInstance, run: dg.DagsterRun) -> bool:
    """Dagster tags a failed run ``dagster/will_retry`` when run retries will re-execute it (set just after the
    failure event is stored, so a run read a moment too early is read again)."""
    tag = run.tags.get(WILL_RETRY_TAG)
    if tag is None and instance.run_retries_enabled:
        fresh = instance.get_run_by_id(run.run_id)
        tag = fresh.tags.get(WILL_RETRY_TAG) if fresh else None
    return str(tag).lower() == "true"


def watched_config(
    airtable: AirtableResource, loaded: SyncConfig
) -> tuple[dict[str, ReportType], tuple[Automation, ...]]:
    """Report types and automations as of the scheduler's last read (the shared snapshot, never Airtable itself)."""
    try:
        config = loader.snapshot_config(airtable) or loaded
    except (KeyError, ValueError):  # a snapshot this code cannot read
        config = loaded
    return {rt.name: rt for rt in config.report_types}, config.automations


def failed_report_types(instance: dg.DagsterInstance, run: dg.DagsterRun, by_key: dict[dg.AssetKey, ReportType]):
    """The report types a run materializes: its asset selection, or (a whole-job run) what it planned."""
    keys = set(run.asset_selection or ())
    if not keys:
        planned = instance.get_records_for_run(
            run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION_PLANNED
        ).records
        keys = {e.asset_key for r in planned if (e := r.event_log_entry.dagster_event) and e.asset_key is not None}
    return [(key, by_key[key]) for key in sorted(keys, key=str) if key in by_key]


def build_alert_sensors(config: SyncConfig) -> list[dg.SensorDefinition]:
    """Every alert sensor; the failure and freshness sensors know the code location's report types."""
    by_key = {asset_key(rt): rt for rt in config.active_report_types}
    return [
        failure_sensor(by_key),
        run_started_logs,
        run_finished_logs,
        freshness_sensor(config, by_key),
        heartbeat,
        airtable_outbox,
    ]


# --- run failure ---------------------------------------------------------------------------------------------


def failure_sensor(by_key: dict[dg.AssetKey, ReportType]) -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="report_failure_alerts",
        description=(
            "A failed report run: Fail in Airtable Reports, a Logs record, and one Slack message per report "
            "when Notify On Fail."
        ),
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def report_failure_alerts(
        context: dg.RunFailureSensorContext, airtable: AirtableResource, mongo: MongoResource, slack: SlackResource
    ):
        alert_failed_run(context, AirtableWriter(mongo.db(), airtable), slack, by_key)

    return report_failure_alerts


def alert_failed_run(
    context: dg.RunFailureSensorContext,
    writer: AirtableWriter,
    slack: SlackResource,
    by_key: dict[dg.AssetKey, ReportType],
) -> None:
    """Gather the failed run's facts, decide per report type (decide.failure_alert), write what it says."""
    run, instance = context.dagster_run, context.instance
    reason = failure_reason(instance, run.run_id, context.failure_event.message or "run failed")
    retried = will_be_retried(instance, run)
    for key, rt in failed_report_types(instance, run, by_key):
        alert = decide.failure_alert(
            rt.name,
            targeted=targeted_days(run, rt),
            done=materialized_days(instance, run.run_id, key),
            today=day_key(local_today(rt, datetime.now(UTC))),
            retried=retried,
            notify=rt.notify_on_fail,
        )
        write_failure_alert(writer, slack, alert, rt, reason=reason, run_id=run.run_id)
    writer.flush()


def write_failure_alert(
    writer: AirtableWriter,
    slack: SlackResource,
    alert: decide.FailureAlert,
    rt: ReportType,
    *,
    reason: str,
    run_id: str,
) -> None:
    """A retried run: one warning in Logs (a success later leaves Fail unchecked). A final failure: Fail on
    each day in Reports, an error in Logs, and Slack when Notify On Fail."""
    log = functools.partial(records.log_record, report_type=rt.name, details=reason, run_id=run_id)
    if alert.retried:
        writer.log(
            log(
                f"Report {rt.name} failed ({alert.label}); Dagster retries the run",
                level="WARNING",
                event="run will retry",
            )
        )
        return
    run_url = slack.run_url(run_id)
    for day in alert.days:
        writer.report(
            records.report_failure(
                report_name=rt.name, report_date=day, real_time=rt.real_time, reason=reason, run_url=run_url
            )
        )
    writer.log(log(f"Report {rt.name} failed ({alert.label})", level="ERROR", event="run failed"))
    if alert.notify:
        text, blocks = report_failed_message(rt.name, alert.label, reason, run_url)
        # Kept until Slack takes it: Dagster calls this sensor once per failed run, never again.
        alert_queue.send(writer.db, slack, text, blocks)


# --- run lifecycle in Logs -----------------------------------------------------------------------------------


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.STARTED,
    name="run_started_logs",
    description="Writes a Logs record when a report run starts.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_started_logs(context: dg.RunStatusSensorContext, airtable: AirtableResource, mongo: MongoResource):
    log_run(context.dagster_run, AirtableWriter(mongo.db(), airtable), "started")


@dg.run_status_sensor(
    run_status=dg.DagsterRunStatus.SUCCESS,
    name="run_finished_logs",
    description="Writes a Logs record when a report run succeeds.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def run_finished_logs(context: dg.RunStatusSensorContext, airtable: AirtableResource, mongo: MongoResource):
    log_run(context.dagster_run, AirtableWriter(mongo.db(), airtable), "finished")


def log_run(run: dg.DagsterRun, writer: AirtableWriter, what: str) -> None:
    summary, report_type = decide.run_log_line(
        what, tags=dict(run.tags), assets=[key.path[-1] for key in run.asset_selection or ()], job_name=run.job_name
    )
    # Queued only: the outbox sensor sends it within a minute, batched with the run's other Logs records
    # (a run's start and end cost one Airtable call together, not one each).
    writer.log(records.log_record(summary, event=f"run {what}", run_id=run.run_id, report_type=report_type))


# --- lateness ------------------------------------------------------------------------------------------------


def freshness_sensor(config: SyncConfig, by_key: dict[dg.AssetKey, ReportType]) -> dg.SensorDefinition:
    @dg.sensor(
        name="report_freshness",
        description="'Report <name> failed: no report since ...' when a Notify On Fail report is missing past its "
        "automation's due time plus the grace period; one message when it is late, one when it loads again.",
        minimum_interval_seconds=settings.FRESHNESS_CHECK_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def report_freshness(
        context: dg.SensorEvaluationContext, airtable: AirtableResource, mongo: MongoResource, slack: SlackResource
    ):
        check_freshness(context, airtable, AirtableWriter(mongo.db(), airtable), slack, config, by_key)

    return report_freshness


@dataclass
class FreshnessTick:
    """One evaluation of the freshness sensor: its clock, its cursor (changed in place) and its I/O."""

    instance: dg.DagsterInstance
    writer: AirtableWriter
    slack: SlackResource
    cursor: decide.FreshnessCursor
    now: datetime
    grace: timedelta


def check_freshness(
    context: dg.SensorEvaluationContext,
    airtable: AirtableResource,
    writer: AirtableWriter,
    slack: SlackResource,
    config: SyncConfig,
    by_key: dict[dg.AssetKey, ReportType],
) -> None:
    """Per report type: the expected load, the facts about it, decide.lateness, and its message."""
    now, grace = datetime.now(UTC), timedelta(hours=settings.FRESHNESS_GRACE_H)
    tick = FreshnessTick(context.instance, writer, slack, decide.FreshnessCursor.read(context.cursor, now), now, grace)
    watched_types, automations = watched_config(airtable, config)
    for key, rt in by_key.items():
        rt = watched_types.get(rt.name, rt)
        expectation = freshness.expected(rt, automations, now, tick.grace) if rt.notify_on_fail else None
        verdict = lateness_of(tick, key, rt, expectation)
        if verdict is not None:
            tell_lateness(tick, verdict, key, rt, expectation)
    writer.flush()
    context.update_cursor(tick.cursor.dump())


def lateness_of(
    tick: FreshnessTick, key: dg.AssetKey, rt: ReportType, expectation: freshness.Expectation | None
) -> decide.Lateness | None:
    """The facts decide.lateness needs, each read from Dagster only when it can matter."""
    loaded = expectation is not None and freshness.loaded_since(tick.instance, key, expectation)
    watched = expectation is not None and expectation.fired_at >= tick.cursor.since
    alerted = (
        watched
        and not loaded
        and expectation is not None
        and freshness.failure_already_alerted(tick.instance, rt, expectation.fired_at)
    )
    return decide.lateness(
        notify_on_fail=rt.notify_on_fail,
        expectation=expectation,
        watching_since=tick.cursor.since,
        was_late=rt.name in tick.cursor.late,
        loaded=loaded,
        alerted=alerted,
    )


def tell_lateness(
    tick: FreshnessTick,
    verdict: decide.Lateness,
    key: dg.AssetKey,
    rt: ReportType,
    expectation: freshness.Expectation | None,
) -> None:
    """Slack and Logs for a verdict, and the cursor's memory of which reports are late."""
    late = tick.cursor.late
    if verdict is decide.Lateness.FORGET:
        late.pop(rt.name, None)
        return
    last = freshness.last_loaded(tick.instance, key)
    if verdict is decide.Lateness.LATE:
        assert expectation is not None  # decide.lateness: late means a fire was expected
        fired, day = expectation.fired_at, expectation.partition
        text, blocks = report_late_message(rt.name, fired, day, last, grace=tick.grace, now=tick.now)
        tick.slack.post(text, blocks=blocks)
        tick.writer.log(records.log_record(text, level="ERROR", event="report late", report_type=rt.name))
        late[rt.name] = fired.isoformat()
        return
    text, blocks = report_loading_again_message(rt.name, last)
    tick.slack.post(text, blocks=blocks)
    tick.writer.log(records.log_record(text, event="report on time", report_type=rt.name))
    del late[rt.name]


# --- heartbeat and outbox ------------------------------------------------------------------------------------


@dg.sensor(
    name="heartbeat",
    description="Every 30 minutes: Overview Alive = 1 and Timestamp (one Airtable call).",
    minimum_interval_seconds=settings.HEARTBEAT_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def heartbeat(context: dg.SensorEvaluationContext, airtable: AirtableResource, mongo: MongoResource):
    writer = AirtableWriter(mongo.db(), airtable)
    writer.heartbeat(records.heartbeat_record())
    result = writer.flush()
    return dg.SkipReason(decide.heartbeat_summary(result.sent, result.stopped_by))


@dg.sensor(
    name="airtable_outbox",
    description="Sends Airtable writes that waited in the outbox (e.g. during an outage), in order.",
    minimum_interval_seconds=settings.OUTBOX_FLUSH_S,
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def airtable_outbox(
    context: dg.SensorEvaluationContext, airtable: AirtableResource, mongo: MongoResource, slack: SlackResource
):
    db = mongo.db()
    writer = AirtableWriter(db, airtable)
    result = writer.flush()
    announced = announce_dead_letters(db, writer, slack)
    alerts = alert_queue.flush(db, slack)
    summary = decide.outbox_summary(result.sent, result.failed, announced, result.stopped_by)
    if alerts.sent or alerts.waiting:
        summary += f"; Slack alerts posted {alerts.sent}, waiting {alerts.waiting}"
    return dg.SkipReason(summary)


def announce_dead_letters(db, writer: AirtableWriter, slack: SlackResource) -> int:
    """One Slack message and one Logs line per write set aside (naming table, field and Airtable's error)."""
    entries = outbox.dead_letters(db, unannounced=True)
    for entry in entries:
        table, error = entry["payload"]["table"], str(entry.get("last_error") or "").removeprefix(REFUSED)
        text, blocks = dead_letter_message(table, refused_fields(entry), error, entry.get("attempts", 0))
        slack.post(text, blocks=blocks)
        if table != TABLE_LOGS:  # a refused Logs write would only be refused again
            writer.log(
                records.log_record(
                    text,
                    level="ERROR",
                    event="write set aside",
                    details=json.dumps(entry["payload"].get("fields") or {}, default=str)[:5000],
                )
            )
        outbox.mark_announced(db, entry["_id"])
    if entries:
        writer.flush()
    return len(entries)
