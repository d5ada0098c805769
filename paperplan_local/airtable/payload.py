"""Request bodies: JSON parsing and the shape checks Airtable answers with 400 / 422."""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request

from paperplan_local.airtable.errors import ApiError, invalid_request

MAX_RECORDS_PER_WRITE = 10


async def json_body(request: Request) -> dict[str, Any]:
    raw = await request.body()
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except ValueError:
        raise ApiError(400, "INVALID_REQUEST_UNKNOWN", "Could not parse request body as JSON") from None
    if not isinstance(body, dict):
        raise invalid_request("The request body must be a JSON object")
    return body


def only_keys(body: dict[str, Any], allowed: set[str]) -> None:
    if unknown := sorted(set(body) - allowed):
        raise invalid_request(f"Unknown request body keys: {', '.join(unknown)}")


def records_payload(body: dict[str, Any], need_id: bool, creating: bool) -> list[dict[str, Any]]:
    items = body.get("records")
    shape = 'a "fields" object' if creating else 'an "id" ID field and a "fields" object'
    well_formed = (
        isinstance(items, list)
        and items
        and all(
            isinstance(i, dict)
            and isinstance(i.get("fields", {}), dict)
            and (not need_id or isinstance(i.get("id"), str))
            for i in items
        )
    )
    if not well_formed:
        raise ApiError(
            422,
            "INVALID_RECORDS",
            f"You must provide an array of up to 10 record objects, each with {shape} for cell values.",
        )
    if len(items) > MAX_RECORDS_PER_WRITE:
        verb = "created" if creating else "updated"
        raise ApiError(
            422,
            "INVALID_RECORDS",
            f"A maximum of 10 records can be {verb} per request but you have provided {len(items)}.",
        )
    return items
