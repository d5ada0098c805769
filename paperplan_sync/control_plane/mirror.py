"""Destination Airtable: a report's current rows mirrored into a named table, upserted by key fields."""

from __future__ import annotations

from collections.abc import Iterator

from pymongo.database import Database

from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.storage.rows import LATEST, current_rows
from paperplan_sync.values import to_number

BATCH = 10
_CONVERT = {
    "number": to_number,
    "checkbox": lambda v: str(v).strip().lower() in {"1", "true", "yes", "y"},
}


def _airtable_fields(row: dict, field_types: dict[str, str]) -> dict:
    """Only columns the table has (an unknown field would fail the whole write), typed for Airtable."""
    out = {}
    for name, kind in field_types.items():
        if name in row and row[name] not in (None, ""):
            convert = _CONVERT.get(kind)
            out[name] = convert(row[name]) if convert else row[name]
    return out


def mirror_rows(
    db: Database, airtable: AirtableResource, *, report: str, report_date: str | None, table: str, key_fields: list[str]
) -> int:
    """Upsert the report's current rows into ``table``; returns how many were sent."""
    target = airtable.table(table)
    field_types = {f.name: f.type for f in target.schema().fields}
    missing = [k for k in key_fields if k not in field_types]
    if missing:
        raise ValueError(
            f"Airtable table {table!r} has no key field(s) {missing}: add them or fix 'Airtable Key Fields'"
        )
    sent = 0
    for batch in _chunks(current_rows(db, report, report_date or LATEST), BATCH):
        records = [{"fields": _airtable_fields(row, field_types)} for row in batch]
        target.batch_upsert(records, key_fields=key_fields, typecast=True)
        sent += len(records)
    return sent


def _chunks(rows, size: int) -> Iterator[list[dict]]:
    batch: list[dict] = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch
