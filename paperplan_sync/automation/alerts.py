"""Sensors that tell people what happened: failures (Airtable Fail + Logs + Slack), run lifecycle in
Logs, stale reports, the heartbeat, and flushing Airtable writes that waited in the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from paperplan_sync.automation import settings
from paperplan_sync.automation.slack import SlackResource, report_failed_message, report_stale_message
from paperplan_sync.config.models import ReportType, SyncConfig
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.reports.factory import asset_key
from paperplan_sync.reports.partitions import day_key, local_today, partitions_for
from paperplan_sync.storage.mongo import MongoResource

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
REASON_MAX = 400


def targeted_days(run: dg.DagsterRun, rt: ReportType) -> list[str]:
    if rt.real_time:
        return []
    if key := run.tags.get("dagster/partition"):
        return [key]
    start, end = run.tags.get(RANGE_START), run.tags.get(RANGE_END)
    if start and end:
        return partitions_for(rt).get_partition_keys_in_range(dg.PartitionKeyRange(start, end))
    return []


def materialized_days(instance: dg.DagsterInstance, run_id: str, key: dg.AssetKey) -> set[str | None]:
    records_ = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION).records
    return {r.event_log_entry.dagster_event.partition for r in records_
            if r.event_log_entry.dagster_event and r.event_log_entry.dagster_event.asset_key == key}


def failure_reason(instance: dg.DagsterInstance, run_id: str, fallback: str) -> str:
    """The step's own error (e.g. "FATAL: ..."), not Dagster's generic "run failed" line."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records:
        data = record.event_log_entry.dagster_event.step_failure_data
        if data and data.error:
            text = (data.user_failure_data.description if data.user_failure_data and data.user_failure_data.description else data.error.message)
            return text.strip()[:REASON_MAX]
    return fallback[:REASON_MAX]


def failed_report_types(run: dg.DagsterRun, by_key: dict[dg.AssetKey, ReportType]):
    """The report types a run materializes (scheduled and UI runs both carry their asset selection)."""
    return [(key, by_key[key]) for key in run.asset_selection or () if key in by_key]


def build_alert_sensors(config: SyncConfig) -> list[dg.SensorDefinition]:
    by_key = {asset_key(rt): rt for rt in config.active_report_types}

    @dg.run_failure_sensor(
        name="report_failure_alerts",
        description="A failed report run: Fail in Airtable Reports, a Logs record, and one Slack message per report when Notify On Fail.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def report_failure_alerts(context: dg.RunFailureSensorContext, airtable: AirtableResource, mongo: MongoResource, slack: SlackResource):
        run = context.dagster_run
        writer = AirtableWriter(mongo.db(), airtable)
        reason = failure_reason(context.instance, run.run_id, context.failure_event.message or "run failed")
        run_url = slack.run_url(run.run_id)
        for key, rt in failed_report_types(run, by_key):
            done = materialized_days(context.instance, run.run_id, key)
            days = [d for d in targeted_days(run, rt) if d not in done] or [day_key(local_today(rt, datetime.now(UTC)))]
            for day in days:
                writer.report(records.report_failure(report_name=rt.name, report_date=day, real_time=rt.real_time, reason=reason, run_url=run_url))
            label = days[0] if len(days) == 1 else f"{days[0]} … {days[-1]} ({len(days)} days)"
            writer.log(records.log_record(f"Report {rt.name} failed ({label})", level="ERROR", event="run failed",
                                          report_type=rt.name, details=reason, run_id=run.run_id))
            if rt.notify_on_fail:
                text, blocks = report_failed_message(rt.name, label, reason, run_url)
                slack.post(text, blocks=blocks)
        writer.flush()

    @dg.run_status_sensor(run_status=dg.DagsterRunStatus.STARTED, name="run_started_logs",
                          description="Writes a Logs record when a report run starts.", default_status=dg.DefaultSensorStatus.RUNNING)
    def run_started_logs(context: dg.RunStatusSensorContext, airtable: AirtableResource, mongo: MongoResource):
        _log_run(context, airtable, mongo, "started")

    @dg.run_status_sensor(run_status=dg.DagsterRunStatus.SUCCESS, name="run_finished_logs",
                          description="Writes a Logs record when a report run succeeds.", default_status=dg.DefaultSensorStatus.RUNNING)
    def run_finished_logs(context: dg.RunStatusSensorContext, airtable: AirtableResource, mongo: MongoResource):
        _log_run(context, airtable, mongo, "finished")

    @dg.sensor(
        name="report_freshness",
        description="'Report <name> failed' when a Notify On Fail daily report has produced nothing for 24 hours.",
        minimum_interval_seconds=settings.FRESHNESS_CHECK_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def report_freshness(context: dg.SensorEvaluationContext, airtable: AirtableResource, mongo: MongoResource, slack: SlackResource):
        now = datetime.now(UTC)
        state = json.loads(context.cursor) if context.cursor else {"first_seen": {}, "alerted": []}
        alerted = set(state["alerted"])
        writer = AirtableWriter(mongo.db(), airtable)
        for key, rt in by_key.items():
            if rt.real_time or not rt.notify_on_fail:
                continue
            event = context.instance.get_latest_materialization_event(key)
            last = datetime.fromtimestamp(event.timestamp, UTC) if event else None
            since = last or datetime.fromisoformat(state["first_seen"].setdefault(rt.name, now.isoformat()))
            stale = now - since > timedelta(hours=settings.STALE_AFTER_H)
            if stale and rt.name not in alerted:
                text, blocks = report_stale_message(rt.name, last, hours=settings.STALE_AFTER_H, now=now)
                slack.post(text, blocks=blocks)
                writer.log(records.log_record(text, level="ERROR", event="stale report", report_type=rt.name))
                alerted.add(rt.name)
            elif not stale:
                alerted.discard(rt.name)
        writer.flush()
        state["alerted"] = sorted(alerted)
        context.update_cursor(json.dumps(state))

    @dg.sensor(name="heartbeat", description="Every 30 minutes: Overview Alive = 1 and Timestamp (one Airtable call).",
               minimum_interval_seconds=settings.HEARTBEAT_S, default_status=dg.DefaultSensorStatus.RUNNING)
    def heartbeat(context: dg.SensorEvaluationContext, airtable: AirtableResource, mongo: MongoResource):
        writer = AirtableWriter(mongo.db(), airtable)
        writer.heartbeat(records.heartbeat_record())
        result = writer.flush()
        return dg.SkipReason(f"heartbeat sent ({result.sent} write(s))" if not result.stopped_by else f"Airtable unavailable, heartbeat queued: {result.stopped_by}")

    @dg.sensor(name="airtable_outbox", description="Sends Airtable writes that waited in the outbox (e.g. during an outage), in order.",
               minimum_interval_seconds=settings.OUTBOX_FLUSH_S, default_status=dg.DefaultSensorStatus.RUNNING)
    def airtable_outbox(context: dg.SensorEvaluationContext, airtable: AirtableResource, mongo: MongoResource):
        result = AirtableWriter(mongo.db(), airtable).flush()
        return dg.SkipReason(f"sent {result.sent}, refused {result.failed}" + (f"; stopped: {result.stopped_by}" if result.stopped_by else ""))

    return [report_failure_alerts, run_started_logs, run_finished_logs, report_freshness, heartbeat, airtable_outbox]


def _log_run(context: dg.RunStatusSensorContext, airtable: AirtableResource, mongo: MongoResource, what: str) -> None:
    run = context.dagster_run
    reports = run.tags.get("paperplan/report") or ", ".join(key.path[-1] for key in run.asset_selection or ()) or run.job_name
    span = run.tags.get("dagster/partition") or (f"{run.tags[RANGE_START]} … {run.tags[RANGE_END]}" if RANGE_START in run.tags else "")
    writer = AirtableWriter(mongo.db(), airtable)
    # Queued only: the outbox sensor sends it within a minute, batched with the run's other Logs records
    # (a run's start and end cost one Airtable call together, not one each).
    writer.log(records.log_record(f"Run {what}: {reports} {span}".strip(), event=f"run {what}", run_id=run.run_id,
                                  report_type=reports if "," not in reports else ""))
