"""Small builders shared by the storage tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from paperplan_sync.storage import loads

DAY = "2026-11-25"


def make_rows(n: int, tag: str = "a") -> list[dict[str, str]]:
    return [{"sku": f"SKU-{i:05d}", "qty": str(i), "tag": tag} for i in range(n)]


def chunks(rows: list[dict[str, Any]], size: int = 25) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(rows), size):
        yield rows[i : i + size]


def load_day(
    db, rows: list[dict[str, Any]], *, report: str = "sales_report", day: str | None = DAY, **start: Any
) -> dict[str, Any]:
    """start + write + commit; returns the metadata document."""
    load = loads.start_load(db, report_name=report, report_date=day, api_report_id="API-1", run_id="run-1", **start)
    loads.write_rows(load, chunks(rows))
    return loads.commit_load(load, rows=len(rows), columns=list(rows[0]) if rows else [])
