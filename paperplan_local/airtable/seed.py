"""Seed an empty store with the SYNC base (control_plane/sync_base.json): tables, fields, views, demo rows."""

from __future__ import annotations

from typing import Any

from paperplan_local.airtable.store import Store
from paperplan_sync.control_plane.schema import load_base_schema


def seed_sync_base(store: Store, schema: dict[str, Any] | None = None) -> None:
    """Links are added after every table exists, and linked rows after every demo row exists: the JSON
    names a link's table, and its demo values are the linked rows' primary values."""
    tables = (schema or load_base_schema())["tables"]
    for spec in tables:
        plain = [f for f in spec["fields"] if f["type"] != "multipleRecordLinks"]
        store.create_table(spec["name"], plain, spec.get("description"), spec.get("views"))
    for spec in tables:
        table = store.table(spec["name"])
        for link in (f for f in spec["fields"] if f["type"] == "multipleRecordLinks"):
            options = dict(link.get("options") or {})
            target = options.pop("linkedTable", None) or options.get("linkedTableId")
            store.create_field(table, {**link, "options": {**options, "linkedTableId": store.table(target).id}})

    created: dict[str, list[str]] = {}
    for spec in tables:
        table = store.table(spec["name"])
        rows = [
            {k: v for k, v in row.items() if table.field(k).type != "multipleRecordLinks"}
            for row in spec.get("demo_records", [])
        ]
        created[spec["name"]] = [r.id for r in store.create_records(table, rows, typecast=False)]
    for spec in tables:
        table = store.table(spec["name"])
        updates = []
        for record_id, row in zip(created[spec["name"]], spec.get("demo_records", []), strict=True):
            links = {k: v for k, v in row.items() if table.field(k).type == "multipleRecordLinks"}
            if links:
                updates.append(
                    (record_id, {k: _ids(store, table.field(k).options["linkedTableId"], v) for k, v in links.items()})
                )
        if updates:
            store.update_records(table, updates, replace=False, typecast=False)


def _ids(store: Store, table_id: str, primary_values: list[str]) -> list[str]:
    by_text = {text: record_id for record_id, text in store.primary_texts(table_id).items()}
    missing = [v for v in primary_values if v not in by_text]
    if missing:
        raise ValueError(f"demo links name rows that do not exist in {table_id}: {missing}")
    return [by_text[v] for v in primary_values]
