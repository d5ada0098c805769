"""`paperplan-sync init-airtable`: create the SYNC base's tables and fields in an existing base.

Idempotent: what exists is left alone and a second run changes nothing. Airtable's API cannot create
views, so the Failed Reports view is described for the user to add by hand (two clicks).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.schema import load_base_schema


@dataclass(frozen=True)
class Change:
    table: str
    what: str  # "table", "field", "demo rows", "view (manual)", "choices (manual)"
    detail: str


def _field_payload(field: dict[str, Any], table_ids: dict[str, str]) -> dict[str, Any]:
    payload = {"name": field["name"], "type": field["type"]}
    options = dict(field.get("options") or {})
    if field["type"] == "multipleRecordLinks":
        options = {"linkedTableId": table_ids[options.pop("linkedTable")]}
    if options:
        payload["options"] = options
    return payload


def bootstrap_base(airtable: AirtableResource, *, demo: bool = False) -> list[Change]:
    base = airtable.api.base(airtable.base_id)
    existing = {t.name: t for t in base.schema().tables}
    table_ids = {name: t.id for name, t in existing.items()}
    changes: list[Change] = []

    wanted = load_base_schema()["tables"]
    # Tables without link fields first, so every link has its target (Automations -> Report Types).
    for spec in sorted(wanted, key=lambda t: any(f["type"] == "multipleRecordLinks" for f in t["fields"])):
        if spec["name"] in existing:
            changes += _complete_table(base, spec, existing[spec["name"]], table_ids)
        else:
            changes.append(_create_table(base, spec, table_ids))
    changes += _view_notes(wanted)
    if demo:
        changes.extend(seed_demo_rows(airtable))
    return changes


def _create_table(base, spec: dict[str, Any], table_ids: dict[str, str]) -> Change:
    fields = [_field_payload(f, table_ids) for f in spec["fields"]]
    table_ids[spec["name"]] = base.create_table(spec["name"], fields).id
    return Change(spec["name"], "table", f"created with {len(fields)} fields")


def _complete_table(base, spec: dict[str, Any], table, table_ids: dict[str, str]) -> list[Change]:
    """Missing fields are added; a wrong type or missing choices are for people to fix (never changed here)."""
    name, have = spec["name"], {f.name: f for f in table.fields}
    changes = []
    for field in spec["fields"]:
        if field["name"] not in have:
            base.table(name).create_field(**_create_field_args(_field_payload(field, table_ids)))
            changes.append(Change(name, "field", f"added {field['name']} ({field['type']})"))
        elif have[field["name"]].type != field["type"]:
            problem = _type_fix(field["name"], have[field["name"]].type, field["type"])
            changes.append(Change(name, "type (manual)", problem))
        elif choices := _missing_choices(field, have[field["name"]]):
            problem = f"{field['name']} lacks options {', '.join(choices)} (they are also added on first use)"
            changes.append(Change(name, "choices (manual)", problem))
    return changes


# Airtable's UI names for the API's field types (what a person picks under Edit field > type).
TYPE_LABELS = {
    "singleLineText": "Single line text",
    "multilineText": "Long text",
    "number": "Number",
    "checkbox": "Checkbox",
    "singleSelect": "Single select",
    "multipleSelects": "Multiple select",
    "multipleRecordLinks": "Link to another record",
    "date": "Date",
    "dateTime": "Date and time",
}


def _type_fix(field: str, have: Any, want: str) -> str:
    have = str(getattr(have, "value", have))  # pyairtable's FieldType is a str Enum: "number", not its repr
    label = TYPE_LABELS.get(want, want)
    return (
        f"{field} is {TYPE_LABELS.get(have, have)} ({have}), expected {label} ({want}): in Airtable open the "
        f"{field} field's menu > Edit field, set its type to {label} and save (Airtable converts the values)"
    )


def _view_notes(wanted: list[dict[str, Any]]) -> list[Change]:
    """Views the API cannot create, described for people to add."""
    return [
        Change(
            spec["name"],
            "view (manual)",
            f"create view '{view['name']}': filter {view['filter']}. {view.get('note', '')}".strip(),
        )
        for spec in wanted
        for view in spec.get("views", [])
    ]


def _create_field_args(payload: dict[str, Any]) -> dict[str, Any]:
    return {"name": payload["name"], "field_type": payload["type"], "options": payload.get("options")}


def _missing_choices(field: dict[str, Any], existing) -> list[str]:
    wanted = [c["name"] for c in (field.get("options") or {}).get("choices", [])]
    have = {c.name for c in getattr(getattr(existing, "options", None), "choices", []) or []}
    return [c for c in wanted if c not in have]


def seed_demo_rows(airtable: AirtableResource) -> list[Change]:
    """Demo rows into tables that have none (upserted by Name, so re-running adds nothing)."""
    changes = []
    ids: dict[str, dict[str, str]] = {}
    for spec in load_base_schema()["tables"]:
        rows = spec.get("demo_records") or []
        table = airtable.table(spec["name"])
        if not rows:
            continue
        links = {f["name"]: f["options"]["linkedTable"] for f in spec["fields"] if f["type"] == "multipleRecordLinks"}
        records = []
        for row in rows:
            fields = dict(row)
            for field, target in links.items():
                if field in fields:
                    fields[field] = [ids[target][name] for name in fields[field]]
            records.append({"fields": fields})
        result = table.batch_upsert(records, key_fields=["Name"], typecast=True)
        ids[spec["name"]] = {r["fields"]["Name"]: r["id"] for r in result["records"]}
        if result["createdRecords"]:
            changes.append(Change(spec["name"], "demo rows", f"added {len(result['createdRecords'])}"))
    return changes
