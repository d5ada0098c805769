"""Reports into MongoDB, one day at a time: request -> wait -> rows -> an atomic replace per day, with the
numbers the asset checks and the Airtable Reports record need. A report type the catalog marks splittable is
requested as one report per range (up to its maximum) and its rows are split into days by their own date
column. Free of Dagster so it reads (and tests) plainly."""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta, tzinfo
from typing import Protocol

from pymongo.database import Database

from paperplan_sync.config.models import ReportType
from paperplan_sync.quality.profile import DayProfile, DayProfiler
from paperplan_sync.reports.catalog import ReportKind, kind_of
from paperplan_sync.reports.partitions import day_key, local_today
from paperplan_sync.reports.transforms import DatapointAccumulator, DuplicateKeyCounter
from paperplan_sync.sources.base import (
    QuarantinedRow,
    ReportRequest,
    ReportSource,
    RowBatch,
    RowStream,
)
from paperplan_sync.storage import loads

log = logging.getLogger(__name__)


@dataclass
class DayResult:
    report_name: str
    report_date: str | None  # None for a real-time snapshot
    load_id: str
    api_report_id: str
    cancelled: bool
    rows: int
    quarantined: int
    columns: list[str]
    duplicate_keys: int = 0
    duplicate_examples: list[tuple] = field(default_factory=list)
    columns_added: list[str] = field(default_factory=list)
    columns_removed: list[str] = field(default_factory=list)
    previous_load_id: str | None = None
    datapoints: int = 0
    kept_rows: int = 0  # an empty re-pull left this many rows of ``kept_load_id`` in place
    kept_load_id: str | None = None
    profile: DayProfile | None = None  # the stored rows' figures for the quality checks (reports/quality.py)

    @property
    def empty(self) -> bool:
        return self.rows == 0


def request_for(report_type: ReportType, day: date | None, end_day: date | None = None) -> ReportRequest:
    return ReportRequest(
        report_type_id=report_type.report_type_id,
        day=day,
        tz=report_type.zone.tzinfo,
        options=dict(report_type.report_options),
        end_day=end_day if end_day != day else None,
    )


def kind_for(report_type: ReportType) -> ReportKind:
    return kind_of(report_type.report_type_id, report_type.source)


def splits_by_day(report_type: ReportType) -> bool:
    """One report may cover many days: the catalog says so, and no option asks for totals over the range."""
    return kind_for(report_type).splittable and report_type.report_options.get("timeUnit", "").upper() != "SUMMARY"


@dataclass(frozen=True)
class Chunk:
    """Contiguous days fetched as one report (one day for a type that cannot be split; None: a snapshot)."""

    days: tuple[date | None, ...]
    request: ReportRequest

    @property
    def label(self) -> str:
        first, last = self.days[0], self.days[-1]
        if first is None or last is None:
            return "snapshot"
        return day_key(first) if first == last else f"{day_key(first)}..{day_key(last)}"


def plan_chunks(report_type: ReportType, days: Sequence[date | None]) -> list[Chunk]:
    """The fewest reports that cover ``days``: contiguous runs cut at the type's maximum range."""
    if not splits_by_day(report_type) or None in days:
        if kind_for(report_type).create_every_s and None not in days:
            # Amazon spaces these requests out (Sales and Traffic: one per 15 minutes, 96 a day), and the run
            # waits its turns (sources/amazon_sp/ratelimit.py): one range report would lose the per-day by-ASIN
            # figures the datapoints need, and leaving the re-pulls to later runs would need the scheduler to
            # launch delayed runs and remember owed days, to save 45 idle minutes of one SP-API run slot a day.
            # The newest day, which has no data yet, goes first; the re-pulls of stored days follow.
            days = sorted(days, reverse=True)  # type: ignore[type-var]
        return [Chunk((day,), request_for(report_type, day)) for day in days]
    limit = kind_for(report_type).max_range_days
    runs: list[list[date]] = []
    for day in sorted({d for d in days if d is not None}):
        if runs and day - runs[-1][-1] == timedelta(days=1) and len(runs[-1]) < limit:
            runs[-1].append(day)
        else:
            runs.append([day])
    return [Chunk(tuple(run), request_for(report_type, run[0], run[-1])) for run in runs]


def split_by_day(
    stream: RowStream, kind: ReportKind, tz: tzinfo, days: tuple[date, ...]
) -> tuple[dict[date, list[RowBatch]], list[QuarantinedRow]]:
    """The rows of a range report, grouped by the local day of their date column. A row without a readable
    date, or dated outside the range, is quarantined (with its line in the document), not guessed. The
    report is held in memory until its days are stored: one report covers at most ``max_range_days``."""
    assert kind.date_column is not None  # a kind whose rows are split by day has its date column
    wanted = set(days)
    by_day: dict[date, list[RowBatch]] = {day: [] for day in days}
    stray: list[QuarantinedRow] = []
    dates: dict[str, date | None] = {}  # plain dates repeat on every row of a day (Ads); timestamps do not
    line = 1  # the header
    for batch in stream.batches():
        rows = batch.values if batch.values is not None else batch.dicts()
        groups: dict[date, list] = {}
        for row, value in zip(rows, batch.column(kind.date_column), strict=True):
            line += 1
            text = str(value or "")
            day = dates[text] if text in dates else kind.row_day(text, tz)
            if len(text) <= 10:
                dates[text] = day
            if day in wanted:
                groups.setdefault(day, []).append(row)
            else:
                reason = f"{kind.date_column} {text!r} is " + (
                    "unreadable" if day is None else "outside the report's range"
                )
                stray.append(
                    QuarantinedRow(line, reason, "\t".join(map(str, row)) if batch.values is not None else str(row))
                )
        for day, picked in groups.items():
            by_day[day].append(
                RowBatch(batch.columns, picked) if batch.values is not None else RowBatch(batch.columns, dicts=picked)
            )
    return by_day, stray


def load_day(
    report_type: ReportType,
    day: date | None,
    *,
    source: ReportSource,
    db: Database,
    run_id: str | None,
    api_report_id: str | None = None,
) -> DayResult:
    """``api_report_id``: a report already requested for this day (a backfill requests every day first)."""
    request = request_for(report_type, day)
    api_report_id = api_report_id or source.request_report(request)
    ready = source.wait_for_report(api_report_id)
    cancelled = ready.status == "CANCELLED"
    stream = RowStream.empty() if cancelled else source.report_rows(ready, request)
    return store_day(report_type, day, stream, db=db, run_id=run_id, api_report_id=api_report_id, cancelled=cancelled)


def load_chunk(
    report_type: ReportType,
    chunk: Chunk,
    *,
    source: ReportSource,
    db: Database,
    run_id: str | None,
    api_report_id: str,
) -> Iterator[tuple[date | None, DayResult | Exception]]:
    """Wait for the chunk's report, then store each of its days: ``(day, result or the error that stopped
    that day)``. A failed report (FATAL) raises before any day: every day of the chunk failed."""
    if len(chunk.days) == 1:  # streamed straight into storage; any error is the chunk's (one day's) failure
        day = chunk.days[0]
        yield day, load_day(report_type, day, source=source, db=db, run_id=run_id, api_report_id=api_report_id)
        return
    ready = source.wait_for_report(api_report_id)
    cancelled = ready.status == "CANCELLED"
    days: tuple[date, ...] = chunk.days  # type: ignore[assignment]
    by_day: dict[date, list[RowBatch]] = {day: [] for day in days}
    columns: list[str] = []
    quarantined: list[QuarantinedRow] = []
    if not cancelled:
        stream = source.report_rows(ready, chunk.request)
        by_day, stray = split_by_day(stream, kind_for(report_type), chunk.request.tz, days)
        columns, quarantined = list(stream.columns), [*stream.quarantined, *stray]
    for n, day in enumerate(days):
        day_stream = RowStream(iter(by_day[day]), columns=columns)
        if n == 0:  # undatable rows are kept with the range's first day, so they are counted once
            day_stream.quarantined = list(quarantined)
        try:
            yield (
                day,
                store_day(
                    report_type, day, day_stream, db=db, run_id=run_id, api_report_id=api_report_id, cancelled=cancelled
                ),
            )
        except Exception as exc:  # one day's store failing must not lose the others
            yield day, exc


def store_day(
    report_type: ReportType,
    day: date | None,
    stream: RowStream,
    *,
    db: Database,
    run_id: str | None,
    api_report_id: str,
    cancelled: bool,
) -> DayResult:
    """One day's rows (or a snapshot) into MongoDB as one atomic replace, with its datapoints."""
    previous = loads.previous_successful_load(db, report_type.name)
    snapshot_day = None if day else local_today(report_type, datetime.now(UTC))  # history is kept per local day
    load = loads.start_load(
        db,
        report_name=report_type.name,
        report_date=day,
        api_report_id=api_report_id,
        run_id=run_id,
        snapshot_day=snapshot_day,
    )
    kind = kind_for(report_type)
    duplicates = DuplicateKeyCounter(kind.row_key)
    profiler = DayProfiler.for_type(report_type.report_type_id, kind.row_key)
    mapping = kind.datapoints if report_type.add_to_datapoints else None
    accumulator = DatapointAccumulator(mapping) if mapping else None
    observers: list[BatchObserver] = [duplicates, profiler, *([accumulator] if accumulator else [])]
    try:
        rows, quarantined, points, meta = _write_and_commit(report_type, load, stream, observers, accumulator)
    except BaseException as exc:
        loads.fail_load(load, f"{type(exc).__name__}: {exc}")
        raise
    result = DayResult(
        report_name=report_type.name,
        report_date=day_key(day) if day else None,
        load_id=load.load_id,
        api_report_id=api_report_id,
        cancelled=cancelled,
        rows=rows,
        quarantined=quarantined,
        columns=list(stream.columns),
        duplicate_keys=duplicates.duplicates,
        duplicate_examples=duplicates.examples,
        previous_load_id=str(previous["_id"]) if previous else None,
        profile=profiler.finish(stream.columns),
    )
    _compare_columns(result, previous)
    result.kept_rows, result.kept_load_id = meta.get("kept_rows") or 0, meta.get("kept_load_id")
    result.datapoints = len(points or ()) if not result.kept_rows else 0
    return result


def _write_and_commit(
    report_type: ReportType,
    load: loads.ReportLoad,
    stream: RowStream,
    observers: list[BatchObserver],
    accumulator: DatapointAccumulator | None,
) -> tuple[int, int, list | None, dict]:
    """Write the rows (counting duplicates, quality figures and datapoints on the way), then commit: rows,
    quarantined rows, datapoints and the commit's metadata."""
    rows = loads.write_rows(load, _observed(stream, observers))
    quarantined = [asdict(q) for q in stream.quarantined]
    points = (
        accumulator.datapoints(report=report_type.name, day=load.report_date, load_id=load.load_id)
        if accumulator
        else None
    )
    # The datapoints flip with the rows; an empty answer keeps a day's rows unless the type says empty is normal.
    meta = loads.commit_load(
        load,
        rows=rows,
        quarantined=quarantined,
        columns=stream.columns,
        datapoints=points,
        keep_rows_if_empty=not report_type.empty_is_ok,
    )
    return rows, len(quarantined), points, meta


class BatchObserver(Protocol):
    def add(self, batch: RowBatch) -> None: ...


def _observed(stream: RowStream, observers: list[BatchObserver]) -> Iterator[RowBatch]:
    """The stream's batches, seen by the counters first (on write_rows' reading thread, ahead of the inserts)."""
    for batch in stream.batches():
        for observer in observers:
            observer.add(batch)
        yield batch


def _compare_columns(result: DayResult, previous: dict | None) -> None:
    """Columns the report gained or lost since the previous successful load."""
    if previous and previous.get("columns") and result.columns:
        before, now = set(previous["columns"]), set(result.columns)
        result.columns_added, result.columns_removed = sorted(now - before), sorted(before - now)
