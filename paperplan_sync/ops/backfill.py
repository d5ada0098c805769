"""Backfilling failed or never-materialized (missing) partitions the way the UI does it: through the
webserver's GraphQL API (ops/graphql.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from paperplan_sync.ops.graphql import expect, query

ASSETS_QUERY = """
{ assetNodes { assetKey { path } isPartitioned partitionKeys
    assetPartitionStatuses { __typename ... on TimePartitionStatuses { ranges { status startKey endKey } } } } }
"""
LAUNCH = """
mutation($params: LaunchBackfillParams!) { launchPartitionBackfill(backfillParams: $params) {
  __typename ... on LaunchBackfillSuccess { backfillId } ... on PythonError { message }
  ... on InvalidStepError { invalidStepKey } ... on UnauthorizedError { message } } }
"""
STATUS = """
query($id: String!) { partitionBackfillOrError(backfillId: $id) { __typename ... on PartitionBackfill { status
  assetBackfillData { assetBackfillStatuses { ... on AssetPartitionsStatusCounts {
    numPartitionsTargeted numPartitionsInProgress numPartitionsMaterialized numPartitionsFailed } } } } } }
"""
DONE_STATUSES = {"COMPLETED", "COMPLETED_SUCCESS", "COMPLETED_FAILED", "FAILED", "CANCELED", "CANCELLED"}


@dataclass
class Progress:
    status: str
    targeted: int
    materialized: int
    failed: int
    in_progress: int

    @property
    def done(self) -> bool:
        return self.status in DONE_STATUSES


def _days(start: str, end: str) -> list[str]:
    first, last = date.fromisoformat(start), date.fromisoformat(end)
    return [(first + timedelta(days=n)).isoformat() for n in range((last - first).days + 1)]


def failed_days(node: dict) -> list[str]:
    statuses = node.get("assetPartitionStatuses") or {}
    return [
        d for r in statuses.get("ranges") or () if r["status"] == "FAILED" for d in _days(r["startKey"], r["endKey"])
    ]


def missing_days(node: dict) -> list[str]:
    """Partitions with no materialization, failure or run in progress: days that never ran."""
    seen = {
        d
        for r in (node.get("assetPartitionStatuses") or {}).get("ranges") or ()
        for d in _days(r["startKey"], r["endKey"])
    }
    return [k for k in node.get("partitionKeys") or () if k not in seen]


def partitions(
    webserver_url: str,
    *,
    failed: bool = True,
    missing: bool = False,
    report: str | None = None,
    since: date | None = None,
) -> dict[tuple[str, ...], list[str]]:
    """Failed and/or missing partitions per report asset (key path), optionally one report and/or from a date on."""
    out: dict[tuple[str, ...], list[str]] = {}
    for node in query(webserver_url, ASSETS_QUERY)["assetNodes"]:
        path = tuple(node["assetKey"]["path"])
        statuses = node.get("assetPartitionStatuses") or {}
        if (
            not node["isPartitioned"]
            or (report and path[-1] != report)
            or statuses.get("__typename") != "TimePartitionStatuses"
        ):
            continue
        days = sorted(set((failed_days(node) if failed else []) + (missing_days(node) if missing else [])))
        days = [d for d in days if since is None or d >= since.isoformat()]
        if days:
            out[path] = days
    return out


def failed_partitions(
    webserver_url: str, report: str | None = None, since: date | None = None
) -> dict[tuple[str, ...], list[str]]:
    return partitions(webserver_url, failed=True, report=report, since=since)


def launch_backfill(webserver_url: str, path: tuple[str, ...], partitions: list[str]) -> str:
    params = {"assetSelection": [{"path": list(path)}], "partitionNames": partitions}
    result = query(webserver_url, LAUNCH, {"params": params})["launchPartitionBackfill"]
    return expect(result, "LaunchBackfillSuccess")["backfillId"]


def backfill_progress(webserver_url: str, backfill_id: str) -> Progress:
    data = query(webserver_url, STATUS, {"id": backfill_id})["partitionBackfillOrError"]
    counts = (data.get("assetBackfillData") or {}).get("assetBackfillStatuses") or []
    total = lambda name: sum(c.get(name) or 0 for c in counts)  # noqa: E731
    return Progress(
        data.get("status", "?"),
        total("numPartitionsTargeted"),
        total("numPartitionsMaterialized"),
        total("numPartitionsFailed"),
        total("numPartitionsInProgress"),
    )
