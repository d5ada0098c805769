"""Sensors that tell people what happened: failures (Airtable Fail + Logs + Slack), run lifecycle in
Logs, stale reports, the heartbeat, and flushing Airtable writes that waited in the outbox."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from paperplan_sync import settings
from paperplan_sync.alerting import alert_queue, freshness
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
    return {
        r.event_log_entry.dagster_event.partition
        for r in records_
        if r.event_log_entry.dagster_event and r.event_log_entry.dagster_event.asset_key == key
    }


def failure_reason(instance: dg.DagsterInstance, run_id: str, fallback: str) -> str:
    """The step's own error (e.g. "FATAL: ..."), not Dagster's generic "run failed" line."""
    for record in instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records:
        data = record.event_log_entry.dagster_event.step_failure_data
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
        keys = {r.event_log_entry.dagster_event.asset_key for r in planned if r.event_log_entry.dagster_event}
    return [(key, by_key[key]) for key in sorted(keys, key=str) if key in by_key]


def build_alert_sensors(config: SyncConfig) -> list[dg.SensorDefinition]:
    by_key = {asset_key(rt): rt for rt in config.active_report_types}

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
        run = context.dagster_run
        writer = AirtableWriter(mongo.db(), airtable)
        reason = failure_reason(context.instance, run.run_id, context.failure_event.message or "run failed")
        run_url = slack.run_url(run.run_id)
        retried = will_be_retried(context.instance, run)
        for key, rt in failed_report_types(context.instance, run, by_key):
            done = materialized_days(context.instance, run.run_id, key)
            days = [d for d in targeted_days(run, rt) if d not in done] or [day_key(local_today(rt, datetime.now(UTC)))]
            label = days[0] if len(days) == 1 else f"{days[0]} … {days[-1]} ({len(days)} days)"
            if retried:  # silent: the retry's own outcome decides (a success leaves Fail unchecked)
                writer.log(
                    records.log_record(
                        f"Report {rt.name} failed ({label}); Dagster retries the run",
                        level="WARNING",
                        event="run will retry",
                        report_type=rt.name,
                        details=reason,
                        run_id=run.run_id,
                    )
                )
                continue
            for day in days:
                writer.report(
                    records.report_failure(
                        report_name=rt.name, report_date=day, real_time=rt.real_time, reason=reason, run_url=run_url
                    )
                )
            writer.log(
                records.log_record(
                    f"Report {rt.name} failed ({label})",
                    level="ERROR",
                    event="run failed",
                    report_type=rt.name,
                    details=reason,
                    run_id=run.run_id,
                )
            )
            if rt.notify_on_fail:
                text, blocks = report_failed_message(rt.name, label, reason, run_url)
                alert_queue.send(writer.db, slack, text, blocks)  # kept until Slack takes it: never called again
        writer.flush()

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.STARTED,
        name="run_started_logs",
        description="Writes a Logs record when a report run starts.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def run_started_logs(context: dg.RunStatusSensorContext, airtable: AirtableResource, mongo: MongoResource):
        _log_run(context, airtable, mongo, "started")

    @dg.run_status_sensor(
        run_status=dg.DagsterRunStatus.SUCCESS,
        name="run_finished_logs",
        description="Writes a Logs record when a report run succeeds.",
        default_status=dg.DefaultSensorStatus.RUNNING,
    )
    def run_finished_logs(context: dg.RunStatusSensorContext, airtable: AirtableResource, mongo: MongoResource):
        _log_run(context, airtable, mongo, "finished")

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
        now = datetime.now(UTC)
        state = json.loads(context.cursor) if context.cursor else {}
        watching_since = datetime.fromisoformat(state.get("since") or now.isoformat())
        late: dict[str, str] = dict(state.get("late") or {})
        grace = timedelta(hours=settings.FRESHNESS_GRACE_H)
        watched_types, automations = watched_config(airtable, config)
        writer = AirtableWriter(mongo.db(), airtable)
        for key, rt in by_key.items():
            rt = watched_types.get(rt.name, rt)
            if not rt.notify_on_fail:
                late.pop(rt.name, None)
                continue
            expectation = freshness.expected(rt, automations, now, grace)
            # Fires from before the product was watching are the missed-days catch-up's business.
            is_late = (
                expectation is not None
                and expectation.fired_at >= watching_since
                and not freshness.loaded_since(context.instance, key, expectation)
                and not freshness.failure_already_alerted(context.instance, rt, expectation.fired_at)
            )
            if is_late and rt.name not in late:
                text, blocks = report_late_message(
                    rt.name,
                    expectation.fired_at,
                    expectation.partition,
                    freshness.last_loaded(context.instance, key),
                    grace=grace,
                    now=now,
                )
                slack.post(text, blocks=blocks)
                writer.log(records.log_record(text, level="ERROR", event="report late", report_type=rt.name))
                late[rt.name] = expectation.fired_at.isoformat()
            elif (
                not is_late
                and rt.name in late
                and (expectation is None or freshness.loaded_since(context.instance, key, expectation))
            ):
                text, blocks = report_loading_again_message(rt.name, freshness.last_loaded(context.instance, key))
                slack.post(text, blocks=blocks)
                writer.log(records.log_record(text, event="report on time", report_type=rt.name))
                del late[rt.name]
        writer.flush()
        context.update_cursor(json.dumps({"since": watching_since.isoformat(), "late": late}))

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
        return dg.SkipReason(
            f"heartbeat sent ({result.sent} write(s))"
            if not result.stopped_by
            else f"Airtable unavailable, heartbeat queued: {result.stopped_by}"
        )

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
        return dg.SkipReason(
            f"sent {result.sent}, refused {result.failed}, set aside {announced}"
            + (f"; stopped: {result.stopped_by}" if result.stopped_by else "")
            + (
                f"; Slack alerts posted {alerts.sent}, waiting {alerts.waiting}"
                if alerts.sent or alerts.waiting
                else ""
            )
        )

    return [report_failure_alerts, run_started_logs, run_finished_logs, report_freshness, heartbeat, airtable_outbox]


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


def _log_run(context: dg.RunStatusSensorContext, airtable: AirtableResource, mongo: MongoResource, what: str) -> None:
    run = context.dagster_run
    reports = (
        run.tags.get("paperplan/report") or ", ".join(key.path[-1] for key in run.asset_selection or ()) or run.job_name
    )
    span = run.tags.get("dagster/partition") or (
        f"{run.tags[RANGE_START]} … {run.tags[RANGE_END]}" if RANGE_START in run.tags else ""
    )
    writer = AirtableWriter(mongo.db(), airtable)
    # Queued only: the outbox sensor sends it within a minute, batched with the run's other Logs records
    # (a run's start and end cost one Airtable call together, not one each).
    writer.log(
        records.log_record(
            f"Run {what}: {reports} {span}".strip(),
            event=f"run {what}",
            run_id=run.run_id,
            report_type=reports if "," not in reports else "",
        )
    )
