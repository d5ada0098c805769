"""One report for one day (or one snapshot): request -> wait -> rows -> MongoDB, with the numbers the
asset checks and the Airtable Reports record need. Free of Dagster so it reads (and tests) plainly."""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime

from pymongo.database import Database

from paperplan_sync.config.models import ReportType
from paperplan_sync.reports.partitions import day_key, local_today
from paperplan_sync.reports.transforms import DATAPOINTS, ROW_KEYS, DatapointAccumulator, DuplicateKeyCounter
from paperplan_sync.sources.base import ReportRequest, ReportSource, RowStream, utc_offset_tz
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

    @property
    def empty(self) -> bool:
        return self.rows == 0


def request_for(report_type: ReportType, day: date | None) -> ReportRequest:
    return ReportRequest(
        report_type_id=report_type.report_type_id,
        day=day,
        tz=utc_offset_tz(report_type.timezone_offset),
        options=dict(report_type.report_options),
    )


def load_day(
    report_type: ReportType, day: date | None, *, source: ReportSource, db: Database, run_id: str | None,
    api_report_id: str | None = None,
) -> DayResult:
    """``api_report_id``: a report already requested for this day (a backfill requests every day first)."""
    request = request_for(report_type, day)
    api_report_id = api_report_id or source.request_report(request)
    ready = source.wait_for_report(api_report_id)
    cancelled = ready.status == "CANCELLED"

    previous = loads.previous_successful_load(db, report_type.name)
    snapshot_day = None if day else local_today(report_type, datetime.now(UTC))  # history is kept per local day
    load = loads.start_load(db, report_name=report_type.name, report_date=day, api_report_id=api_report_id,
                            run_id=run_id, snapshot_day=snapshot_day)
    duplicates = DuplicateKeyCounter(ROW_KEYS.get(report_type.report_type_id, ()))
    mapping = DATAPOINTS.get(report_type.report_type_id) if report_type.add_to_datapoints else None
    accumulator = DatapointAccumulator(mapping) if mapping else None
    stream = RowStream.empty() if cancelled else source.report_rows(ready, request)

    def observed():  # runs on write_rows' reading thread, ahead of the inserts
        for batch in stream.batches():
            duplicates.add(batch)
            if accumulator:
                accumulator.add(batch)
            yield batch

    try:
        rows = loads.write_rows(load, observed())
        quarantined = [asdict(q) for q in stream.quarantined]
        points = accumulator.datapoints(report=report_type.name, day=load.report_date, load_id=load.load_id) if accumulator else None
        # The datapoints flip with the rows; an empty answer keeps a day's rows unless the type says empty is normal.
        meta = loads.commit_load(load, rows=rows, quarantined=quarantined, columns=stream.columns, datapoints=points,
                                 keep_rows_if_empty=not report_type.empty_is_ok)
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
        quarantined=len(quarantined),
        columns=list(stream.columns),
        duplicate_keys=duplicates.duplicates,
        duplicate_examples=duplicates.examples,
        previous_load_id=str(previous["_id"]) if previous else None,
    )
    if previous and previous.get("columns") and stream.columns:
        before, now = set(previous["columns"]), set(stream.columns)
        result.columns_added, result.columns_removed = sorted(now - before), sorted(before - now)
    result.kept_rows, result.kept_load_id = meta.get("kept_rows") or 0, meta.get("kept_load_id")
    result.datapoints = len(points or ()) if not result.kept_rows else 0
    return result
