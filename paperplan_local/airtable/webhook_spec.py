"""Webhook specifications: Airtable's validation (422), and turning one committed write into the payload a
webhook with that specification receives (None when the write is outside its filters)."""

from __future__ import annotations

from typing import Any

from paperplan_local.airtable.errors import invalid_request
from paperplan_local.airtable.formulas import compile_filter
from paperplan_local.airtable.model import Record, Table
from paperplan_local.airtable.query import RowView
from paperplan_local.airtable.store import Store

DATA_TYPES = ("tableData", "tableFields", "tableMetadata")
CHANGE_TYPES = ("add", "remove", "update")
SOURCES = (
    "client",
    "publicApi",
    "formSubmission",
    "formPageSubmission",
    "automation",
    "system",
    "sync",
    "anonymousUser",
    "unknown",
)
FILTER_KEYS = {
    "dataTypes",
    "recordChangeScope",
    "changeTypes",
    "fromSources",
    "sourceOptions",
    "watchDataInFieldIds",
    "watchSchemasOfFieldIds",
}
INCLUDE_KEYS = {"includeCellValuesInFieldIds", "includePreviousCellValues", "includePreviousFieldDefinitions"}


def validate_spec(spec: Any, store: Store) -> dict[str, Any]:
    """The specification as given, or 422 INVALID_REQUEST_UNKNOWN naming the first problem."""
    options = _object(spec, "specification", {"options"}).get("options")
    options = _object(options, "specification.options", {"filters", "includes"})
    filters = _object(options.get("filters"), "specification.options.filters", FILTER_KEYS)
    data_types = filters.get("dataTypes")
    if not isinstance(data_types, list) or not data_types:
        raise invalid_request(
            "specification.options.filters.dataTypes must list at least one of " + ", ".join(DATA_TYPES)
        )
    _choices(filters, "dataTypes", DATA_TYPES)
    _choices(filters, "changeTypes", CHANGE_TYPES)
    _choices(filters, "fromSources", SOURCES)
    scope_table = None
    if "recordChangeScope" in filters:
        scope_table, _ = scope_of(filters["recordChangeScope"], store)
    for key in ("watchDataInFieldIds", "watchSchemasOfFieldIds"):
        if key in filters:
            _field_ids(filters[key], f"filters.{key}", store, scope_table)
    if "sourceOptions" in filters:
        _object(filters["sourceOptions"], "filters.sourceOptions", {"formSubmission", "formPageSubmission"})
    if "includes" in options:
        includes = _object(options["includes"], "specification.options.includes", INCLUDE_KEYS)
        cells = includes.get("includeCellValuesInFieldIds")
        if cells is not None and cells != "all":
            _field_ids(cells, "includes.includeCellValuesInFieldIds", store, scope_table)
        for key in ("includePreviousCellValues", "includePreviousFieldDefinitions"):
            if key in includes and not isinstance(includes[key], bool):
                raise invalid_request(f"includes.{key} must be true or false")
    return spec


def scope_of(scope: Any, store: Store) -> tuple[Table, str | None]:
    """(table, view id or None) of a recordChangeScope; Airtable takes ids only, never names."""
    if isinstance(scope, str):
        for table in store.tables():
            if scope == table.id:
                return table, None
            if any(v.id == scope for v in table.views):
                return table, scope
    raise invalid_request(f"filters.recordChangeScope must be the id of a table or view in this base, not {scope!r}")


def _object(value: Any, name: str, allowed: set[str]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise invalid_request(f"{name} must be an object")
    if unknown := sorted(set(value) - allowed):
        raise invalid_request(f"{name} has unknown keys: {', '.join(unknown)} (allowed: {', '.join(sorted(allowed))})")
    return value


def _choices(filters: dict[str, Any], key: str, allowed: tuple[str, ...]) -> None:
    if key not in filters:
        return
    values = filters[key]
    if not isinstance(values, list) or not all(v in allowed for v in values):
        raise invalid_request(f"filters.{key} must be a list of: {', '.join(allowed)}")


def _field_ids(ids: Any, name: str, store: Store, table: Table | None) -> None:
    tables = [table] if table else store.tables()
    known = {f.id for t in tables for f in t.fields}
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        raise invalid_request(f"{name} must be a list of field ids")
    if missing := [i for i in ids if i not in known]:
        raise invalid_request(
            f"{name} names fields that do not exist{' in the scoped table' if table else ''}: {', '.join(missing)}"
        )


# --- payloads ---------------------------------------------------------------------------------------


def net_changes(changes: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One entry per record for a whole write (an upsert may create then update the same record)."""
    out: list[dict[str, Any]] = []
    by_record: dict[str, dict[str, Any]] = {}
    for change in changes:
        record_id = change.get("record")
        if record_id is None:
            out.append(change)
            continue
        seen = by_record.get(record_id)
        if seen is None:
            by_record[record_id] = dict(change)
            out.append(by_record[record_id])
        elif change["kind"] == "record_updated":
            seen["current"] = change["current"]
        elif seen["kind"] == "record_created":  # created and destroyed in one write: nothing to report
            out.remove(seen)
        else:
            seen.update(kind="record_destroyed")
    return out


class PayloadBuilder:
    """Builds one webhook's view of one write."""

    def __init__(self, spec: dict[str, Any], store: Store):
        options = spec["options"]
        self.filters, self.includes = options["filters"], options.get("includes") or {}
        self.store = store

    def changes_for(self, source: str, changes: list[dict[str, Any]]) -> dict[str, Any] | None:
        f = self.filters
        if "fromSources" in f and source not in f["fromSources"]:
            return None
        scope = scope_of(f["recordChangeScope"], self.store) if "recordChangeScope" in f else None
        changed: dict[str, dict[str, Any]] = {}
        created_tables: dict[str, Any] = {}
        for change in changes:
            if scope and change["table"] != scope[0].id:
                continue
            kind = change["kind"]
            if kind == "table_created":
                if not scope and {"tableFields", "tableMetadata"} & set(f["dataTypes"]) and self._type_ok("add"):
                    created_tables[change["table"]] = {
                        "metadata": {"name": change["name"], "description": change["description"]},
                        "fieldsById": change["fields"],
                    }
                continue
            entry = self._entry(change, scope)
            if entry is None:
                continue
            key, item = entry
            table = changed.setdefault(change["table"], {})
            if key == "destroyedRecordIds" or key == "destroyedFieldIds":
                table.setdefault(key, []).append(item)
            elif key == "changedMetadata":
                table[key] = item
            else:
                table.setdefault(key, {})[change.get("record") or change.get("field")] = item
        if not changed and not created_tables:
            return None
        out: dict[str, Any] = {}
        if changed:
            out["changedTablesById"] = changed
        if created_tables:
            out["createdTablesById"] = created_tables
        return out

    def _type_ok(self, change_type: str) -> bool:
        return "changeTypes" not in self.filters or change_type in self.filters["changeTypes"]

    def _entry(self, change: dict[str, Any], scope: tuple[Table, str | None] | None) -> tuple[str, Any] | None:
        kind, f = change["kind"], self.filters
        if kind.startswith("record_"):
            if "tableData" not in f["dataTypes"] or (scope and scope[1] and not self._in_view(change, scope)):
                return None
            return self._record_entry(change)
        if kind.startswith("field_"):
            watched = f.get("watchSchemasOfFieldIds")
            if "tableFields" not in f["dataTypes"] or (watched and change["field"] not in watched):
                return None
            if kind == "field_created":
                return ("createdFieldsById", change["current"]) if self._type_ok("add") else None
            item = {"current": change["current"]}
            if self.includes.get("includePreviousFieldDefinitions"):
                item["previous"] = change["previous"]
            return ("changedFieldsById", item) if self._type_ok("update") else None
        if kind == "table_changed" and "tableMetadata" in f["dataTypes"] and self._type_ok("update"):
            return "changedMetadata", {"current": change["current"], "previous": change["previous"]}
        return None

    def _record_entry(self, change: dict[str, Any]) -> tuple[str, Any] | None:
        kind, table = change["kind"], self.store.table(change["table"])
        if kind == "record_created":
            if not self._type_ok("add"):
                return None
            return "createdRecordsById", {
                "createdTime": change["created_time"],
                "cellValuesByFieldId": self._cells(table, change["current"]),
            }
        if kind == "record_destroyed":
            return ("destroyedRecordIds", change["record"]) if self._type_ok("remove") else None
        before, after = change["previous"], change["current"]
        touched = [k for k in before.keys() | after.keys() if before.get(k) != after.get(k)]
        watched = self.filters.get("watchDataInFieldIds")
        if not touched or not self._type_ok("update") or (watched and not set(watched) & set(touched)):
            return None
        item: dict[str, Any] = {"current": {"cellValuesByFieldId": self._cells(table, after, touched)}}
        if self.includes.get("includePreviousCellValues"):
            item["previous"] = {"cellValuesByFieldId": self._cells(table, before, touched)}
        include = self.includes.get("includeCellValuesInFieldIds")
        if include:
            ids = [fl.id for fl in table.fields] if include == "all" else include
            unchanged = [i for i in ids if i not in touched and table.field(i)]
            if unchanged:
                item["unchanged"] = {"cellValuesByFieldId": self._cells(table, after, unchanged)}
        return "changedRecordsById", item

    def _in_view(self, change: dict[str, Any], scope: tuple[Table, str | None]) -> bool:
        table, view_id = scope
        view = table.view(view_id)
        if view is None or not view.filter:
            return True
        keep = compile_filter(view.filter, table)
        texts = self.store.primary_texts
        cache: dict[str, dict[str, str]] = {}

        def link_text(field, ids):
            linked = field.options["linkedTableId"]
            cache.setdefault(linked, texts(linked))
            return ", ".join(cache[linked].get(i, "") for i in ids)

        states = [change.get("previous"), change.get("current")]
        return any(keep(RowView(Record(change["record"], "", s), link_text)) for s in states if s is not None)

    def _cells(self, table: Table, cells: dict[str, Any], only: list[str] | None = None) -> dict[str, Any]:
        ids = only if only is not None else list(cells)
        return {i: v2_value(table, i, cells.get(i), self.store) for i in ids}


def v2_value(table: Table, field_id: str, value: Any, store: Store) -> Any:
    """Webhook payloads use the V2 cell format: selects as {id, name, color}, links as {id, name}."""
    field = table.field(field_id)
    if value is None or field is None:
        return value
    if field.type in ("singleSelect", "multipleSelects"):
        choices = {c["name"]: c for c in (field.options or {}).get("choices", [])}
        pick = [choices.get(v, {"name": v}) for v in (value if isinstance(value, list) else [value])]
        return pick if field.type == "multipleSelects" else pick[0]
    if field.type == "multipleRecordLinks":
        names = store.primary_texts(field.options["linkedTableId"])
        return [{"id": i, "name": names.get(i, "")} for i in value]
    return value
