"""A page to click, like a small Airtable: the base's tables, a table's records as a grid, edit cells, add and
delete rows. Plain server-rendered HTML forms (no JavaScript). Every change goes through ``client_edit``: the
store's validation, Airtable's error shown on the page, and reported to webhooks as a user's edit ("client")."""

from __future__ import annotations

from html import escape
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode

from starlette.datastructures import ImmutableMultiDict
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse
from starlette.routing import Route

from paperplan_local.airtable.client_edits import client_edit
from paperplan_local.airtable.errors import ApiError
from paperplan_local.airtable.model import Field, Record, Table
from paperplan_local.airtable.query import render
from paperplan_local.airtable.store import Store, as_text

TEXT = {"singleLineText", "multilineText", "email", "url", "phoneNumber", "dateTime"}
NUMBER = {"number", "currency", "percent", "duration", "rating"}
EDITABLE = TEXT | NUMBER | {"checkbox", "singleSelect", "multipleSelects", "date", "multipleRecordLinks"}
NEW = "new"  # the add-a-row form's id
PAGE_ROWS = 100

STYLE = """
body{font:14px system-ui,sans-serif;margin:0;color:#1d1f25}
header{background:#2d7ff9;color:#fff;padding:10px 16px;font-weight:600}
header a{color:#fff;text-decoration:none;margin-right:14px}
nav{padding:8px 16px;border-bottom:1px solid #ddd;background:#f5f5f5}
nav a{margin-right:6px;padding:4px 10px;border-radius:4px;text-decoration:none;color:#333}
nav a.on{background:#fff;border:1px solid #ccc;font-weight:600}
main{padding:12px 16px}
table.grid{border-collapse:collapse}
.grid th,.grid td{border:1px solid #ddd;padding:3px 5px;vertical-align:top}
.grid th{background:#f0f0f0;text-align:left;font-weight:600}
.grid th small{display:block;color:#888;font-weight:400}
.grid input[type=text],.grid input[type=date]{width:11em}
.grid tr.new td{background:#f6fbff}
.error{background:#fdecea;border:1px solid #f5c2c0;color:#8a1c14;padding:8px 12px;margin-bottom:10px}
.links{color:#555;font-size:12px;max-width:14em}
.note{background:#e9f7ef;border:1px solid #b7e1c7;padding:8px 12px;margin-bottom:10px}
button{cursor:pointer}
"""


class BaseUI:
    def __init__(self, store: Store, base_name: str):
        self.store, self.base_name = store, base_name

    def routes(self) -> list[Route]:
        return [
            Route("/", self.home, methods=["GET"]),
            Route("/tables/{table}", self.grid, methods=["GET"]),
            Route("/tables/{table}/records", self.create, methods=["POST"]),
            Route("/tables/{table}/records/{record_id}", self.update, methods=["POST"]),
            Route("/tables/{table}/records/{record_id}/delete", self.delete, methods=["POST"]),
        ]

    # --- pages ---------------------------------------------------------------------------------------

    async def home(self, request: Request) -> HTMLResponse:
        rows = "".join(
            f'<li><a href="/tables/{t.id}">{escape(t.name)}</a> ({len(self.store.records(t))} records)</li>'
            for t in self.store.tables()
        )
        return self._page("Tables", None, f"<main><h2>Tables</h2><ul>{rows}</ul></main>")

    async def grid(self, request: Request) -> HTMLResponse:
        table = self.store.table(request.path_params["table"])
        page = request.query_params.get("page", "")
        return self._grid(table, note=request.query_params.get("done"), page=int(page) if page.isdigit() else None)

    def _grid(
        self,
        table: Table,
        *,
        note: str | None = None,
        error: str | None = None,
        status: int = 200,
        page: int | None = None,
    ) -> HTMLResponse:
        fields = table.fields
        records = self.store.records(table)
        pages = max(1, -(-len(records) // PAGE_ROWS))
        page = pages if page is None else min(max(page, 1), pages)  # the last page by default: new rows are there
        head = "".join(f"<th>{escape(f.name)}<small>{escape(f.type)}</small></th>" for f in fields)
        body = "".join(self._row(table, fields, r) for r in records[(page - 1) * PAGE_ROWS : page * PAGE_ROWS])
        body += self._row(table, fields, None)
        if pages > 1:
            links = " ".join(
                f'<a href="/tables/{table.id}?page={n}">{n}</a>' if n != page else f"<b>{n}</b>"
                for n in range(1, pages + 1)
            )
            note = f"{note + ' · ' if note else ''}{len(records)} records, {PAGE_ROWS} a page"
            body += f'<tr><td colspan="{len(fields) + 1}">Pages: {links}</td></tr>'
        banner = f'<div class="error" role="alert">{escape(error)}</div>' if error else ""
        banner += f'<div class="note">{escape(note)}</div>' if note else ""
        html = (
            f'<main>{banner}<table class="grid" id="grid"><thead><tr>{head}<th></th></tr></thead>'
            f"<tbody>{body}</tbody></table></main>"
        )
        return self._page(table.name, table, html, status)

    def _row(self, table: Table, fields: list[Field], record: Record | None) -> str:
        form = f"r-{record.id}" if record else NEW
        action = f"/tables/{table.id}/records/{record.id}" if record else f"/tables/{table.id}/records"
        values = render(table, record)["fields"] if record else {}
        cells = "".join(f"<td>{self._input(f, values.get(f.name), form)}</td>" for f in fields)
        label = "Save" if record else "Add row"
        buttons = (
            f'<form id="{form}" method="post" action="{action}"></form>'
            f'<button form="{form}" type="submit">{label}</button>'
        )
        if record:
            buttons += (
                f'<form method="post" action="{action}/delete" style="display:inline">'
                f'<button type="submit" title="Delete this row">Delete</button></form>'
            )
        attrs = f' id="{record.id}" data-record="{record.id}"' if record else ' class="new"'
        return f"<tr{attrs}>{cells}<td>{buttons}</td></tr>"

    def _input(self, field: Field, value: Any, form: str) -> str:
        name = escape(field.name, quote=True)
        common = f'form="{form}" name="{name}" aria-label="{name}"'
        # An unticked box or an empty multiple select sends nothing: this empty value says "the cell was shown".
        shown = f'<input type="hidden" form="{form}" name="{name}" value="">'
        if field.type not in EDITABLE:
            return escape(as_text(value))
        if field.type == "checkbox":
            return f'{shown}<input type="checkbox" {common} value="1"{" checked" if value else ""}>'
        if field.type in ("singleSelect", "multipleSelects"):
            chosen = set(value if isinstance(value, list) else [value] if value else [])
            options = "".join(
                f"<option{' selected' if c in chosen else ''}>{escape(c)}</option>" for c in field.choice_names()
            )
            if field.type == "singleSelect":
                return f'<select {common}><option value=""></option>{options}</select>'
            return f'{shown}<select multiple size="2" {common}>{options}</select>'
        if field.type == "multipleRecordLinks":
            texts = self.store.primary_texts(field.options["linkedTableId"])
            options = "".join(
                f'<option value="{rid}"{" selected" if rid in (value or []) else ""}>{escape(text)}</option>'
                for rid, text in texts.items()
            )
            linked = ", ".join(texts.get(rid, rid) for rid in value or [])
            return (
                f'<div class="links">{escape(linked)}</div>{shown}<select multiple size="3" {common}>{options}</select>'
            )
        kind = "date" if field.type == "date" else "text"
        return f'<input type="{kind}" {common} value="{escape(as_text(value), quote=True)}">'

    def _page(self, title: str, current: Table | None, body: str, status: int = 200) -> HTMLResponse:
        tabs = "".join(
            f'<a href="/tables/{t.id}"{" class=on" if current and t.id == current.id else ""}>{escape(t.name)}</a>'
            for t in self.store.tables()
        )
        html = (
            "<!doctype html><html><head><meta charset=utf-8>"
            f"<title>{escape(title)} - {escape(self.base_name)} (local Airtable)</title>"
            f"<style>{STYLE}</style></head>"
            f'<body><header><a href="/">{escape(self.base_name)}</a> local Airtable</header>'
            f"<nav>{tabs}</nav>{body}</body></html>"
        )
        return HTMLResponse(html, status_code=status)

    # --- changes -------------------------------------------------------------------------------------

    async def create(self, request: Request):
        table = self.store.table(request.path_params["table"])
        fields = {k: v for k, v in _fields_from_form(table, await _form(request)).items() if not _blank(v)}
        return self._change(table, "create", None, fields, "Row added")

    async def update(self, request: Request):
        table = self.store.table(request.path_params["table"])
        record = self.store.get(table, request.path_params["record_id"])
        current = render(table, record)["fields"]
        wanted = _fields_from_form(table, await _form(request))
        # Only the cells that changed, as the Airtable UI sends a cell edit.
        changed = {
            k: v for k, v in wanted.items() if v != current.get(k) and not (_blank(v) and current.get(k) is None)
        }
        if not changed:
            return self._back(table, self._page_of(table, record.id), "Nothing changed")
        return self._change(table, "update", record.id, changed, f"Saved {', '.join(changed)}")

    async def delete(self, request: Request):
        table = self.store.table(request.path_params["table"])
        return self._change(table, "delete", request.path_params["record_id"], None, "Row deleted")

    def _change(self, table: Table, op: str, record_id: str | None, fields: dict | None, done: str):
        page = self._page_of(table, record_id)  # back where the row was
        try:
            client_edit(self.store, table.id, op, record_id, fields)
        except ApiError as exc:
            return self._grid(table, error=f"{exc.type}: {exc.message}", status=exc.status, page=page)
        return self._back(table, page, done)

    def _page_of(self, table: Table, record_id: str | None) -> int | None:
        ids = [r.id for r in self.store.records(table)]
        return ids.index(record_id) // PAGE_ROWS + 1 if record_id in ids else None

    @staticmethod
    def _back(table: Table, page: int | None, done: str) -> RedirectResponse:
        query = {"done": done, **({"page": page} if page else {})}
        return RedirectResponse(f"/tables/{quote(table.id)}?{urlencode(query)}", status_code=303)


async def _form(request: Request) -> ImmutableMultiDict:
    # HTML forms post application/x-www-form-urlencoded; parsed here, so no multipart library is needed.
    return ImmutableMultiDict(parse_qsl((await request.body()).decode("utf-8"), keep_blank_values=True))


def _fields_from_form(table: Table, form: ImmutableMultiDict) -> dict[str, Any]:
    """The form's inputs as API values. Values that are not valid go through unchanged so that the store
    answers with Airtable's own error (a Number cell reading "abc": INVALID_VALUE_FOR_COLUMN)."""
    out: dict[str, Any] = {}
    for field in table.fields:
        if field.type not in EDITABLE:
            continue
        if field.name not in form:
            continue  # not part of this form: left as it is
        if field.type == "checkbox":
            out[field.name] = "1" in form.getlist(field.name)
        elif field.type in ("multipleSelects", "multipleRecordLinks"):
            out[field.name] = [v for v in form.getlist(field.name) if v]
        else:
            text = str(form[field.name]).strip()
            out[field.name] = None if text == "" else _number(text) if field.type in NUMBER else text
    return out


def _blank(value: Any) -> bool:
    # An empty cell: Airtable leaves it out. (0 is a value, so no `in (None, False)`: 0 == False.)
    return value is None or value is False or value == []


def _number(text: str) -> Any:
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text
