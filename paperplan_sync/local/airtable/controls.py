"""What runs around the API: the guard (injected faults, rate limit, auth) and the test-only /_test controls."""

from __future__ import annotations

import asyncio

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from paperplan_sync.local.airtable.errors import ApiError, rate_limited, status_error
from paperplan_sync.local.airtable.payload import json_body, only_keys
from paperplan_sync.local.airtable.ratelimit import Fault, Faults, RateLimiter, Stats
from paperplan_sync.local.airtable.seed import seed_sync_base
from paperplan_sync.local.airtable.store import Store


class FaultControls:
    """``/_test/*``: fault injection, reset and counters. Mounted only with enable_fault_injection."""

    def __init__(self, store: Store, seed: bool, limiter: RateLimiter, faults: Faults, stats: Stats):
        self.store, self.seed, self.limiter, self.faults, self.stats = store, seed, limiter, faults, stats

    def routes(self) -> list[Route]:
        return [
            Route("/_test/faults", self.add_fault, methods=["POST"]),
            Route("/_test/faults", self.list_faults, methods=["GET"]),
            Route("/_test/faults", self.clear_faults, methods=["DELETE"]),
            Route("/_test/reset", self.reset, methods=["POST"]),
            Route("/_test/stats", self.read_stats, methods=["GET"]),
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
        """Wipe and reseed; also forget faults, counters and any rate-limit penalty."""
        self.store.wipe()
        if self.seed:
            seed_sync_base(self.store)
        self.faults.clear()
        self.limiter.reset()
        self.stats.requests = self.stats.rate_limited = self.stats.faults = 0
        return JSONResponse({"reset": True})

    async def read_stats(self, request: Request) -> JSONResponse:
        stats = {"requests": self.stats.requests, "rate_limited": self.stats.rate_limited, "faults": self.stats.faults}
        return JSONResponse({**stats, "in_penalty": self.limiter.in_penalty, "pending_faults": len(self.faults.pending())})


class Guard:
    """Runs before every API request (``/v0/...``): injected faults, then the rate limit, then auth.
    ``/_test/*`` requests pass untouched and uncounted."""

    def __init__(self, app: ASGIApp, api_key: str, limiter: RateLimiter, faults: Faults, stats: Stats):
        self.app, self.api_key, self.limiter, self.faults, self.stats = app, api_key, limiter, faults, stats

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v0/"):
            await self.app(scope, receive, send)
            return
        error = await self._check(scope)
        if error is not None:
            await JSONResponse(error.body(), status_code=error.status)(scope, receive, send)
            return
        await self.app(scope, receive, send)

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
        if authorization[len("Bearer "):].strip() != self.api_key:
            return ApiError(401, "AUTHENTICATION_REQUIRED", "The access token that was provided is invalid")
        return None
