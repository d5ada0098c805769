"""List records: the query (from URL parameters or a listRecords body), filtering, sorting, paging, rendering."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from paperplan_local.airtable.errors import ApiError, invalid_request, unknown_field
from paperplan_local.airtable.fields import formula_value, sort_key
from paperplan_local.airtable.formulas import compile_filter
from paperplan_local.airtable.model import Field, Record, Table

MAX_PAGE_SIZE = 100
_SORT_PARAM = re.compile(r"sort\[(\d+)\]\[(field|direction)\]")
_OFFSET = re.compile(r"itr(\d{14})/(rec[A-Za-z0-9]{14})")
# Accepted and ignored: values always come back in the JSON cell format (see the package README).
_IGNORED = {"cellFormat", "timeZone", "userLocale", "includeDateDependencyMetadata"}
_METADATA = {"recordMetadata", "recordMetadata[]"}


@dataclass
class ListQuery:
    page_size: int = MAX_PAGE_SIZE
    max_records: int | None = None
    offset: str | None = None
    view: str | None = None
    formula: str | None = None
    fields: list[str] | None = None
    sort: list[tuple[str, str]] = field(default_factory=list)  # (field, "asc" | "desc")
    by_field_id: bool = False
    comment_count: bool = False  # records carry "commentCount" (always 0: there are no comments here)


def query_from_params(items: list[tuple[str, str]]) -> ListQuery:
    """``?pageSize=&fields[]=&sort[0][field]=&filterByFormula=...`` as pyairtable sends them on a GET."""
    query, sorts, fields = ListQuery(), {}, []
    for key, value in items:
        if key in ("fields[]", "fields"):
            fields.append(value)
        elif match := _SORT_PARAM.fullmatch(key):
            sorts.setdefault(int(match.group(1)), {})[match.group(2)] = value
        elif key == "returnFieldsByFieldId":
            query.by_field_id = value.lower() in ("1", "true")
        elif key in _METADATA:
            query.comment_count = query.comment_count or value == "commentCount"
        elif key not in _IGNORED:
            _set_scalar(query, key, value)
    query.fields = fields or None
    query.sort = [_sort_item(sorts[i]) for i in sorted(sorts)]
    return query


def query_from_body(body: dict[str, Any]) -> ListQuery:
    """The JSON body of ``POST .../listRecords`` (pyairtable's fallback for URLs over 16k characters)."""
    query = ListQuery()
    for key, value in body.items():
        if key == "fields":
            if not isinstance(value, list):
                raise invalid_request("fields must be an array of field names or ids")
            query.fields = [str(v) for v in value]
        elif key == "sort":
            if not isinstance(value, list) or not all(isinstance(s, dict) for s in value):
                raise invalid_request("sort must be an array of {field, direction} objects")
            query.sort = [_sort_item(s) for s in value]
        elif key == "returnFieldsByFieldId":
            query.by_field_id = bool(value)
        elif key in _METADATA:
            query.comment_count = isinstance(value, list) and "commentCount" in value
        elif key not in _IGNORED:
            _set_scalar(query, key, value)
    return query


def _set_scalar(query: ListQuery, key: str, value: Any) -> None:
    if key in ("pageSize", "maxRecords"):
        try:
            number = int(value)
        except (TypeError, ValueError):
            raise invalid_request(f"{key} must be an integer") from None
        if key == "pageSize":
            if not 1 <= number <= MAX_PAGE_SIZE:
                raise invalid_request(f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
            query.page_size = number
        else:
            query.max_records = number
    elif key in ("offset", "view", "filterByFormula"):
        setattr(query, {"filterByFormula": "formula"}.get(key, key), str(value))
    else:
        raise invalid_request(f"Unknown parameter: {key}")


def _sort_item(spec: dict[str, Any]) -> tuple[str, str]:
    direction = spec.get("direction", "asc")
    if "field" not in spec or direction not in ("asc", "desc"):
        raise invalid_request("Each sort needs a field and a direction of asc or desc")
    return str(spec["field"]), direction


LinkText = Callable[[Field, list[str]], str]


class RowView:
    """One record as a formula reads it."""

    def __init__(self, record: Record, link_text: LinkText):
        self.record, self.link_text = record, link_text
        self.record_id, self.created_time = record.id, record.created_time

    def value(self, field: Field) -> Any:
        return formula_value(field, self.record.cells.get(field.id), self.link_text)


def list_page(
    table: Table, records: list[Record], query: ListQuery, link_text: LinkText
) -> tuple[list[Record], str | None]:
    """One page of the query's result, and the offset of the next page (None on the last one)."""
    keeps = []
    if query.view is not None:
        view = table.view(query.view)
        if view is None:
            raise ApiError(422, "VIEW_NAME_NOT_FOUND", f'Could not find view "{query.view}"')
        if view.filter:
            keeps.append(compile_filter(view.filter, table))
    if query.formula:
        keeps.append(compile_filter(query.formula, table))
    sorts = [(_field(table, name), direction == "desc") for name, direction in query.sort]
    for name in query.fields or []:
        _field(table, name)

    rows = [r for r in records if all(keep(RowView(r, link_text)) for keep in keeps)]
    for sort_field, descending in reversed(sorts):  # stable sorts, last key first
        rows.sort(key=lambda r: sort_key(sort_field, r.cells.get(sort_field.id), link_text), reverse=descending)
    if query.max_records is not None:
        rows = rows[: max(query.max_records, 0)]

    start = _offset_start(query.offset, rows)
    end = start + query.page_size
    next_offset = f"itr{end:014d}/{rows[end].id}" if end < len(rows) else None
    return rows[start:end], next_offset


def _offset_start(offset: str | None, rows: list[Record]) -> int:
    """Offsets name the next page's first record, so records deleted meanwhile do not shift the pages."""
    if not offset:
        return 0
    match = _OFFSET.fullmatch(offset)
    if not match:
        raise ApiError(422, "INVALID_OFFSET_VALUE", f"The value of offset {offset} is invalid")
    position = next((i for i, r in enumerate(rows) if r.id == match.group(2)), None)
    return position if position is not None else min(int(match.group(1)), len(rows))


def _field(table: Table, id_or_name: str) -> Field:
    found = table.field(id_or_name)
    if found is None:
        raise unknown_field(id_or_name)
    return found


def render(table: Table, record: Record, only: list[str] | None = None, by_field_id: bool = False) -> dict[str, Any]:
    """A record as the API returns it: empty cells left out, keyed by field name (or id)."""
    fields = [_field(table, name) for name in only] if only is not None else table.fields
    cells = {(f.id if by_field_id else f.name): record.cells[f.id] for f in fields if f.id in record.cells}
    return {"id": record.id, "createdTime": record.created_time, "fields": cells}
