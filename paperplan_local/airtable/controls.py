"""What runs around the API: the guard (injected faults, rate limit, auth, monthly quota, per-endpoint counts)
and the test-only /_test controls."""

from __future__ import annotations

import asyncio
from urllib.parse import unquote

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from paperplan_local.airtable.client_edits import client_edit
from paperplan_local.airtable.clock import Clock
from paperplan_local.airtable.errors import ApiError, invalid_request, rate_limited, status_error
from paperplan_local.airtable.model import utc_timestamp
from paperplan_local.airtable.payload import json_body, only_keys
from paperplan_local.airtable.quota import MonthlyQuota
from paperplan_local.airtable.ratelimit import Fault, Faults, RateLimiter, Stats
from paperplan_local.airtable.seed import seed_sync_base
from paperplan_local.airtable.store import Store
from paperplan_local.airtable.webhooks import Webhooks


class FaultControls:
    """``/_test/*``: fault injection, reset, counters, UI-style edits, ping loss and the clock. Mounted only
    with enable_fault_injection."""

    def __init__(
        self,
        store: Store,
        seed: bool,
        limiter: RateLimiter,
        faults: Faults,
        stats: Stats,
        quota: MonthlyQuota,
        webhooks: Webhooks,
        clock: Clock,
    ):
        self.store, self.seed, self.limiter, self.faults, self.stats = store, seed, limiter, faults, stats
        self.quota, self.webhooks, self.clock = quota, webhooks, clock

    def routes(self) -> list[Route]:
        return [
            Route("/_test/faults", self.add_fault, methods=["POST"]),
            Route("/_test/faults", self.list_faults, methods=["GET"]),
            Route("/_test/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_test/reset", self.reset, methods=["POST"]),
            Route("/_test/stats", self.read_stats, methods=["GET"]),
            Route("/_test/stats", self.clear_stats, methods=["DELETE"]),
            Route("/_test/client_edit", self.client_edit, methods=["POST"]),
            Route("/_test/webhooks", self.ping_state, methods=["GET"]),
            Route("/_test/webhooks", self.set_pings, methods=["POST"]),
            Route("/_test/quota", self.set_quota, methods=["POST"]),
            Route("/_test/clock", self.read_clock, methods=["GET"]),
            Route("/_test/clock", self.advance_clock, methods=["POST"]),
        ]

    async def add_fault(self, request: Request) -> JSONResponse:
        body = await json_body(request)
        only_keys(body, {"status", "hang_s", "count"})
        status = body.get("status")
        self.faults.add(Fault(int(status) if status else None, float(body.get("hang_s", 0)), int(body.get("count", 1))))
        return JSONResponse({"pending": self.faults.pending()})

    async def list_faults(self, request: Request) -> JSONResponse:
        return JSONResponse({"pending": self.faults.pending()})

    async def clear_faults(self, request: Request) -> JSONResponse:
        self.faults.clear()
        return JSONResponse({"pending": []})

    async def reset(self, request: Request) -> JSONResponse:
        """Wipe and reseed; also forget webhooks, faults, counters (the month's calls too), the clock offset
        and any rate-limit penalty."""
        self.webhooks.reset()
        self.store.wipe()
        if self.seed:
            seed_sync_base(self.store)
        self.faults.clear()
        self.limiter.reset()
        self.stats.clear()
        self.quota.reset()
        self.clock.reset()
        return JSONResponse({"reset": True})

    async def read_stats(self, request: Request) -> JSONResponse:
        s = self.stats
        return JSONResponse(
            {
                "requests": s.requests,
                "rate_limited": s.rate_limited,
                "quota_limited": s.quota_limited,
                "responses_429": s.responses_429,
                "faults": s.faults,
                "by_endpoint": dict(sorted(s.by_endpoint.items())),
                "month": self.quota.snapshot(),
                "in_penalty": self.limiter.in_penalty,
                "pending_faults": len(self.faults.pending()),
            }
        )

    async def clear_stats(self, request: Request) -> JSONResponse:
        """Zero the request counters (not the month's calls, not the data): start of a measured window."""
        self.stats.clear()
        return await self.read_stats(request)

    async def client_edit(self, request: Request) -> JSONResponse:
        body = await json_body(request)
        only_keys(body, {"table", "op", "record_id", "fields", "typecast"})
        if not isinstance(body.get("table"), str):
            raise invalid_request("table must name a table (name or id)")
        return JSONResponse(
            client_edit(
                self.store,
                body["table"],
                body.get("op"),
                body.get("record_id"),
                body.get("fields"),
                bool(body.get("typecast")),
            )
        )

    async def ping_state(self, request: Request) -> JSONResponse:
        return JSONResponse(self.webhooks.ping_state())

    async def set_pings(self, request: Request) -> JSONResponse:
        body = await json_body(request)
        only_keys(body, {"pings"})
        if not isinstance(body.get("pings"), bool):
            raise invalid_request('Send {"pings": true} or {"pings": false}')
        self.webhooks.pings_enabled = body["pings"]
        return JSONResponse(self.webhooks.ping_state())

    async def set_quota(self, request: Request) -> JSONResponse:
        """{"cap": N or null}: the workspace's monthly cap from now on (e.g. the month's calls: used up)."""
        body = await json_body(request)
        only_keys(body, {"cap"})
        cap = body.get("cap")
        if cap is not None and (not isinstance(cap, int) or cap < 0):
            raise invalid_request('Send {"cap": a whole number >= 0} or {"cap": null}')
        self.quota.cap = cap
        return JSONResponse(self.quota.snapshot())

    async def read_clock(self, request: Request) -> JSONResponse:
        return JSONResponse({"now": utc_timestamp(self.clock.now()), "offset_s": self.clock.offset.total_seconds()})

    async def advance_clock(self, request: Request) -> JSONResponse:
        body = await json_body(request)
        only_keys(body, {"advance_s"})
        seconds = body.get("advance_s")
        if not isinstance(seconds, (int, float)) or isinstance(seconds, bool) or seconds < 0:
            raise invalid_request("advance_s must be a number of seconds, 0 or more")
        self.clock.advance(seconds)
        return await self.read_clock(request)


class Guard:
    """Runs before every API request (``/v0/...``): injected faults, then the rate limit, then auth, then the
    monthly quota (which counts the call). ``/_test/*`` requests pass untouched and uncounted."""

    def __init__(
        self,
        app: ASGIApp,
        api_key: str,
        limiter: RateLimiter,
        faults: Faults,
        stats: Stats,
        quota: MonthlyQuota,
        store: Store,
    ):
        self.app, self.api_key, self.limiter, self.faults, self.stats = app, api_key, limiter, faults, stats
        self.quota, self.store = quota, store

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v0/"):
            await self.app(scope, receive, send)
            return

        async def counting_send(message: dict) -> None:
            if message["type"] == "http.response.start" and message["status"] == 429:
                self.stats.responses_429 += 1
            await send(message)

        self.stats.by_endpoint[endpoint_key(scope["method"], scope["path"], self._table_name)] += 1
        error = await self._check(scope)
        if error is not None:
            await JSONResponse(error.body(), status_code=error.status)(scope, receive, counting_send)
            return
        await self.app(scope, receive, counting_send)

    def _table_name(self, id_or_name: str) -> str:
        try:
            return self.store.table(id_or_name).name
        except ApiError:
            return id_or_name

    async def _check(self, scope: Scope) -> ApiError | None:
        self.stats.requests += 1
        fault = self.faults.take()
        if fault is not None:
            self.stats.faults += 1
            if fault.hang_s > 0:
                await asyncio.sleep(fault.hang_s)
            if fault.status:
                return status_error(fault.status)
        if not self.limiter.allow():
            self.stats.rate_limited += 1
            return rate_limited()
        authorization = Headers(scope=scope).get("authorization", "")
        if not authorization.startswith("Bearer "):
            return ApiError(401, "AUTHENTICATION_REQUIRED", "Authentication required")
        if authorization[len("Bearer ") :].strip() != self.api_key:
            return ApiError(401, "AUTHENTICATION_REQUIRED", "The access token that was provided is invalid")
        refused = self.quota.admit()
        if refused is not None:
            self.stats.quota_limited += 1
        return refused


def endpoint_key(method: str, path: str, table_name) -> str:
    """How /_test/stats names a request: method, route kind and table name ("GET Report Types",
    "PATCH Reports", "GET Logs/record", "POST Reports/listRecords", "GET webhooks/payloads", "GET meta/tables")."""
    parts = [unquote(p) for p in path.split("/")[2:] if p]  # after /v0/
    if parts[:1] == ["meta"]:
        rest = parts[1:]
        if rest[:1] == ["bases"] and len(rest) >= 3:  # bases/{base}/tables[/{table}[/fields[/{field}]]]
            kind = "meta/fields" if "fields" in rest[4:] else "meta/tables"
            return f"{method} {kind}" + (f" {table_name(rest[3])}" if len(rest) > 3 else "")
        return f"{method} meta/{'/'.join(rest)}"
    if len(parts) >= 3 and parts[0] == "bases" and parts[2] == "webhooks":
        return f"{method} webhooks" + (f"/{parts[4]}" if len(parts) > 4 else "")
    if len(parts) == 2:
        return f"{method} {table_name(parts[1])}"
    if len(parts) == 3:
        suffix = "listRecords" if parts[2] == "listRecords" else "record"
        return f"{method} {table_name(parts[1])}/{suffix}"
    return f"{method} {path}"
