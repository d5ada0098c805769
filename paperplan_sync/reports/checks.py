"""Asset checks evaluated on every load, from the numbers the load collected while streaming."""

from __future__ import annotations

import dagster as dg

from paperplan_sync.reports.load import DayResult

CHECK_SPECS = {
    "rows_present": "The report has rows (an empty report is expected only when the API said CANCELLED: no data).",
    "columns_unchanged": "The report has the same columns as the previous load (a change may break readers).",
    "unique_row_keys": "No two rows share the report's key columns (duplicates would double count).",
}


def check_results(results: list[DayResult]) -> list[dg.AssetCheckResult]:
    empty = [r.report_date or "snapshot" for r in results if r.rows == 0 and not r.cancelled]
    cancelled = [r.report_date or "snapshot" for r in results if r.rows == 0 and r.cancelled]
    changed = [r for r in results if r.columns_added or r.columns_removed]
    duplicated = [r for r in results if r.duplicate_keys]
    return [
        dg.AssetCheckResult(
            check_name="rows_present",
            passed=not empty,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={"empty_days": empty, "cancelled_by_api": cancelled, "rows": sum(r.rows for r in results)},
            description=("The API reported no data (CANCELLED) for " + ", ".join(cancelled)) if cancelled else None,
        ),
        dg.AssetCheckResult(
            check_name="columns_unchanged",
            passed=not changed,
            severity=dg.AssetCheckSeverity.WARN,
            metadata={
                "added": sorted({c for r in changed for c in r.columns_added}),
                "removed": sorted({c for r in changed for c in r.columns_removed}),
            },
        ),
        dg.AssetCheckResult(
            check_name="unique_row_keys",
            passed=not duplicated,
            severity=dg.AssetCheckSeverity.ERROR,
            metadata={
                "duplicate_rows": sum(r.duplicate_keys for r in results),
                "examples": [list(map(str, k)) for r in duplicated for k in r.duplicate_examples][:5],
            },
        ),
    ]
