"""The scheduler: automations from Airtable, polled every minute, launching report runs when due.

A sensor rather than Dagster schedules, so an edit in Airtable (time, Disable, report list, a new
automation) takes effect at the next tick without reloading anything, and lands in Logs.
"""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import dagster as dg
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition
import requests
from pyairtable.formulas import AND, BLANK, EQ, NOT, OR, Field

from paperplan_sync.automation import settings
from paperplan_sync.automation.plan import CATCH_UP, Launch, automation_summary, config_changes, plan_tick
from paperplan_sync.automation.slack import SlackResource
from paperplan_sync.config.loader import load_config
from paperplan_sync.config.models import SyncConfig
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.airtable import AirtableResource, AirtableUnavailable
from paperplan_sync.control_plane.schema import TABLE_REPORTS
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.reports.partitions import parse_day, partitions_for, repeat_window_closed
from paperplan_sync.storage.mongo import MongoResource

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"

def asset_signature(config: SyncConfig) -> str:
    """What the code location's assets depend on; a change needs a reload of the code location."""
    fields = ("name", "source", "report_type_id", "real_time", "offset_days", "timezone_offset", "start_date", "description")
    return json.dumps(sorted([[str(getattr(rt, f)) for f in fields] for rt in config.active_report_types]))

def run_request(launch: Launch, job_name: str, source: str) -> dg.RunRequest:
    tags = {"paperplan/report": launch.report, "paperplan/api": source, "paperplan/reason": launch.reason[:200]}
    selection = [dg.AssetKey([source, launch.report])]
    if len(launch.days) == 1:
        return dg.RunRequest(run_key=launch.run_key, job_name=job_name, asset_selection=selection,
                             partition_key=launch.days[0], tags=tags)
    if launch.days:  # one run for the whole re-pull window: each day is still its own report
        tags |= {RANGE_START: launch.days[0], RANGE_END: launch.days[-1]}
    return dg.RunRequest(run_key=launch.run_key, job_name=job_name, asset_selection=selection, tags=tags)

def retry_days(airtable: AirtableResource, config: SyncConfig, names: set[str], now: datetime) -> dict[str, list[date]]:
    """Days whose Reports record has Fail unchecked but is incomplete (the runbook's three scenarios)."""
    out: dict[str, list[date]] = {}
    table = airtable.table(TABLE_REPORTS)
    for name in sorted(names):
        rt = config.report_type(name)
        if rt.real_time:
            continue
        formula = AND(EQ(Field("Report Type"), name), NOT(Field("Fail")),
                      OR(EQ(Field("Last Updated"), BLANK()), EQ(Field("Mongo Id"), BLANK()), EQ(Field("Update Repeated"), BLANK())))
        for record in table.all(formula=str(formula), fields=["Date", "Last Updated", "Mongo Id", "Update Repeated"]):
            f = record["fields"]
            if not f.get("Date"):
                continue
            day = parse_day(f["Date"])
            incomplete = not f.get("Last Updated") or not f.get("Mongo Id")
            if incomplete or (not f.get("Update Repeated") and repeat_window_closed(rt, day, now)):
                out.setdefault(name, []).append(day)
    return out

def request_reload(webserver_url: str) -> str:
    query = "mutation($n: String!) { reloadRepositoryLocation(repositoryLocationName: $n) { __typename } }"
    try:
        response = requests.post(f"{webserver_url.rstrip('/')}/graphql", json={"query": query, "variables": {"n": settings.CODE_LOCATION_NAME}}, timeout=30)
        return response.json()["data"]["reloadRepositoryLocation"]["__typename"]
    except Exception as exc:  # best effort: the next reload (or restart) picks the change up anyway
        return f"reload request failed: {type(exc).__name__}"

def build_scheduler_sensor(loaded_config: SyncConfig, jobs: dict[str, UnresolvedAssetJobDefinition]) -> dg.SensorDefinition:
    loaded = {rt.name: rt for rt in loaded_config.active_report_types}
    loaded_signature = asset_signature(loaded_config)

    @dg.sensor(
        name="airtable_automations",
        description="Reads Automations and Report Types from Airtable every minute, logs changes, launches due reports.",
        minimum_interval_seconds=settings.CONFIG_POLL_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=list({job.name: job for job in jobs.values()}.values()) or None,
    )
    def airtable_automations(context: dg.SensorEvaluationContext, airtable: AirtableResource, mongo: MongoResource, slack: SlackResource):
        now = datetime.now(UTC)
        state = json.loads(context.cursor) if context.cursor else {}
        config = load_config(airtable)
        writer = AirtableWriter(mongo.db(), airtable)
        first_tick = not state
        after = datetime.fromisoformat(state["after"]) if state.get("after") else now

        # 1. What changed in Airtable, into Logs.
        summaries = {a.record_id: automation_summary(a) for a in config.automations}
        if config.origin == "airtable":
            if first_tick:
                writer.log(records.log_record(f"Scheduler started: {len(config.automations)} automation(s), {len(config.active_report_types)} active report type(s)", event="config"))
            for line in config_changes(state.get("automations", {}), summaries) if not first_tick else []:
                writer.log(records.log_record(line, event="config change"))
                context.log.info(line)
            new_problems = sorted({str(p) for p in config.problems} - set(state.get("problems", [])))
            for problem in new_problems:
                writer.log(records.log_record(f"Configuration problem: {problem}"[:250], level="WARNING", event="config problem", details=problem))
            if new_problems:
                _notify(slack, context, "Configuration problem in Airtable (these rows are skipped until fixed):\n" + "\n".join(f"• {p}" for p in new_problems))
            signature = asset_signature(config)
            if signature != loaded_signature and signature != state.get("reload_requested_for"):
                outcome = request_reload(slack.webserver_url)
                writer.log(records.log_record(f"Report Types changed: reloading the code location ({outcome})", event="config change"))
                state["reload_requested_for"] = signature
        else:
            context.log.warning(f"Airtable unavailable, scheduling from the cached configuration: {config.unavailable_reason}")

        # 2. What is due, into run requests.
        due_names = {n for a in config.automations if not a.disabled for n in a.report_types if n in loaded}
        try:
            retries = retry_days(airtable, config, due_names, now) if _any_due(config, after, now) else {}
        except AirtableUnavailable:
            retries = {}
        last = {n: _last_partition(rt, now) for n, rt in loaded.items() if rt.partitioned}
        plan = plan_tick(config, after=after, now=now, loaded=set(loaded), retry_days=retries, last_partition=last)
        for level, event, summary in plan.log_lines:
            writer.log(records.log_record(summary, level=level, event=event))
        for automation, fired in plan.due:
            writer.log(records.log_record(f"Automation '{automation.name}' due at {fired.isoformat(timespec='minutes')}", event="automation fired"))
        for missed in plan.missed:  # older than the catch-up bound: Fail checked, so it shows in Failed Reports
            writer.report(records.report_missed(report_name=missed.report, report_date=missed.day, due_at=missed.fired_at))
        if plan.missed:
            writer.log(records.log_record(f"{len(plan.missed)} missed day(s) not caught up (older than {CATCH_UP.days} days); "
                                          "marked Fail in Reports", level="WARNING", event="missed days",
                                          details=", ".join(f"{m.report} {m.day}" for m in plan.missed)[:5000]))
        writer.flush()

        state.update(after=now.isoformat(), automations=summaries if config.origin == "airtable" else state.get("automations", summaries),
                     problems=sorted(str(p) for p in config.problems) if config.origin == "airtable" else state.get("problems", []))
        return dg.SensorResult(
            run_requests=[run_request(launch, jobs[launch.report].name, loaded[launch.report].source) for launch in plan.launches],
            cursor=json.dumps(state),
        )

    return airtable_automations

def _any_due(config: SyncConfig, after: datetime, now: datetime) -> bool:
    from paperplan_sync.automation.timing import latest_fire_time

    return any(latest_fire_time(a, after, now) for a in config.automations)

def _last_partition(rt, now: datetime) -> date | None:
    keys = partitions_for(rt).get_partition_keys(current_time=now)
    return parse_day(keys[-1]) if keys else None

def _notify(slack: SlackResource, context, text: str) -> None:
    try:
        slack.post(text)
    except Exception as exc:  # Slack down must not stop scheduling; the Logs record is written anyway
        context.log.warning(f"Slack post failed: {exc}")
