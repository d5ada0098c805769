"""The scheduler: automations from Airtable, launching report runs when due.

A sensor rather than Dagster schedules, so an edit in Airtable (time, Disable, report list, a new
automation) takes effect at the next tick without reloading anything, and lands in Logs. A tick reads
Airtable only when people changed something (a webhook ping or payload, see control_plane/changes.py):
otherwise it schedules from the configuration's shared snapshot, at no API cost.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import dagster as dg
import requests
from pyairtable.formulas import AND, BLANK, EQ, NOT, OR, Field

from paperplan_sync import settings
from paperplan_sync.alerting.slack import SlackResource
from paperplan_sync.config.loader import CONFIG_TABLES, current_config, load_config
from paperplan_sync.config.models import SyncConfig
from paperplan_sync.config.timing import latest_fire_time
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.airtable import AirtableResource, AirtableUnavailable
from paperplan_sync.control_plane.changes import Changes, ChangeWatcher, change_settings
from paperplan_sync.control_plane.schema import TABLE_REPORTS
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.reports.factory import AssetJob
from paperplan_sync.reports.partitions import parse_day, partitions_for, repeat_window_closed
from paperplan_sync.scheduling.plan import CATCH_UP, Launch, automation_summary, config_changes, plan_tick
from paperplan_sync.storage.mongo import MongoResource

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
QUOTA_ALERT = (
    "Airtable's monthly API call quota for this workspace is used up: Airtable now serves 2 requests/s "
    "until the month ends. Sync keeps running from its cached configuration; Airtable writes wait in the "
    "outbox and are sent at that pace. Nothing is lost."
)


def asset_signature(config: SyncConfig) -> str:
    """Everything of the active report types that shapes assets or sensors: a change needs a reload."""
    return json.dumps(sorted(rt.model_dump_json() for rt in config.active_report_types))


def run_request(launch: Launch, job_name: str, source: str) -> dg.RunRequest:
    tags = {"paperplan/report": launch.report, "paperplan/api": source, "paperplan/reason": launch.reason[:200]}
    selection = [dg.AssetKey([source, launch.report])]
    if len(launch.days) == 1:
        return dg.RunRequest(
            run_key=launch.run_key,
            job_name=job_name,
            asset_selection=selection,
            partition_key=launch.days[0],
            tags=tags,
        )
    if launch.days:  # one run for the whole re-pull window: each day is still its own report
        tags |= {RANGE_START: launch.days[0], RANGE_END: launch.days[-1]}
    return dg.RunRequest(run_key=launch.run_key, job_name=job_name, asset_selection=selection, tags=tags)


def retry_days(airtable: AirtableResource, config: SyncConfig, names: set[str], now: datetime) -> dict[str, list[date]]:
    """Days whose Reports record has Fail unchecked but is incomplete (the runbook's three scenarios).
    One query for every report type (one call per 100 records)."""
    out: dict[str, list[date]] = {}
    daily = sorted(n for n in names if not config.report_type(n).real_time)
    if not daily:
        return out
    formula = AND(
        OR(*(EQ(Field("Report Type"), n) for n in daily)),
        NOT(Field("Fail")),
        OR(EQ(Field("Last Updated"), BLANK()), EQ(Field("Mongo Id"), BLANK()), EQ(Field("Update Repeated"), BLANK())),
    )
    fields = ["Report Type", "Date", "Last Updated", "Mongo Id", "Update Repeated"]
    for record in airtable.table(TABLE_REPORTS).all(formula=str(formula), fields=fields):
        f = record["fields"]
        if not f.get("Date") or f.get("Report Type") not in names:
            continue
        rt, day = config.report_type(f["Report Type"]), parse_day(f["Date"])
        incomplete = not f.get("Last Updated") or not f.get("Mongo Id")
        if incomplete or (not f.get("Update Repeated") and repeat_window_closed(rt, day, now)):
            out.setdefault(rt.name, []).append(day)
    return out


def request_reload(webserver_url: str) -> str | None:
    """Ask the webserver to reload the code location; None when it did, else why not."""
    query = "mutation($n: String!) { reloadRepositoryLocation(repositoryLocationName: $n) { __typename } }"
    try:
        response = requests.post(
            f"{webserver_url.rstrip('/')}/graphql",
            json={"query": query, "variables": {"n": settings.CODE_LOCATION_NAME}},
            timeout=30,
        )
        outcome = response.json()["data"]["reloadRepositoryLocation"]["__typename"]
    except Exception as exc:  # the webserver restarting, say: the next tick asks again
        return f"reload request failed: {type(exc).__name__}"
    return None if outcome == "WorkspaceLocationEntry" else f"reload answered {outcome}"


def read_configuration(
    airtable: AirtableResource, watcher: ChangeWatcher, now: datetime, context
) -> tuple[SyncConfig, Changes | None]:
    """The snapshot, unless the watcher says the configuration tables must be read: then Airtable (and a
    new snapshot). A change whose tables could not be read (Airtable down, quota) is read again next tick."""
    try:
        changes = watcher.poll(now)
    except AirtableUnavailable as exc:
        context.log.warning(f"Airtable unavailable, scheduling from the cached configuration: {exc}")
        return current_config(airtable), None
    if changes is None or not (changes.full_read or changes.tables & set(CONFIG_TABLES)):
        return current_config(airtable), changes
    config = load_config(airtable)
    watcher.mark_config_read(fresh=config.origin == "airtable")
    return config, changes


def build_scheduler_sensor(loaded_config: SyncConfig, jobs: dict[str, AssetJob]) -> dg.SensorDefinition:
    loaded = {rt.name: rt for rt in loaded_config.active_report_types}
    loaded_signature = asset_signature(loaded_config)

    @dg.sensor(
        name="airtable_automations",
        description="Launches due reports from the Automations in Airtable; reads Airtable only when people changed it "
        "(webhook ping or payload), logs every change.",
        minimum_interval_seconds=settings.SCHEDULER_TICK_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=list({job.name: job for job in jobs.values()}.values()) or None,
    )
    def airtable_automations(
        context: dg.SensorEvaluationContext, airtable: AirtableResource, mongo: MongoResource, slack: SlackResource
    ):
        now = datetime.now(UTC)
        state = json.loads(context.cursor) if context.cursor else {}
        writer = AirtableWriter(mongo.db(), airtable)
        first_tick = not state
        after = datetime.fromisoformat(state["after"]) if state.get("after") else now
        config, changes = read_configuration(airtable, ChangeWatcher(airtable, change_settings()), now, context)
        if changes is not None:
            context.log.info(f"Airtable read ({changes.reason}): changed {sorted(changes.tables) or 'nothing'}")
            if TABLE_REPORTS in changes.tables:
                state["reports_changed"] = True

        # 1. What changed in Airtable, into Logs (sent at once: an edit is in effect when its record lands).
        summaries = {a.record_id: automation_summary(a) for a in config.automations}
        if config.origin != "none":
            if first_tick:
                writer.log(
                    records.log_record(
                        f"Scheduler started: {len(config.automations)} automation(s), "
                        f"{len(config.active_report_types)} active report type(s)",
                        event="config",
                    )
                )
            for line in config_changes(state.get("automations", {}), summaries) if not first_tick else []:
                writer.log(records.log_record(line, event="config change"))
                context.log.info(line)
            new_problems = sorted({str(p) for p in config.problems} - set(state.get("problems", [])))
            for problem in new_problems:
                writer.log(
                    records.log_record(
                        f"Configuration problem: {problem}"[:250],
                        level="WARNING",
                        event="config problem",
                        details=problem,
                    )
                )
            if new_problems:
                _notify(
                    slack,
                    context,
                    "Configuration problem in Airtable (these rows are skipped until fixed):\n"
                    + "\n".join(f"• {p}" for p in new_problems),
                )
            signature = asset_signature(config)
            if signature != loaded_signature and signature != state.get("reload_requested_for"):
                problem = request_reload(slack.webserver_url)
                writer.log(
                    records.log_record(
                        f"Report Types changed: reloading the code location ({problem or 'requested'})",
                        event="config change",
                    )
                )
                if problem is None:  # a failed request is asked again at the next tick
                    state["reload_requested_for"] = signature
        _alert_quota_once(airtable, slack, writer, context)
        urgent = writer.enqueued > 0

        # 2. What is due, into run requests.
        due_names = {n for a in config.automations if not a.disabled for n in a.report_types if n in loaded}
        retries: dict[str, list[date]] = {}
        if any(latest_fire_time(a, after, now) for a in config.automations):
            # Reports only change under us when people uncheck Fail (the webhook tells), or when a re-pull
            # window closes (a matter of days): query on a change or once a day, not at every fire.
            if state.get("reports_changed", True) or state.get("retries_checked_on") != now.date().isoformat():
                try:
                    retries = retry_days(airtable, config, due_names, now)
                    state.update(reports_changed=False, retries_checked_on=now.date().isoformat())
                except AirtableUnavailable:
                    retries = {}
        last = {n: _last_partition(rt, now) for n, rt in loaded.items() if rt.partitioned}
        plan = plan_tick(config, after=after, now=now, loaded=set(loaded), retry_days=retries, last_partition=last)
        for level, event, summary in plan.log_lines:
            writer.log(records.log_record(summary, level=level, event=event))
        for automation, fired in plan.due:
            writer.log(
                records.log_record(
                    f"Automation '{automation.name}' due at {fired.isoformat(timespec='minutes')}",
                    event="automation fired",
                )
            )
        for missed in plan.missed:  # older than the catch-up bound: Fail checked, so it shows in Failed Reports
            writer.report(
                records.report_missed(report_name=missed.report, report_date=missed.day, due_at=missed.fired_at)
            )
        if plan.missed:
            writer.log(
                records.log_record(
                    f"{len(plan.missed)} missed day(s) not caught up (older than {CATCH_UP.days} days); "
                    "marked Fail in Reports",
                    level="WARNING",
                    event="missed days",
                    details=", ".join(f"{m.report} {m.day}" for m in plan.missed)[:5000],
                )
            )
        if urgent or plan.missed:  # else the outbox sensor sends them within a minute, batched with the runs' records
            writer.flush()

        keep = config.origin == "none"
        state.update(
            after=now.isoformat(),
            automations=state.get("automations", summaries) if keep else summaries,
            problems=state.get("problems", []) if keep else sorted(str(p) for p in config.problems),
        )
        return dg.SensorResult(
            run_requests=[
                run_request(launch, jobs[launch.report].name, loaded[launch.report].source) for launch in plan.launches
            ],
            cursor=json.dumps(state),
        )

    return airtable_automations


def _alert_quota_once(airtable: AirtableResource, slack: SlackResource, writer: AirtableWriter, context) -> None:
    """One Slack message and one Logs record per month when Airtable's monthly quota is used up."""
    limiter = airtable.limiter
    if limiter.usage().quota_exceeded and limiter.first_this_month("quota_alerted"):
        writer.log(
            records.log_record(
                "Airtable monthly API quota used up: running at 2 requests/s until the month ends",
                level="WARNING",
                event="airtable quota",
            )
        )
        _notify(slack, context, QUOTA_ALERT)


def _last_partition(rt, now: datetime) -> date | None:
    keys = partitions_for(rt).get_partition_keys(current_time=now)
    return parse_day(keys[-1]) if keys else None


def _notify(slack: SlackResource, context, text: str) -> None:
    try:
        slack.post(text)
    except Exception as exc:  # Slack down must not stop scheduling; the Logs record is written anyway
        context.log.warning(f"Slack post failed: {exc}")
