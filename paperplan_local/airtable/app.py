"""The stand-in's HTTP face: ``build_app`` and the Airtable Web API routes (records, metadata, webhooks)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from paperplan_local.airtable.clock import Clock
from paperplan_local.airtable.controls import FaultControls, Guard
from paperplan_local.airtable.errors import ApiError, invalid_request, not_found
from paperplan_local.airtable.model import Field, Table
from paperplan_local.airtable.payload import MAX_RECORDS_PER_WRITE, json_body, only_keys, records_payload
from paperplan_local.airtable.query import ListQuery, list_page, query_from_body, query_from_params, render
from paperplan_local.airtable.quota import OVER_CAP_RATE_PER_S, MonthlyQuota
from paperplan_local.airtable.ratelimit import Faults, RateLimiter, Stats
from paperplan_local.airtable.seed import seed_sync_base
from paperplan_local.airtable.store import Store
from paperplan_local.airtable.ui import BaseUI
from paperplan_local.airtable.webhooks import Webhooks

DEFAULT_BASE_ID = "appPaperPlanLocal"  # "app" + 14 characters, like a real base id
DEFAULT_API_KEY = "patPaperPlanLocal.localdevelopmentkey"  # opens only this stand-in
BASE_NAME = "SYNC"
USER_ID = "usrPaperPlanLocal"
USER = {"id": USER_ID, "email": "dev@paperplan.local", "name": "Local Developer", "permissionLevel": "create"}
STATE_FILE = "airtable.sqlite3"


def build_app(
    state_dir: str | Path | None = None,
    base_id: str | None = None,
    api_key: str | None = None,
    seed: bool = True,
    rate_limit_per_s: float = 5.0,
    penalty_s: float = 30.0,
    enable_fault_injection: bool = False,
    monthly_quota: int | None = None,
    over_quota_rate_per_s: float = OVER_CAP_RATE_PER_S,
) -> Starlette:
    """An Airtable-compatible ASGI app serving one base. ``state_dir`` None keeps the state in memory;
    otherwise it lives in ``<state_dir>/airtable.sqlite3`` across restarts (records, webhooks, the month's
    call count). ``seed`` fills an empty state with the SYNC base and its demo rows. ``monthly_quota`` caps the
    calls a calendar month (None: no cap); past it calls are served at ``over_quota_rate_per_s`` (0: refused).
    Fault injection adds the ``/_test/*`` endpoints (tests only)."""
    base_id = base_id or os.environ.get("AIRTABLE_BASE_ID") or DEFAULT_BASE_ID
    api_key = api_key or os.environ.get("AIRTABLE_API_KEY") or DEFAULT_API_KEY
    path = None
    if state_dir is not None:
        Path(state_dir).mkdir(parents=True, exist_ok=True)
        path = Path(state_dir) / STATE_FILE
    store = Store(path)
    if seed and store.is_empty():
        seed_sync_base(store)

    clock = Clock()
    limiter, faults, stats = RateLimiter(rate_limit_per_s, penalty_s), Faults(), Stats()
    quota = MonthlyQuota(store, clock, monthly_quota, over_quota_rate_per_s)
    webhooks = Webhooks(store, base_id, clock, USER)
    routes = _WebhookApi(webhooks, base_id).routes() + _Api(store, base_id).routes()
    routes += BaseUI(store, BASE_NAME).routes()  # the clickable page at /
    if enable_fault_injection:
        routes += FaultControls(
            store, seed, limiter, faults, stats, quota=quota, webhooks=webhooks, clock=clock
        ).routes()
    guard = Middleware(Guard, api_key=api_key, limiter=limiter, faults=faults, stats=stats, quota=quota, store=store)
    app = Starlette(
        routes=routes, middleware=[guard], exception_handlers={ApiError: _api_error, HTTPException: _http_error}
    )
    app.state.store, app.state.limiter, app.state.faults, app.state.stats = store, limiter, faults, stats
    app.state.base_id, app.state.quota, app.state.webhooks, app.state.clock = base_id, quota, webhooks, clock
    return app


async def _api_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    return JSONResponse(exc.body(), status_code=exc.status)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, HTTPException)
    if exc.status_code == 404:
        return JSONResponse(not_found().body(), status_code=404)
    return JSONResponse(
        {"error": {"type": "INVALID_REQUEST_UNKNOWN", "message": str(exc.detail)}}, status_code=exc.status_code
    )


class _WebhookApi:
    """Routed before the record routes: ``/v0/bases/{id}/webhooks/{hook}`` would also match
    ``/v0/{base}/{table}/{record}``."""

    def __init__(self, webhooks: Webhooks, base_id: str):
        self.webhooks, self.base_id = webhooks, base_id

    def routes(self) -> list[Route]:
        hooks = "/v0/bases/{base_id}/webhooks"
        return [
            Route(hooks, self.list, methods=["GET"]),
            Route(hooks, self.create, methods=["POST"]),
            Route(hooks + "/{hook}", self.delete, methods=["DELETE"]),
            Route(hooks + "/{hook}/refresh", self.refresh, methods=["POST"]),
            Route(hooks + "/{hook}/enableNotifications", self.enable, methods=["POST"]),
            Route(hooks + "/{hook}/payloads", self.payloads, methods=["GET"]),
        ]

    def _hook(self, request: Request) -> str:
        if request.path_params["base_id"] != self.base_id:
            raise not_found()
        return request.path_params.get("hook", "")

    async def list(self, request: Request) -> JSONResponse:
        self._hook(request)
        return JSONResponse(self.webhooks.list())

    async def create(self, request: Request) -> JSONResponse:
        self._hook(request)
        return JSONResponse(self.webhooks.create(await json_body(request)))

    async def delete(self, request: Request) -> JSONResponse:
        return JSONResponse(self.webhooks.delete(self._hook(request)))

    async def refresh(self, request: Request) -> JSONResponse:
        return JSONResponse(self.webhooks.refresh(self._hook(request)))

    async def enable(self, request: Request) -> JSONResponse:
        hook = self._hook(request)
        return JSONResponse(self.webhooks.enable_notifications(hook, await json_body(request)))

    async def payloads(self, request: Request) -> JSONResponse:
        params = request.query_params
        return JSONResponse(self.webhooks.payloads(self._hook(request), params.get("cursor"), params.get("limit")))


class _Api:
    def __init__(self, store: Store, base_id: str):
        self.store, self.base_id = store, base_id

    def routes(self) -> list[Route]:
        meta = "/v0/meta/bases/{base_id}/tables"
        records = "/v0/{base_id}/{table}"
        return [
            Route("/v0/meta/whoami", self.whoami, methods=["GET"]),
            Route("/v0/meta/bases", self.bases, methods=["GET"]),
            Route(meta, self.schema, methods=["GET"]),
            Route(meta, self.create_table, methods=["POST"]),
            Route(meta + "/{table}", self.update_table, methods=["PATCH"]),
            Route(meta + "/{table}/fields", self.create_field, methods=["POST"]),
            Route(meta + "/{table}/fields/{field}", self.update_field, methods=["PATCH"]),
            Route(records + "/listRecords", self.list_records_post, methods=["POST"]),
            Route(records, self.list_records, methods=["GET"]),
            Route(records, self.create_records, methods=["POST"]),
            Route(records, self.update_records, methods=["PATCH", "PUT"]),
            Route(records, self.delete_records, methods=["DELETE"]),
            Route(records + "/{record_id}", self.get_record, methods=["GET"]),
            Route(records + "/{record_id}", self.update_record, methods=["PATCH", "PUT"]),
            Route(records + "/{record_id}", self.delete_record, methods=["DELETE"]),
        ]

    def _check_base(self, request: Request) -> None:
        if request.path_params["base_id"] != self.base_id:
            raise not_found()

    def _table(self, request: Request) -> Table:
        self._check_base(request)
        return self.store.table(request.path_params["table"])

    # --- metadata ------------------------------------------------------------------------------------

    async def whoami(self, request: Request) -> JSONResponse:
        return JSONResponse({"id": USER_ID})

    async def bases(self, request: Request) -> JSONResponse:
        return JSONResponse({"bases": [{"id": self.base_id, "name": BASE_NAME, "permissionLevel": "create"}]})

    async def schema(self, request: Request) -> JSONResponse:
        self._check_base(request)
        include = request.query_params.getlist("include") + request.query_params.getlist("include[]")
        visible = "visibleFieldIds" in include
        return JSONResponse({"tables": [t.meta(visible_field_ids=visible) for t in self.store.tables()]})

    async def create_table(self, request: Request) -> JSONResponse:
        self._check_base(request)
        body = await json_body(request)
        only_keys(body, {"name", "description", "fields"})
        table = self.store.create_table(body.get("name"), body.get("fields"), body.get("description"))
        return JSONResponse(table.meta())

    async def update_table(self, request: Request) -> JSONResponse:
        table = self.store.update_table(self._table(request), await json_body(request))
        return JSONResponse(table.meta())

    async def create_field(self, request: Request) -> JSONResponse:
        table = self._table(request)
        body = await json_body(request)
        only_keys(body, {"name", "type", "description", "options"})
        return JSONResponse(self.store.create_field(table, body).meta())

    async def update_field(self, request: Request) -> JSONResponse:
        table = self._table(request)
        field = self.store.update_field(table, request.path_params["field"], await json_body(request))
        return JSONResponse(field.meta())

    # --- records -------------------------------------------------------------------------------------

    async def list_records(self, request: Request) -> JSONResponse:
        return self._list(self._table(request), query_from_params(request.query_params.multi_items()))

    async def list_records_post(self, request: Request) -> JSONResponse:
        table = self._table(request)
        query = query_from_body(await json_body(request))
        query_from_params(request.query_params.multi_items())  # pyairtable keeps timeZone / userLocale here
        return self._list(table, query)

    def _list(self, table: Table, query: ListQuery) -> JSONResponse:
        texts: dict[str, dict[str, str]] = {}

        def link_text(field: Field, ids: list[str]) -> str:
            linked = field.options["linkedTableId"]
            if linked not in texts:
                texts[linked] = self.store.primary_texts(linked)
            return ", ".join(texts[linked].get(i, "") for i in ids)

        page, offset = list_page(table, self.store.records(table), query, link_text)
        records = [render(table, r, query.fields, query.by_field_id) for r in page]
        if query.comment_count:
            records = [{**r, "commentCount": 0} for r in records]
        body: dict[str, Any] = {"records": records}
        if offset:
            body["offset"] = offset
        return JSONResponse(body)

    async def get_record(self, request: Request) -> JSONResponse:
        table = self._table(request)
        record = self.store.get(table, request.path_params["record_id"])
        return JSONResponse(
            render(table, record, by_field_id=_by_field_id(request.query_params.get("returnFieldsByFieldId")))
        )

    async def create_records(self, request: Request) -> JSONResponse:
        table = self._table(request)
        body = await json_body(request)
        only_keys(body, {"records", "fields", "typecast", "returnFieldsByFieldId"})
        typecast, by_id = bool(body.get("typecast")), bool(body.get("returnFieldsByFieldId"))
        if "records" in body:
            items = records_payload(body, need_id=False, creating=True)
            created = self.store.create_records(table, [i.get("fields", {}) for i in items], typecast)
            return JSONResponse({"records": [render(table, r, by_field_id=by_id) for r in created]})
        if "fields" not in body:
            raise ApiError(422, "INVALID_REQUEST_MISSING_FIELDS", 'Could not find field "fields" in the request body')
        (record,) = self.store.create_records(table, [body["fields"]], typecast)
        return JSONResponse(render(table, record, by_field_id=by_id))

    async def update_records(self, request: Request) -> JSONResponse:
        table = self._table(request)
        body = await json_body(request)
        only_keys(body, {"records", "typecast", "returnFieldsByFieldId", "performUpsert"})
        typecast, by_id, replace = (
            bool(body.get("typecast")),
            bool(body.get("returnFieldsByFieldId")),
            request.method == "PUT",
        )
        upsert = body.get("performUpsert")
        items = records_payload(body, need_id=upsert is None, creating=False)
        if upsert is None:
            updates = [(i["id"], i.get("fields", {})) for i in items]
            updated = self.store.update_records(table, updates, replace, typecast)
            return JSONResponse({"records": [render(table, r, by_field_id=by_id) for r in updated]})
        merge_on = upsert.get("fieldsToMergeOn") if isinstance(upsert, dict) else None
        if (
            not isinstance(merge_on, list)
            or not 1 <= len(merge_on) <= 3
            or not all(isinstance(m, str) for m in merge_on)
        ):
            raise invalid_request("performUpsert.fieldsToMergeOn must list 1 to 3 field names or ids")
        records, created, updated = self.store.upsert_records(table, items, merge_on, replace, typecast)
        return JSONResponse(
            {
                "records": [render(table, r, by_field_id=by_id) for r in records],
                "createdRecords": created,
                "updatedRecords": updated,
            }
        )

    async def update_record(self, request: Request) -> JSONResponse:
        table = self._table(request)
        record = self.store.get(table, request.path_params["record_id"])
        body = await json_body(request)
        only_keys(body, {"fields", "typecast", "returnFieldsByFieldId"})
        if "fields" not in body:
            raise ApiError(422, "INVALID_REQUEST_MISSING_FIELDS", 'Could not find field "fields" in the request body')
        (updated,) = self.store.update_records(
            table, [(record.id, body["fields"])], request.method == "PUT", bool(body.get("typecast"))
        )
        return JSONResponse(render(table, updated, by_field_id=bool(body.get("returnFieldsByFieldId"))))

    async def delete_records(self, request: Request) -> JSONResponse:
        table = self._table(request)
        ids = request.query_params.getlist("records[]") + request.query_params.getlist("records")
        if not ids or len(ids) > MAX_RECORDS_PER_WRITE:
            raise ApiError(422, "INVALID_RECORDS", f"Provide 1 to 10 records[] to delete; you provided {len(ids)}.")
        self.store.delete_records(table, ids)
        return JSONResponse({"records": [{"id": i, "deleted": True} for i in ids]})

    async def delete_record(self, request: Request) -> JSONResponse:
        table = self._table(request)
        record = self.store.get(table, request.path_params["record_id"])
        self.store.delete_records(table, [record.id])
        return JSONResponse({"id": record.id, "deleted": True})


def _by_field_id(value: str | None) -> bool:
    return (value or "").lower() in ("1", "true")
