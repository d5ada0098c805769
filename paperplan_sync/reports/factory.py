"""One software-defined asset per active report type in the Airtable configuration."""

# No `from __future__ import annotations`: Dagster inspects the asset function's context annotation.
import contextlib
import threading
import warnings
from collections.abc import Iterator
from concurrent.futures import Future
from dataclasses import dataclass, field
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
from paperplan_sync.reports.outcomes import DayVerdict, day_verdict, run_failure
from paperplan_sync.reports.partitions import day_key, local_today, parse_day, partitions_for, repeat_window_closed
from paperplan_sync.sources import registry
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
SOURCE_KINDS = {name: source.dagster_kind or name for name, source in registry.sources().items()}


def asset_key(report_type: ReportType) -> dg.AssetKey:
    return dg.AssetKey([report_type.source, report_type.name])


def build_report_assets(config: SyncConfig) -> list[dg.AssetsDefinition]:
    return [build_report_asset(rt) for rt in config.active_report_types]


def report_job_name(report_type: ReportType) -> str:
    """Report types with the same source and partitioning share a job (a run selects one asset of it):
    a few jobs instead of one per type keeps the code location quick to load with hundreds of types."""
    if report_type.real_time:
        return f"{report_type.source}__snapshots"
    tz = report_type.zone.token  # utcminus7 for -7, as before; america_los_angeles for a name
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
            f"({report_type.zone.label})"
            + (f" and re-pulls the {report_type.repeat_days} days before it" if report_type.repeat_days else "")
        )
    )
    text = report_type.description or report_type.name
    return f"{text}\n\n{kind}. API report type `{report_type.report_type_id}` from `{report_type.source}`."


@dataclass
class ReportRun:
    """One run of a report asset: its report type, resources and clock, and what happened to each day."""

    context: dg.AssetExecutionContext
    report_type: ReportType
    writer: AirtableWriter
    source: Any
    db: Any
    run_url: str
    now: datetime = field(default_factory=lambda: datetime.now(UTC))
    done: list[DayResult] = field(default_factory=list)
    failed: list[tuple[Chunk, Exception]] = field(default_factory=list)  # a failed report fails each day it covers
    day_failures: list[tuple[str, BaseException]] = field(default_factory=list)  # one day of a range not stored

    def label(self, day: date | None) -> str:
        """A day's key; a snapshot is labelled with its local day."""
        return day_key(day or local_today(self.report_type, self.now))


def materialize_report(context: dg.AssetExecutionContext, report_type: ReportType):
    """Plan the reports, request them in the background, store and record each as it is ready, then finish."""
    source, db = getattr(context.resources, report_type.source), context.resources.mongo.db()
    chunks = plan_reports(context, report_type)
    with AirtableWriter(db, context.resources.airtable, background=True) as writer:
        run = ReportRun(context, report_type, writer, source, db, _run_url(context.run.run_id))
        with requested_in_background(run.source, chunks) as requested:
            for chunk, request in zip(chunks, requested, strict=True):
                store_and_record(run, chunk, request)
        flushed = writer.flush()
    if flushed.stopped_by:
        context.log.warning(
            f"Airtable unavailable, {len(run.done)} Reports update(s) kept in the outbox: {flushed.stopped_by}"
        )
    return finish(run)


def plan_reports(context: dg.AssetExecutionContext, report_type: ReportType) -> list[Chunk]:
    """The fewest reports that cover the run's days (one per range for a type the catalog can split by day)."""
    days = [parse_day(k) for k in context.partition_keys] if report_type.partitioned else [None]
    return plan_chunks(report_type, days)


@contextlib.contextmanager
def requested_in_background(source, chunks: list[Chunk]) -> Iterator[list[Future]]:
    """Every report requested up front, in order, by one background thread (the API prepares them in
    parallel): each future holds a report's id as soon as its request is in, so request throttling overlaps
    the loads. A daemon thread, not an executor: it may sleep out Amazon's 15 minutes between two Sales and
    Traffic requests, and a terminated run must not wait for that to end."""
    requested: list[Future] = [Future() for _ in chunks]
    stop = threading.Event()
    requester = threading.Thread(
        target=_request_all, args=(source, chunks, requested, stop), name="request-reports", daemon=True
    )
    requester.start()
    try:
        yield requested
    finally:
        stop.set()
        requester.join(timeout=5.0)  # done by now unless it is sleeping out Amazon's spacing


def _request_all(source, chunks: list[Chunk], requested: list[Future], stop: threading.Event) -> None:
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


def store_and_record(run: ReportRun, chunk: Chunk, request: Future) -> None:
    """Store one report's days (a single day streams straight into storage; a range is split into its days),
    then record each day. One bad report must not stop the others in a backfill."""
    rt = run.report_type
    try:
        outcomes = list(
            load_chunk(
                rt, chunk, source=run.source, db=run.db, run_id=run.context.run.run_id, api_report_id=request.result()
            )
        )
    except Exception as exc:
        run.context.log.error(f"{rt.name} {chunk.label} failed: {exc}")
        run.failed.append((chunk, exc))
        return
    nothing = all(isinstance(o, DayResult) and o.empty for _, o in outcomes)
    for day, outcome in outcomes:
        record_day(run, day, outcome, nothing=nothing)


def record_day(run: ReportRun, day: date | None, outcome: DayResult | Exception, *, nothing: bool) -> None:
    """What outcomes.day_verdict says of one day, into the run's tally, the log and Airtable."""
    rt, key, log = run.report_type, run.label(day), run.context.log
    verdict = day_verdict(outcome, nothing=nothing, empty_is_ok=rt.empty_is_ok, notify_on_fail=rt.notify_on_fail)
    if isinstance(outcome, Exception):  # DayVerdict.FAILED
        log.error(f"{rt.name} {key} failed: {outcome}")
        run.day_failures.append((key, outcome))
    elif verdict in (DayVerdict.EMPTY, DayVerdict.EMPTY_FAILS):
        log.warning(f"{rt.name} {key}: {records.EMPTY_REASON}")
        _record_empty(run.writer, rt, key, outcome, run_url=run.run_url)
        if verdict is DayVerdict.EMPTY_FAILS:
            run.day_failures.append((key, ReportFailed(records.EMPTY_REASON, api_report_id=outcome.api_report_id)))
        else:
            run.done.append(outcome)
    else:
        run.done.append(outcome)
        log.info(f"{rt.name} {key}: {outcome.rows} rows, {outcome.quarantined} quarantined, load {outcome.load_id}")
        kept = get_load(run.db, outcome.kept_load_id) if outcome.kept_rows and outcome.kept_load_id else None
        _record_success(run.writer, rt, day, key, outcome, run_url=run.run_url, now=run.now, kept=kept)


def finish(run: ReportRun) -> dg.MaterializeResult:
    """The run's result: its days' metadata and checks, or (any day failed) a failure naming the days, after
    materializing the days that did load."""
    rt = run.report_type
    failure = run_failure(
        rt.name,
        failed_reports=[(chunk.label, [run.label(d) for d in chunk.days], exc) for chunk, exc in run.failed],
        failed_days=run.day_failures,
        stored={r.report_date for r in run.done},
    )
    if failure:
        for result in run.done:  # the days that did load still count as materialized
            run.context.log_event(
                dg.AssetMaterialization(
                    asset_key=run.context.asset_key,
                    partition=result.report_date,
                    metadata=_metadata(rt, [result], run.context),
                )
            )
        raise dg.Failure(
            description=failure.description, metadata={"failed_days": failure.days}, allow_retries=failure.retryable
        )
    done = sorted(run.done, key=lambda r: r.report_date or "")  # days may load newest first (plan_chunks)
    quality_checks, plots = quality.evaluate(run.context, rt, done)  # reports only: never fails the load
    return dg.MaterializeResult(
        metadata={**_metadata(rt, done, run.context), **plots},
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
            api_report_id=result.api_report_id,
            run_url=run_url,
            repeat_done=day is not None and repeat_window_closed(report_type, day, now),
            now=now,
            note=note,
            **(_kept_figures(kept, result) if kept else _loaded_figures(result)),
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
        assert report_type.airtable_table is not None  # parse.py requires it with this destination
        writer.mirror(
            report=report_type.name,
            report_date=result.report_date,
            table=report_type.airtable_table,
            key_fields=report_type.airtable_key_fields,
        )


def _loaded_figures(result: DayResult) -> dict:
    return {"load_id": result.load_id, "rows": result.rows, "quarantined": result.quarantined, "loaded_at": None}


def _kept_figures(kept: dict, result: DayResult) -> dict:
    """The figures of the load an empty re-pull kept: its id, rows, quarantined rows and when it loaded."""
    finished = kept.get("finished_at")
    return {
        "load_id": str(kept["_id"]),
        "rows": result.kept_rows,
        "quarantined": kept.get("quarantined_rows", 0),
        "loaded_at": finished.replace(tzinfo=UTC) if finished else None,
    }


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
