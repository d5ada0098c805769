"""Starlette app wiring the Slack API subset, the message inbox and (optionally) fault injection."""

from __future__ import annotations

import json

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route

from paperplan_local.slack.api import SlackApi
from paperplan_local.slack.store import DEFAULT_CHANNELS, Channels, Faults, MessageStore
from paperplan_local.slack.view import render_page

DEV_TOKEN = "xoxb-local-development-token"


def build_app(
    *, token: str | None = None, enable_fault_injection: bool = False, channels: tuple[str, ...] = DEFAULT_CHANNELS
) -> Starlette:
    """A Slack-Web-API-compatible server; point slack_sdk at it with ``base_url=f"{url}/api/"``.

    ``token`` is the only bot token accepted (default ``DEV_TOKEN``). ``channels`` exist, with the app a
    member; any other channel is channel_not_found, as in a real workspace. Test controls (``/_test/faults``,
    ``/_test/outage``, ``/_test/channels``) exist only when fault injection is enabled, so a `make dev`
    server can't be told to misbehave by accident.
    """
    store = MessageStore()
    faults = Faults() if enable_fault_injection else None
    workspace = Channels(channels)
    api = SlackApi(store, faults, token or DEV_TOKEN, workspace)

    async def set_channels(request: Request) -> JSONResponse:
        return await channels_control(workspace, channels, faults, request)

    async def messages(request: Request) -> Response:
        if request.method == "DELETE":
            store.clear()
            return JSONResponse({"ok": True})
        return JSONResponse(store.list(request.query_params.get("channel")))

    async def index(request: Request) -> HTMLResponse:
        return HTMLResponse(render_page(store.list()))

    async def set_faults(request: Request) -> JSONResponse:
        return await faults_control(faults, request)

    async def set_outage(request: Request) -> JSONResponse:
        return await outage_control(faults, request)

    async def health(request: Request) -> JSONResponse:
        return JSONResponse({"ok": True})

    routes = [
        Route("/api/chat.postMessage", api.chat_post_message, methods=["POST"]),
        Route("/api/auth.test", api.auth_test, methods=["GET", "POST"]),
        Route("/api/conversations.list", api.conversations_list, methods=["GET", "POST"]),
        Route("/api/conversations.info", api.conversations_info, methods=["GET", "POST"]),
        Route("/api/{method:str}", api.unknown_method, methods=["GET", "POST"]),
        Route("/messages", messages, methods=["GET", "DELETE"]),
        Route("/_test/faults", set_faults, methods=["GET", "POST", "DELETE"]),
        Route("/_test/outage", set_outage, methods=["GET", "POST"]),
        Route("/_test/channels", set_channels, methods=["GET", "POST", "DELETE"]),
        Route("/healthz", health, methods=["GET"]),
        Route("/", index, methods=["GET"]),
    ]
    return Starlette(routes=routes)


DISABLED = {"ok": False, "error": "fault injection is disabled"}


async def channels_control(
    workspace: Channels, channels: tuple[str, ...], faults: Faults | None, request: Request
) -> JSONResponse:
    """``/_test/channels``: GET lists, POST adds {name, is_member?, is_archived?}, DELETE resets."""
    if faults is None:
        return JSONResponse(DISABLED, status_code=404)
    if request.method == "DELETE":
        workspace.reset(channels)
    elif request.method == "POST":
        try:
            body = json.loads(await request.body() or b"{}")
            workspace.add(
                str(body["name"]),
                is_member=bool(body.get("is_member", True)),
                is_archived=bool(body.get("is_archived", False)),
            )
        except (ValueError, KeyError, TypeError):
            return JSONResponse({"ok": False, "error": "expected {name, is_member?, is_archived?}"}, 400)
    return JSONResponse([c.info() for c in workspace.all()])


async def faults_control(faults: Faults | None, request: Request) -> JSONResponse:
    """``/_test/faults``: GET shows, DELETE clears (an outage too), POST sets {status_429?, retry_after?}."""
    if faults is None:
        return JSONResponse(DISABLED, status_code=404)
    if request.method == "DELETE":
        faults.set()
    elif request.method == "POST":
        try:
            body = json.loads(await request.body() or b"{}")
            status_429, retry_after = int(body.get("status_429", 0)), int(body.get("retry_after", 1))
        except (ValueError, TypeError, AttributeError):
            return JSONResponse({"ok": False, "error": "expected {status_429: int, retry_after: int}"}, 400)
        if status_429 < 0 or retry_after < 0:
            return JSONResponse({"ok": False, "error": "values must be >= 0"}, 400)
        faults.set(status_429=status_429, retry_after=retry_after)
    return JSONResponse(faults.as_dict())


async def outage_control(faults: Faults | None, request: Request) -> JSONResponse:
    """``/_test/outage``: POST {"unavailable": true} refuses every post (503 service_unavailable) until
    {"unavailable": false}; GET shows {"unavailable", "refused"}."""
    if faults is None:
        return JSONResponse(DISABLED, status_code=404)
    if request.method == "POST":
        try:
            body = json.loads(await request.body() or b"{}")
            faults.set_outage(bool(body["unavailable"]))
        except (ValueError, TypeError, KeyError):
            return JSONResponse({"ok": False, "error": "expected {unavailable: bool}"}, 400)
    return JSONResponse(faults.outage())
