"""Is a report late? Each report type is expected after every fire of the automations that run it.

A report is late when the newest fire that is past its grace period (due + grace <= now) has no load
after it: for a daily type, no materialization of the day that fire pulls; for a real-time type, no
materialization at all since the fire. Reads only Dagster's records (never Airtable).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg

from paperplan_sync.config.models import Automation, ReportType
from paperplan_sync.config.timing import fire_times
from paperplan_sync.reports.partitions import day_key, target_day

LOOKBACK = timedelta(days=8)  # enough to see the last fire of a weekly automation


@dataclass(frozen=True)
class Expectation:
    fired_at: datetime  # the automation's due time
    partition: str | None  # the day that fire pulls (None: a real-time snapshot)


def expected(
    rt: ReportType, automations: tuple[Automation, ...] | list[Automation], now: datetime, grace: timedelta
) -> Expectation | None:
    """The newest fire of an automation running ``rt`` whose grace period is over, if any."""
    until = now - grace
    fires = [f for a in automations if rt.name in a.report_types for f in fire_times(a, until - LOOKBACK, until)]
    if not fires:
        return None
    fired = max(fires, key=lambda moment: moment.timestamp())  # instants, whatever zone each is in
    return Expectation(fired, None if rt.real_time else day_key(target_day(rt, fired)))


def loaded_since(instance: dg.DagsterInstance, key: dg.AssetKey, expectation: Expectation) -> bool:
    records = instance.fetch_materializations(
        dg.AssetRecordsFilter(
            asset_key=key,
            asset_partitions=[expectation.partition] if expectation.partition else None,
            after_timestamp=expectation.fired_at.timestamp(),
        ),
        limit=1,
    ).records
    return bool(records)


def failure_already_alerted(instance: dg.DagsterInstance, rt: ReportType, since: datetime) -> bool:
    """A scheduled run of the report failed for good after the fire: its failure alert said it already."""
    runs = instance.get_runs(
        dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE], tags={"paperplan/report": rt.name}, created_after=since),
        limit=5,
    )
    return any(run.tags.get("dagster/will_retry") != "true" for run in runs)


def last_loaded(instance: dg.DagsterInstance, key: dg.AssetKey) -> datetime | None:
    event = instance.get_latest_materialization_event(key)
    return datetime.fromtimestamp(event.timestamp, UTC) if event else None
