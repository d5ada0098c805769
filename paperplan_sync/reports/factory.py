"""One software-defined asset per active report type in the Airtable configuration."""

# No `from __future__ import annotations`: Dagster inspects the asset function's context annotation.
import threading
import warnings
from concurrent.futures import Future
from datetime import UTC, date, datetime
from typing import Any

import dagster as dg

from paperplan_sync import settings
from paperplan_sync.config.models import ReportType, SyncConfig
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.reports import quality
from paperplan_sync.reports.checks import CHECK_SPECS, check_results
from paperplan_sync.reports.load import Chunk, DayResult, kind_for, load_chunk, plan_chunks, splits_by_day
from paperplan_sync.reports.partitions import day_key, local_today, parse_day, partitions_for, repeat_window_closed
from paperplan_sync.sources.base import ReportFailed
from paperplan_sync.storage.loads import get_load

# Transient errors (throttling, 5xx, timeouts) are retried inside the run, so Slack hears only of real failures.
RETRY_POLICY = dg.RetryPolicy(max_retries=2, delay=20, backoff=dg.Backoff.EXPONENTIAL, jitter=dg.Jitter.PLUS_MINUS)
# A backfill groups days into few runs; a run requests its days in as few reports as the API allows
# (reports/catalog.py) and stores each day as its own load. A run of a splittable type covers exactly one
# report's range, so 90 days are 3 runs of one report each.
BACKFILL_DAYS_PER_RUN = 31
# A type whose createReport Amazon spaces out (Sales and Traffic: one per 15 minutes) waits that long per day:
# a backfill run of it covers at most 2 h of such waits. Two runs per API may run at once and then share
# Amazon's turns, so a run may take twice that: still inside run monitoring's 6 h limit (deploy/dagster.yaml
# max_runtime_seconds). 90 days are 12 runs of 8 days rather than 3 runs killed half-way.
BACKFILL_RUN_WAIT_MAX_S = 2 * 3600
# backfill_policy is "beta" in the pinned Dagster; its warning, re-printed for every asset (Dagster resets the
# warnings registry), would fill the code server's log and slow loading a large configuration.
warnings.filterwarnings("ignore", message="Parameter `backfill_policy`", category=dg.BetaWarning)
SOURCE_KINDS = {"amazon_sp": "amazon", "amazon_ads": "amazon"}


def asset_key(report_type: ReportType) -> dg.AssetKey:
    return dg.AssetKey([report_type.source, report_type.name])


def build_report_assets(config: SyncConfig) -> list[dg.AssetsDefinition]:
    return [build_report_asset(rt) for rt in config.active_report_types]


def report_job_name(report_type: ReportType) -> str:
    """Report types with the same source and partitioning share a job (a run selects one asset of it):
    a few jobs instead of one per type keeps the code location quick to load with hundreds of types."""
    if report_type.real_time:
        return f"{report_type.source}__snapshots"
    tz = f"utc{report_type.timezone_offset:+d}".replace("+", "plus").replace("-", "minus")
    end = "_today" if report_type.offset_days == 0 else ""
    return f"{report_type.source}__daily_from_{report_type.start_date:%Y%m%d}_{tz}{end}"


# What dg.define_asset_job returns: its class is not public API, and only Definitions and the job's name use it.
AssetJob = Any


def build_report_jobs(config: SyncConfig) -> dict[str, AssetJob]:
    """What the scheduler launches, keyed by report type name (several names may share one job)."""
    groups: dict[str, list[ReportType]] = {}
    for rt in config.active_report_types:
        groups.setdefault(report_job_name(rt), []).append(rt)
    jobs = {
        name: dg.define_asset_job(
            name,
            selection=dg.AssetSelection.assets(*(asset_key(rt) for rt in types)),
            description="Report types: " + ", ".join(rt.name for rt in types),
            tags={"paperplan/api": types[0].source},
        )
        for name, types in groups.items()
    }
    return {rt.name: jobs[report_job_name(rt)] for rt in config.active_report_types}


def build_report_asset(report_type: ReportType) -> dg.AssetsDefinition:
    key = asset_key(report_type)
    partitions = partitions_for(report_type)
    kinds = {SOURCE_KINDS.get(report_type.source, report_type.source), "mongodb"}
    if "Airtable" in report_type.destinations:
        kinds.add("airtable")

    @dg.asset(
        key=key,
        group_name=report_type.source,
        description=_description(report_type),
        partitions_def=partitions,
        backfill_policy=_backfill_policy(report_type) if partitions else None,
        kinds=kinds,
        tags={
            "paperplan/source": report_type.source,
            "paperplan/kind": "snapshot" if report_type.real_time else "daily",
        },
        metadata={
            "report_type_id": report_type.report_type_id,
            "airtable_record_id": report_type.record_id,
            "offset_days": report_type.offset_days,
            "repeat_days": report_type.repeat_days,
            "notify_on_fail": report_type.notify_on_fail,
        },
        check_specs=[
            *(dg.AssetCheckSpec(name, asset=key, description=text) for name, text in CHECK_SPECS.items()),
            *quality.check_specs(report_type, key, partitions),
        ],
        retry_policy=RETRY_POLICY,
        required_resource_keys={report_type.source, "mongo", "airtable", "slack"},  # slack: quality alerts
        op_tags={"paperplan/api": report_type.source},
        pool=report_type.source,  # per-API concurrency across runs (deploy/dagster.yaml: concurrency.pools)
    )
    def report_asset(context: dg.AssetExecutionContext):
        return materialize_report(context, report_type)

    return report_asset


def _backfill_policy(report_type: ReportType) -> dg.BackfillPolicy:
    kind = kind_for(report_type)
    per_run = kind.max_range_days if splits_by_day(report_type) else BACKFILL_DAYS_PER_RUN
    if kind.create_every_s:
        per_run = max(1, min(per_run, int(BACKFILL_RUN_WAIT_MAX_S // kind.create_every_s)))
    return dg.BackfillPolicy.multi_run(max_partitions_per_run=per_run)


def _description(report_type: ReportType) -> str:
    kind = (
        "Snapshot of current state"
        if report_type.real_time
        else (
            f"Daily report; a run pulls today minus {report_type.offset_days} day(s) "
            f"(UTC{report_type.timezone_offset:+d})"
            + (f" and re-pulls the {report_type.repeat_days} days before it" if report_type.repeat_days else "")
        )
    )
    text = report_type.description or report_type.name
    return f"{text}\n\n{kind}. API report type `{report_type.report_type_id}` from `{report_type.source}`."


def materialize_report(context: dg.AssetExecutionContext, report_type: ReportType):
    source = getattr(context.resources, report_type.source)
    db = context.resources.mongo.db()
    run_url = _run_url(context.run.run_id)
    now = datetime.now(UTC)
    days = [parse_day(k) for k in context.partition_keys] if report_type.partitioned else [None]

    done: list[DayResult] = []
    failed: list[tuple[Chunk, Exception]] = []  # a failed report fails every day it covers, once
    day_failures: list[tuple[str, Exception]] = []  # one day of a range that could not be stored

    def label(day: date | None) -> str:  # a snapshot is labelled with its local day
        return day_key(day or local_today(report_type, now))

    # The fewest reports that cover the run's days (one per range for a type the catalog can split by day),
    # all requested up front, in order, by one background thread (the API prepares them in parallel); each
    # loads as soon as its request is in, so request throttling overlaps the loads.
    chunks = plan_chunks(report_type, days)
    requested: list[Future] = [Future() for _ in chunks]
    stop = threading.Event()

    def request_all() -> None:
        outcomes = source.request_reports([chunk.request for chunk in chunks])
        try:
            # Not strict: the source's generator is left where the loop stops; the finally cancels unanswered futures.
            for future, outcome in zip(requested, outcomes, strict=False):
                if stop.is_set():
                    break
                if isinstance(outcome, BaseException):
                    future.set_exception(outcome)
                else:
                    future.set_result(outcome)
        finally:
            outcomes.close()
            for future in requested:
                future.cancel()  # only the ones never answered: a cancelled run requests nothing more

    # A daemon thread, not an executor: it may sleep out Amazon's 15 minutes between two Sales and Traffic
    # requests, and a terminated run must not wait for that to end.
    requester = threading.Thread(target=request_all, name="request-reports", daemon=True)
    with AirtableWriter(db, context.resources.airtable, background=True) as writer:
        requester.start()
        try:
            for chunk, request in zip(chunks, requested, strict=True):
                try:
                    # A single-day chunk streams straight into storage; a range is split into its days.
                    outcomes = list(
                        load_chunk(
                            report_type,
                            chunk,
                            source=source,
                            db=db,
                            run_id=context.run.run_id,
                            api_report_id=request.result(),
                        )
                    )
                except Exception as exc:  # one bad report must not stop the others in a backfill
                    context.log.error(f"{report_type.name} {chunk.label} failed: {exc}")
                    failed.append((chunk, exc))
                    continue
                # The report came back empty (CANCELLED or no rows): a day it would wipe keeps its rows
                # (storage does that); a day without rows yet is the runbook's scenario 2, unless Empty Is OK.
                nothing = all(isinstance(o, DayResult) and o.empty for _, o in outcomes)
                for day, outcome in outcomes:
                    key = label(day)
                    if isinstance(outcome, Exception):
                        context.log.error(f"{report_type.name} {key} failed: {outcome}")
                        day_failures.append((key, outcome))
                        continue
                    if nothing and not outcome.kept_rows and not report_type.empty_is_ok:
                        context.log.warning(f"{report_type.name} {key}: {records.EMPTY_REASON}")
                        _record_empty(writer, report_type, key, outcome, run_url=run_url)
                        if report_type.notify_on_fail:  # fails the day, so the failure alert (once) follows
                            day_failures.append(
                                (key, ReportFailed(records.EMPTY_REASON, api_report_id=outcome.api_report_id))
                            )
                            continue
                        done.append(outcome)
                        continue
                    done.append(outcome)
                    context.log.info(
                        f"{report_type.name} {key}: {outcome.rows} rows, "
                        f"{outcome.quarantined} quarantined, load {outcome.load_id}"
                    )
                    _record_success(
                        writer,
                        report_type,
                        day,
                        key,
                        outcome,
                        run_url=run_url,
                        now=now,
                        kept=get_load(db, outcome.kept_load_id) if outcome.kept_rows else None,
                    )
        finally:
            stop.set()
            requester.join(timeout=5.0)  # done by now unless it is sleeping out Amazon's spacing

        flushed = writer.flush()
    if flushed.stopped_by:
        context.log.warning(
            f"Airtable unavailable, {len(done)} Reports update(s) kept in the outbox: {flushed.stopped_by}"
        )

    stored = {r.report_date for r in done}
    failed_days = [label(d) for chunk, _ in failed for d in chunk.days if label(d) not in stored]
    failed_days += [key for key, _ in day_failures]
    if failed_days:
        for result in done:  # the days that did load still count as materialized
            context.log_event(
                dg.AssetMaterialization(
                    asset_key=context.asset_key,
                    partition=result.report_date,
                    metadata=_metadata(report_type, [result], context),
                )
            )
        summary = "; ".join(
            [f"{chunk.label}: {exc}" for chunk, exc in failed] + [f"{key}: {exc}" for key, exc in day_failures]
        )
        errors = [exc for _, exc in failed] + [exc for _, exc in day_failures]
        retryable = not all(isinstance(exc, ReportFailed) for exc in errors)
        raise dg.Failure(
            description=f"Report {report_type.name} failed for {len(failed_days)} day(s): {summary}",
            metadata={"failed_days": failed_days},
            allow_retries=retryable,
        )

    done.sort(key=lambda r: r.report_date or "")  # days may load newest first (plan_chunks)
    quality_checks, plots = quality.evaluate(context, report_type, done)  # reports only: never fails the load
    return dg.MaterializeResult(
        metadata={**_metadata(report_type, done, context), **plots},
        check_results=[*check_results(done), *quality_checks],
    )


def _record_empty(
    writer: AirtableWriter, report_type: ReportType, report_date: str, result: DayResult, *, run_url: str
) -> None:
    writer.report(
        records.report_empty(
            report_name=report_type.name,
            report_date=report_date,
            real_time=report_type.real_time,
            fail=report_type.notify_on_fail,
            api_report_id=result.api_report_id,
            run_url=run_url,
        )
    )
    writer.log(
        records.log_record(
            f"Report {report_type.name} {report_date}: {records.EMPTY_REASON}",
            level="WARNING",
            event="empty report",
            report_type=report_type.name,
        )
    )


def _record_success(
    writer: AirtableWriter,
    report_type: ReportType,
    day: date | None,
    report_date: str,
    result: DayResult,
    *,
    run_url: str,
    now: datetime,
    kept: dict | None = None,
) -> None:
    """The day's Reports record (and its Airtable mirror, when the type has one), through the outbox.

    ``kept``: the load whose rows an empty re-pull left in place; the record still describes those rows."""
    note = f"re-pull returned no data; kept {result.kept_rows} rows" if kept else ""
    writer.report(
        records.report_success(
            report_name=report_type.name,
            report_date=report_date,
            real_time=report_type.real_time,
            load_id=str(kept["_id"]) if kept else result.load_id,
            rows=result.kept_rows if kept else result.rows,
            quarantined=kept.get("quarantined_rows", 0) if kept else result.quarantined,
            api_report_id=result.api_report_id,
            run_url=run_url,
            repeat_done=day is not None and repeat_window_closed(report_type, day, now),
            now=now,
            note=note,
            loaded_at=kept.get("finished_at").replace(tzinfo=UTC) if kept and kept.get("finished_at") else None,
        )
    )
    if kept:
        writer.log(
            records.log_record(
                f"Report {report_type.name} {report_date}: {note}",
                level="WARNING",
                event="empty re-pull",
                report_type=report_type.name,
            )
        )
    if "Airtable" in report_type.destinations:
        writer.mirror(
            report=report_type.name,
            report_date=result.report_date,
            table=report_type.airtable_table,
            key_fields=report_type.airtable_key_fields,
        )


def _metadata(report_type: ReportType, results: list[DayResult], context) -> dict:
    last = results[-1]
    meta: dict = {
        "rows": dg.MetadataValue.int(sum(r.rows for r in results)),
        "quarantined_rows": dg.MetadataValue.int(sum(r.quarantined for r in results)),
        "columns": dg.MetadataValue.json(last.columns),
        "collection": report_type.name,
        "load_id": last.load_id,
        "api_report_id": last.api_report_id,
        "airtable_reports": dg.MetadataValue.url(_airtable_reports_url(context)),
    }
    if len(results) > 1:
        table = "| Date | Rows | Quarantined | Load id |\n|---|---|---|---|\n" + "\n".join(
            f"| {r.report_date} | {r.rows} | {r.quarantined} | {r.load_id} |" for r in results
        )
        meta["days"] = dg.MetadataValue.md(table)
    return meta


def _run_url(run_id: str) -> str:
    """The run's page where people open the UI (PAPERPLAN_UI_URL behind the login proxy)."""
    return f"{settings.ui_url().rstrip('/')}/runs/{run_id}"


def _airtable_reports_url(context) -> str:
    airtable = context.resources.airtable
    if "api.airtable.com" in airtable.endpoint_url:
        return f"https://airtable.com/{airtable.base_id}"
    return f"{airtable.endpoint_url.rstrip('/')}/v0/{airtable.base_id}/Reports"
