"""Changes made "as a user in the Airtable UI": the same validation and typecast as the REST API, but reported to
webhooks with source "client" (a REST API change is "publicApi"). A UI page or a test calls ``client_edit``."""

from __future__ import annotations

from typing import Any

from paperplan_local.airtable.errors import invalid_request
from paperplan_local.airtable.query import render
from paperplan_local.airtable.store import Store

OPS = ("create", "update", "delete")


def client_edit(
    store: Store,
    table: str,
    op: str,
    record_id: str | None = None,
    fields: dict[str, Any] | None = None,
    typecast: bool = False,
) -> dict[str, Any]:
    """Create, update (merge, like PATCH) or delete one record of ``table`` (name or id); returns the record as
    the API renders it, or ``{"id", "deleted": True}``. Bad input raises the ApiError Airtable would answer."""
    if op not in OPS:
        raise invalid_request(f"op must be one of {', '.join(OPS)}, not {op!r}")
    if op != "create" and not isinstance(record_id, str):
        raise invalid_request(f"op {op} needs a record_id")
    if op != "delete" and not isinstance(fields, dict):
        raise invalid_request(f"op {op} needs a fields object")
    target = store.table(table)
    with store.as_source("client"):
        if op == "create":
            (record,) = store.create_records(target, [fields], typecast)
        elif op == "update":
            (record,) = store.update_records(target, [(record_id, fields)], replace=False, typecast=typecast)
        else:
            store.delete_records(target, [store.get(target, record_id).id])
            return {"id": record_id, "deleted": True}
    return render(target, record)
