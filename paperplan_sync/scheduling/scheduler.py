"""The scheduler: automations from Airtable, launching report runs when due.

A sensor rather than Dagster schedules, so an edit in Airtable (time, Disable, report list, a new
automation) takes effect at the next tick without reloading anything, and lands in Logs. A tick reads
Airtable only when the configuration changed (a webhook ping or payload, see control_plane/changes.py):
otherwise it schedules from the configuration's shared snapshot, at no API cost. What a tick launches is
decided by the pure ``plan.plan_tick``; this module reads, writes and posts around it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, date, datetime

import dagster as dg
from pyairtable.formulas import AND, BLANK, EQ, NOT, OR, Field

from paperplan_sync import clock, settings
from paperplan_sync.alerting.slack import SlackResource
from paperplan_sync.config.loader import current_config, load_config
from paperplan_sync.config.models import SyncConfig
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.airtable import AirtableResource, AirtableUnavailable
from paperplan_sync.control_plane.changes import Changes, ChangeWatcher, change_settings
from paperplan_sync.control_plane.schema import CONFIG_TABLES, TABLE_REPORTS
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.ops import graphql
from paperplan_sync.reports.factory import AssetJob
from paperplan_sync.reports.partitions import parse_day, partitions_for, repeat_window_closed
from paperplan_sync.scheduling.plan import (
    CATCH_UP,
    Launch,
    TickPlan,
    anything_due,
    automation_summary,
    changed_schedules,
    config_changes,
    plan_tick,
)
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
    try:
        outcome = graphql.reload_location(webserver_url, settings.CODE_LOCATION_NAME)
    except graphql.GraphQLError as exc:  # the webserver restarting, say: the next tick asks again
        return f"reload request failed: {exc}"
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


@dataclass(frozen=True)
class Loaded:
    """What the running code location was built from: its report types, their jobs and signature."""

    config: SyncConfig
    jobs: dict[str, AssetJob]

    @property
    def report_types(self) -> dict:
        return {rt.name: rt for rt in self.config.active_report_types}

    @property
    def signature(self) -> str:
        return asset_signature(self.config)


@dataclass
class Tick:
    """One evaluation: its clock, the cursor's state (changed in place) and the I/O it may do."""

    context: dg.SensorEvaluationContext
    airtable: AirtableResource
    slack: SlackResource
    writer: AirtableWriter
    state: dict
    now: datetime

    @property
    def first(self) -> bool:
        return "after" not in self.state

    @property
    def after(self) -> datetime:
        return datetime.fromisoformat(self.state["after"]) if self.state.get("after") else self.now

    def log(self, summary: str, *, event: str, level: str = "INFO", details: str | None = None) -> None:
        self.writer.log(records.log_record(summary, level=level, event=event, details=details or ""))

    def notify(self, text: str) -> None:
        try:
            self.slack.post(text)
        except Exception as exc:  # Slack down must not stop scheduling; the Logs record is written anyway
            self.context.log.warning(f"Slack post failed: {exc}")


def build_scheduler_sensor(loaded_config: SyncConfig, jobs: dict[str, AssetJob]) -> dg.SensorDefinition:
    loaded = Loaded(loaded_config, jobs)

    @dg.sensor(
        name="airtable_automations",
        description="Launches due reports from the Automations in Airtable; reads Airtable only when its "
        "configuration changed (webhook ping or payload), logs every change.",
        minimum_interval_seconds=settings.SCHEDULER_TICK_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        jobs=list({job.name: job for job in jobs.values()}.values()) or None,
    )
    def airtable_automations(
        context: dg.SensorEvaluationContext, airtable: AirtableResource, mongo: MongoResource, slack: SlackResource
    ):
        state = json.loads(context.cursor) if context.cursor else {}
        tick = Tick(context, airtable, slack, AirtableWriter(mongo.db(), airtable), state, clock.now())
        return scheduler_tick(tick, loaded)

    return airtable_automations


def scheduler_tick(tick: Tick, loaded: Loaded) -> dg.SensorResult:
    """Read what changed, log it, plan what is due, write the plan's records, request its runs."""
    config, changes = read_configuration(
        tick.airtable, ChangeWatcher(tick.airtable, change_settings()), tick.now, tick.context
    )
    if changes is not None:
        tick.context.log.info(f"Airtable read ({changes.reason}): changed {sorted(changes.tables) or 'nothing'}")
        if TABLE_REPORTS in changes.tables:
            tick.state["reports_changed"] = True
    summaries = {a.record_id: automation_summary(a) for a in config.automations}
    if config.origin != "none":
        log_configuration(tick, config, summaries)
        reload_if_changed(tick, config, loaded)
    alert_quota_once(tick)
    urgent = tick.writer.enqueued > 0  # an edit is in effect when its Logs record lands: send it now

    edited_at = {} if tick.first else schedule_edits(tick, config, changes, summaries)
    plan = plan_tick(
        config,
        after=tick.after,
        now=tick.now,
        loaded=set(loaded.report_types),
        retry_days=due_retries(tick, config, loaded, edited_at),
        last_partition=last_partitions(loaded, tick.now),
        edited_at=edited_at,
    )
    write_plan(tick, plan)
    if urgent or plan.missed:  # else the outbox sensor sends them within a minute, batched with the runs' records
        tick.writer.flush()
    save_state(tick, config, summaries)
    types = loaded.report_types
    requests_ = [run_request(ln, loaded.jobs[ln.report].name, types[ln.report].source) for ln in plan.launches]
    return dg.SensorResult(run_requests=requests_, cursor=json.dumps(tick.state))


def log_configuration(tick: Tick, config: SyncConfig, summaries: dict[str, dict]) -> None:
    """Logs: the start, each Automations change as a sentence, each new validation problem (also to Slack)."""
    if tick.first:
        tick.log(
            f"Scheduler started: {len(config.automations)} automation(s), "
            f"{len(config.active_report_types)} active report type(s)",
            event="config",
        )
    else:
        for line in config_changes(tick.state.get("automations", {}), summaries):
            tick.log(line, event="config change")
            tick.context.log.info(line)
    new_problems = sorted({str(p) for p in config.problems} - set(tick.state.get("problems", [])))
    for problem in new_problems:
        tick.log(f"Configuration problem: {problem}"[:250], level="WARNING", event="config problem", details=problem)
    if new_problems:
        tick.notify(
            "Configuration problem in Airtable (these rows are skipped until fixed):\n"
            + "\n".join(f"• {p}" for p in new_problems)
        )


def reload_if_changed(tick: Tick, config: SyncConfig, loaded: Loaded) -> None:
    """Report Types that shape assets changed: ask the webserver to reload, once per new signature."""
    signature = asset_signature(config)
    if signature in (loaded.signature, tick.state.get("reload_requested_for")):
        return
    problem = request_reload(tick.slack.webserver_url)
    tick.log(f"Report Types changed: reloading the code location ({problem or 'requested'})", event="config change")
    if problem is None:  # a failed request is asked again at the next tick
        tick.state["reload_requested_for"] = signature


def schedule_edits(
    tick: Tick, config: SyncConfig, changes: Changes | None, summaries: dict[str, dict]
) -> dict[str, datetime]:
    """Automations whose schedule changed this tick, with when the edit was made (the payload's time, else
    the previous check): the plan launches late what such an edit made due before this tick saw it. Edit
    times read while the tables could not be (the cached configuration served) wait for the next read."""
    edits = {**tick.state.get("pending_edits", {}), **(changes.edited_at if changes else {})}
    if config.origin == "cache" and edits:
        tick.state["pending_edits"] = edits
    elif config.origin == "airtable":
        tick.state.pop("pending_edits", None)
    if changes is None:
        return {}
    fallback = changes.since if changes.since is not None else tick.after.timestamp()
    changed = changed_schedules(tick.state.get("automations", {}), summaries)
    return {rid: datetime.fromtimestamp(edits.get(rid, fallback), UTC) for rid in changed}


def due_retries(
    tick: Tick, config: SyncConfig, loaded: Loaded, edited_at: dict[str, datetime]
) -> dict[str, list[date]]:
    """Failed days people asked to repeat (Fail unchecked). Reports only change under us when people uncheck
    Fail (the webhook tells) or a re-pull window closes (a matter of days): query on a change or once a day,
    and only when something is due."""
    if not anything_due(config, after=tick.after, now=tick.now, edited_at=edited_at):
        return {}
    today = tick.now.date().isoformat()
    if not tick.state.get("reports_changed", True) and tick.state.get("retries_checked_on") == today:
        return {}
    names = {n for a in config.automations if not a.disabled for n in a.report_types if n in loaded.report_types}
    try:
        retries = retry_days(tick.airtable, config, names, tick.now)
    except AirtableUnavailable:
        return {}
    tick.state.update(reports_changed=False, retries_checked_on=today)
    return retries


def last_partitions(loaded: Loaded, now: datetime) -> dict[str, date | None]:
    """The newest partition that exists per daily report type: a run never targets a later day."""
    out = {}
    for name, rt in loaded.report_types.items():
        if rt.partitioned and (partitions := partitions_for(rt)) is not None:
            keys = partitions.get_partition_keys(current_time=now)
            out[name] = parse_day(keys[-1]) if keys else None
    return out


def write_plan(tick: Tick, plan: TickPlan) -> None:
    """Logs for every due automation and skipped or late fire; missed days into Reports (Fail checked)."""
    for level, event, summary in plan.log_lines:
        tick.log(summary, level=level, event=event)
    for automation, fired in plan.due:
        tick.log(
            f"Automation '{automation.name}' due at {fired.isoformat(timespec='minutes')}", event="automation fired"
        )
    for missed in plan.missed:  # older than the catch-up bound: Fail checked, so it shows in Failed Reports
        tick.writer.report(
            records.report_missed(report_name=missed.report, report_date=missed.day, due_at=missed.fired_at)
        )
    if plan.missed:
        tick.log(
            f"{len(plan.missed)} missed day(s) not caught up (older than {CATCH_UP.days} days); marked Fail in Reports",
            level="WARNING",
            event="missed days",
            details=", ".join(f"{m.report} {m.day}" for m in plan.missed)[:5000],
        )


def save_state(tick: Tick, config: SyncConfig, summaries: dict[str, dict]) -> None:
    """The cursor: this tick's time and what the configuration looked like (kept as it was when Airtable
    could not be read at all, so a later read still reports the changes)."""
    keep = config.origin == "none"
    tick.state.update(
        after=tick.now.isoformat(),
        automations=tick.state.get("automations", summaries) if keep else summaries,
        problems=tick.state.get("problems", []) if keep else sorted(str(p) for p in config.problems),
    )


def alert_quota_once(tick: Tick) -> None:
    """One Slack message and one Logs record per month when Airtable's monthly quota is used up."""
    limiter = tick.airtable.limiter
    if limiter.usage().quota_exceeded and limiter.first_this_month("quota_alerted"):
        tick.log(
            "Airtable monthly API quota used up: running at 2 requests/s until the month ends",
            level="WARNING",
            event="airtable quota",
        )
        tick.notify(QUOTA_ALERT)
