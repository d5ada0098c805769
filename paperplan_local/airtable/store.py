"""The base's state in SQLite: tables and fields (the schema, cached in memory) and records (cells as JSON).

One connection guarded by a lock; every write is one transaction, so a write that fails part-way (say the
third of ten records names an unknown field) leaves nothing behind, option added by typecast included.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path
from typing import Any

from paperplan_local.airtable.errors import ApiError, invalid_request, unknown_field
from paperplan_local.airtable.fields import NOT_PRIMARY_TYPES, cell_value, field_options, new_choice
from paperplan_local.airtable.fields import is_empty as empty_cell
from paperplan_local.airtable.model import Field, Record, Table, View, new_id, utc_timestamp

SCHEMA = """
CREATE TABLE IF NOT EXISTS tables (
    id TEXT PRIMARY KEY, position INTEGER NOT NULL, name TEXT NOT NULL, description TEXT, views TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS fields (
    id TEXT PRIMARY KEY, table_id TEXT NOT NULL, position INTEGER NOT NULL,
    name TEXT NOT NULL, type TEXT NOT NULL, options TEXT, description TEXT);
CREATE TABLE IF NOT EXISTS records (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE, table_id TEXT NOT NULL,
    created_time TEXT NOT NULL, cells TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS records_by_table ON records (table_id, seq);
"""

# Who makes the current change: "publicApi" (REST API) unless a caller runs inside ``store.as_source("client")``.
_source: ContextVar[str] = ContextVar("airtable_change_source", default="publicApi")

# One committed write: (source, changes). A change is a dict with "kind" (record_created / record_updated /
# record_destroyed / field_created / field_changed / table_changed / table_created), "table" and the details.
Listener = Callable[[str, list[dict[str, Any]]], None]


class Store:
    def __init__(self, path: str | Path | None = None):
        """``path`` None keeps everything in memory."""
        self._db = sqlite3.connect(str(path) if path else ":memory:", check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        if path:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(SCHEMA)
        self._tables: list[Table] = []
        self._changes: list[dict[str, Any]] | None = None
        self.listeners: list[Listener] = []
        self._load_schema()

    @contextmanager
    def as_source(self, source: str) -> Iterator[None]:
        """Writes inside this block are reported to listeners as coming from ``source`` (e.g. "client")."""
        token = _source.set(source)
        try:
            yield
        finally:
            _source.reset(token)

    def sql(self, statement: str, params: tuple = ()) -> list[tuple]:
        """The stand-in's other state (webhooks, call counts) lives in the same database, under the same lock."""
        with self._lock:
            return self._db.execute(statement, params).fetchall()

    # --- transactions and the schema cache -----------------------------------------------------------

    @contextmanager
    def _write(self) -> Iterator[None]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._changes = []
            try:
                yield
            except BaseException:
                self._db.execute("ROLLBACK")
                self._changes = None
                self._load_schema()  # typecast may have added options in memory
                raise
            self._db.execute("COMMIT")
            changes, self._changes = self._changes, None
        if changes:
            for listener in self.listeners:
                listener(_source.get(), changes)

    def _note(self, kind: str, table: Table, **details: Any) -> None:
        if self._changes is not None:
            self._changes.append({"kind": kind, "table": table.id, **details})

    def _load_schema(self) -> None:
        fields: dict[str, list[Field]] = {}
        for id_, table_id, name, type_, options, description in self._db.execute(
            "SELECT id, table_id, name, type, options, description FROM fields ORDER BY position"
        ):
            options = json.loads(options) if options else None
            fields.setdefault(table_id, []).append(Field(id_, name, type_, options, description))
        self._tables = [
            Table(id_, name, fields.get(id_, []), [View(**v) for v in json.loads(views)], description)
            for id_, name, description, views in self._db.execute(
                "SELECT id, name, description, views FROM tables ORDER BY position"
            )
        ]

    def _save_field(self, table: Table, field: Field) -> None:
        options = json.dumps(field.options) if field.options is not None else None
        self._db.execute(
            "INSERT OR REPLACE INTO fields (id, table_id, position, name, type, options, description)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (field.id, table.id, table.fields.index(field), field.name, field.type, options, field.description),
        )

    def _save_table(self, table: Table, position: int) -> None:
        views = json.dumps([{"id": v.id, "name": v.name, "filter": v.filter} for v in table.views])
        self._db.execute(
            "INSERT OR REPLACE INTO tables (id, position, name, description, views) VALUES (?, ?, ?, ?, ?)",
            (table.id, position, table.name, table.description, views),
        )

    # --- schema --------------------------------------------------------------------------------------

    def is_empty(self) -> bool:
        return not self._tables

    def tables(self) -> list[Table]:
        return list(self._tables)

    def table(self, id_or_name: str) -> Table:
        for table in self._tables:
            if id_or_name in (table.id, table.name):
                return table
        raise ApiError(404, "TABLE_NOT_FOUND", f"Could not find table {id_or_name} in this base")

    def create_table(
        self, name: Any, fields: Any, description: str | None = None, views: list[dict[str, Any]] | None = None
    ) -> Table:
        if not isinstance(name, str) or not name.strip():
            raise invalid_request("A table needs a name")
        if any(t.name.casefold() == name.casefold() for t in self._tables):
            raise ApiError(422, "DUPLICATE_TABLE_NAME", f"A table named {name!r} already exists")
        if not isinstance(fields, list) or not fields:
            raise invalid_request("A table needs at least one field")
        if isinstance(fields[0], dict) and fields[0].get("type") in NOT_PRIMARY_TYPES:
            raise ApiError(422, "INVALID_FIELD_TYPE_FOR_PRIMARY", f"{fields[0]['type']} cannot be a primary field")
        grid = [View(new_id("viw"), "Grid view")]
        extra = [View(new_id("viw"), v["name"], v.get("filter")) for v in views or []]
        table = Table(new_id("tbl"), name, [], grid + extra, description)
        with self._write():
            self._tables.append(table)
            self._save_table(table, len(self._tables) - 1)
            for spec in fields:
                self._add_field(table, spec, note=False)
            self._note(
                "table_created",
                table,
                name=name,
                description=description,
                fields={f.id: {"name": f.name, "type": f.type} for f in table.fields},
            )
        return table

    def update_table(self, table: Table, changes: dict[str, Any]) -> Table:
        if set(changes) - {"name", "description"}:
            raise invalid_request("Only a table's name and description can be changed")
        with self._write():
            before = {"name": table.name, "description": table.description}
            if "name" in changes:
                if any(t is not table and t.name.casefold() == str(changes["name"]).casefold() for t in self._tables):
                    raise ApiError(422, "DUPLICATE_TABLE_NAME", f"A table named {changes['name']!r} already exists")
                table.name = changes["name"]
            table.description = changes.get("description", table.description)
            self._save_table(table, self._tables.index(table))
            self._note(
                "table_changed", table, previous=before, current={"name": table.name, "description": table.description}
            )
        return table

    def create_field(self, table: Table, spec: Any) -> Field:
        with self._write():
            return self._add_field(table, spec)

    def _add_field(self, table: Table, spec: Any, note: bool = True) -> Field:
        if not isinstance(spec, dict) or not isinstance(spec.get("name"), str) or not spec.get("type"):
            raise invalid_request("A field needs a name and a type")
        self._check_field_name(table, spec["name"])
        options = field_options(spec["type"], spec.get("options"), lambda t: any(x.id == t for x in self._tables))
        field = Field(new_id("fld"), spec["name"], spec["type"], options, spec.get("description"))
        table.fields.append(field)
        self._save_field(table, field)
        if note:
            self._note("field_created", table, field=field.id, current={"name": field.name, "type": field.type})
        return field

    def update_field(self, table: Table, id_or_name: str, changes: dict[str, Any]) -> Field:
        field = table.field(id_or_name)
        if field is None:
            raise ApiError(404, "NOT_FOUND", f"Could not find field {id_or_name}")
        if set(changes) - {"name", "description"}:
            raise invalid_request("Only a field's name and description can be changed here")
        with self._write():
            if "name" in changes and changes["name"] != field.name:
                self._check_field_name(table, changes["name"])
                self._note(
                    "field_changed",
                    table,
                    field=field.id,
                    previous={"name": field.name},
                    current={"name": changes["name"]},
                )
                field.name = changes["name"]
            field.description = changes.get("description", field.description)
            self._save_field(table, field)
        return field

    @staticmethod
    def _check_field_name(table: Table, name: Any) -> None:
        if (
            not isinstance(name, str)
            or not name.strip()
            or any(f.name.casefold() == name.casefold() for f in table.fields)
        ):
            raise ApiError(422, "DUPLICATE_OR_EMPTY_FIELD_NAME", f"Field name {name!r} is empty or already used")

    # --- reading records -----------------------------------------------------------------------------

    def records(self, table: Table) -> list[Record]:
        with self._lock:
            rows = self._db.execute(
                "SELECT id, created_time, cells FROM records WHERE table_id = ? ORDER BY seq", (table.id,)
            ).fetchall()
        return [Record(id_, created, json.loads(cells)) for id_, created, cells in rows]

    def get(self, table: Table, record_id: str) -> Record:
        record = self._find(table.id, record_id)
        if record is None:
            raise ApiError(404, "MODEL_ID_NOT_FOUND", "Record not found")
        return record

    def _find(self, table_id: str, record_id: str) -> Record | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, created_time, cells FROM records WHERE table_id = ? AND id = ?", (table_id, record_id)
            ).fetchone()
        return Record(row[0], row[1], json.loads(row[2])) if row else None

    def primary_texts(self, table_id: str) -> dict[str, str]:
        """Record id -> its primary cell as text: how links read in formulas and sorts."""
        table = self.table(table_id)
        return {r.id: as_text(r.cells.get(table.primary.id)) for r in self.records(table)}

    # --- writing records -----------------------------------------------------------------------------

    def create_records(self, table: Table, fields_list: list[Any], typecast: bool) -> list[Record]:
        with self._write():
            return [self._insert(table, self._cells(table, fields, typecast)) for fields in fields_list]

    def update_records(
        self, table: Table, updates: list[tuple[str, Any]], replace: bool, typecast: bool
    ) -> list[Record]:
        with self._write():
            out = []
            for record_id, fields in updates:
                record = self._find(table.id, record_id)
                if record is None:
                    raise ApiError(422, "ROW_DOES_NOT_EXIST", f"Record ID {record_id} does not exist in this table")
                out.append(self._update(record, self._cells(table, fields, typecast), replace, table))
            return out

    def upsert_records(
        self, table: Table, items: list[dict[str, Any]], merge_on: list[str], replace: bool, typecast: bool
    ) -> tuple[list[Record], list[str], list[str]]:
        """Airtable's performUpsert: records without an id are matched on the ``merge_on`` fields' values."""
        keys = [self._field(table, name) for name in merge_on]
        created: list[str] = []
        updated: list[str] = []
        out: list[Record] = []
        with self._write():
            existing = self.records(table)
            for item in items:
                cells = self._cells(table, item.get("fields"), typecast)
                if "id" in item:
                    record = next((r for r in existing if r.id == item["id"]), None)
                    if record is None:
                        raise ApiError(
                            422, "ROW_DOES_NOT_EXIST", f"Record ID {item['id']} does not exist in this table"
                        )
                else:
                    named = {table.field(k).id for k in item.get("fields") or {}}
                    for key in keys:
                        if key.id not in named:  # absent is refused; present but empty creates (below)
                            raise invalid_request(
                                f'Field "{key.name}" is in fieldsToMergeOn but the record does not set it'
                            )
                    record = self._match(existing, keys, cells)
                if record is None:
                    record = self._insert(table, cells)
                    existing.append(record)
                    created.append(record.id)
                else:
                    self._update(record, cells, replace, table)
                    if record.id not in created and record.id not in updated:
                        updated.append(record.id)
                out.append(record)
        return out, created, updated

    @staticmethod
    def _match(existing: list[Record], keys: list[Field], cells: dict[str, Any]) -> Record | None:
        if any(empty_cell(cells.get(key.id)) for key in keys):
            return None  # an empty merge key matches nothing, so Airtable creates a record
        matches = [r for r in existing if all(r.cells.get(k.id) == cells[k.id] for k in keys)]
        if len(matches) > 1:
            names = ", ".join(k.name for k in keys)
            raise invalid_request(
                f"{len(matches)} records match the fieldsToMergeOn values ({names}); expected at most one"
            )
        return matches[0] if matches else None

    def delete_records(self, table: Table, record_ids: list[str]) -> list[str]:
        with self._write():
            for record_id in record_ids:
                record = self._find(table.id, record_id)
                if record is None:
                    raise ApiError(404, "MODEL_ID_NOT_FOUND", f"Record not found: {record_id}")
                self._note("record_destroyed", table, record=record_id, previous=record.cells)
            self._db.executemany("DELETE FROM records WHERE id = ?", [(i,) for i in record_ids])
            self._unlink(table, set(record_ids))
        return record_ids

    def _unlink(self, table: Table, gone: set[str]) -> None:
        """Deleted records vanish from the link cells pointing at them, as in Airtable."""
        for other in self._tables:
            links = [
                f for f in other.fields if f.type == "multipleRecordLinks" and f.options["linkedTableId"] == table.id
            ]
            if not links:
                continue
            for record in self.records(other):
                cells = {f.id: [i for i in record.cells[f.id] if i not in gone] for f in links if f.id in record.cells}
                if any(len(v) != len(record.cells[k]) for k, v in cells.items()):
                    self._update(record, {k: v or None for k, v in cells.items()}, replace=False, table=other)

    def wipe(self) -> None:
        with self._write():
            self._db.execute("DELETE FROM records")
            self._db.execute("DELETE FROM fields")
            self._db.execute("DELETE FROM tables")
        self._load_schema()

    def _cells(self, table: Table, fields: Any, typecast: bool) -> dict[str, Any]:
        if not isinstance(fields, dict):
            raise ApiError(422, "INVALID_REQUEST_MISSING_FIELDS", 'Could not find field "fields" in the request body')
        cells: dict[str, Any] = {}
        for key, value in fields.items():
            field = self._field(table, key)
            cells[field.id] = cell_value(field, value, typecast, self)
        return cells

    @staticmethod
    def _field(table: Table, id_or_name: str) -> Field:
        field = table.field(id_or_name)
        if field is None:
            raise unknown_field(id_or_name)
        return field

    def _insert(self, table: Table, cells: dict[str, Any]) -> Record:
        record = Record(new_id("rec"), utc_timestamp(), {k: v for k, v in cells.items() if v is not None})
        self._db.execute(
            "INSERT INTO records (id, table_id, created_time, cells) VALUES (?, ?, ?, ?)",
            (record.id, table.id, record.created_time, json.dumps(record.cells)),
        )
        self._note(
            "record_created", table, record=record.id, created_time=record.created_time, current=dict(record.cells)
        )
        return record

    def _update(self, record: Record, cells: dict[str, Any], replace: bool, table: Table | None = None) -> Record:
        before = dict(record.cells)
        merged = {} if replace else dict(record.cells)
        for field_id, value in cells.items():
            if value is None:
                merged.pop(field_id, None)
            else:
                merged[field_id] = value
        record.cells = merged
        self._db.execute("UPDATE records SET cells = ? WHERE id = ?", (json.dumps(merged), record.id))
        if before != merged:
            table = table or self._table_of(record.id)
            self._note("record_updated", table, record=record.id, previous=before, current=dict(merged))
        return record

    def _table_of(self, record_id: str) -> Table:
        (table_id,) = self._db.execute("SELECT table_id FROM records WHERE id = ?", (record_id,)).fetchone()
        return self.table(table_id)

    # --- WriteContext: what typecast and link checks ask of the store ---------------------------------

    def record_exists(self, table_id: str, record_id: str) -> bool:
        return self._find(table_id, record_id) is not None

    def find_or_create_linked(self, table_id: str, primary_text: str) -> str:
        for record_id, text in self.primary_texts(table_id).items():
            if text == primary_text:
                return record_id
        table = self.table(table_id)
        return self._insert(table, {table.primary.id: cell_value(table.primary, primary_text, True, self)}).id

    def add_choice(self, field: Field, name: str) -> None:
        choices = field.options.setdefault("choices", [])
        choices.append(new_choice(name, len(choices)))
        table = next(t for t in self._tables if field in t.fields)
        self._save_field(table, field)


def as_text(value: Any) -> str:
    """A cell as text: lists joined with ", " (how the UI shows it and formulas compare it)."""
    if value is None:
        return ""
    if isinstance(value, list):
        return ", ".join(as_text(v) for v in value)
    return str(value)
