"""The Slack Web API subset PaperPlan Sync uses, shaped like Slack's answers so slack_sdk needs no changes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from paperplan_sync.local.slack.store import Faults, MessageStore, channel_id

TEAM, TEAM_ID = "PaperPlan (local)", "T0LOCAL0001"
USER, USER_ID, BOT_ID = "paperplan-sync", "U0LOCAL0001", "B0LOCAL0001"

MAX_TEXT = 40_000  # Slack truncates/rejects beyond this (msg_too_long)
MAX_BLOCKS = 50  # Slack's per-message block limit (invalid_blocks)


async def read_params(request: Request) -> dict[str, Any]:
    """Slack accepts query string, form and JSON bodies; slack_sdk sends JSON for postMessage, form otherwise."""
    params: dict[str, Any] = dict(request.query_params)
    body = await request.body()
    if not body:
        return params
    content_type = request.headers.get("content-type", "")
    if "application/json" in content_type:
        try:
            data = json.loads(body)
        except ValueError:
            raise BadRequest("invalid_json") from None
        if not isinstance(data, dict):
            raise BadRequest("invalid_json")
        params.update(data)
    else:  # x-www-form-urlencoded (multipart uploads are out of scope)
        params.update(parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True))
    return params


class BadRequest(Exception):
    def __init__(self, error: str):
        super().__init__(error)
        self.error = error


def slack_error(error: str, status_code: int = 200, headers: dict[str, str] | None = None) -> JSONResponse:
    # Slack reports most API errors with HTTP 200 and ok=false; slack_sdk turns that into SlackApiError.
    return JSONResponse({"ok": False, "error": error}, status_code=status_code, headers=headers)


def check_token(request: Request, params: dict[str, Any], expected: str) -> str | None:
    """Returns the Slack error code for a missing/wrong token, or None when authorised."""
    auth = request.headers.get("authorization", "")
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else params.get("token")
    if not token:
        return "not_authed"
    return None if token == expected else "invalid_auth"


def valid_channel(channel: Any) -> bool:
    # Names must be "#name"; IDs look like C0123ABCD. Anything else is treated as a channel that doesn't exist.
    if not isinstance(channel, str):
        return False
    return (channel.startswith("#") and len(channel) > 1) or (channel.startswith("C") and channel[1:].isalnum())


def parse_blocks(raw: Any) -> list | None:
    if raw in (None, ""):
        return None
    if isinstance(raw, str):  # form bodies carry blocks as a JSON string
        try:
            raw = json.loads(raw)
        except ValueError:
            raise BadRequest("invalid_blocks") from None
    if not isinstance(raw, list) or not all(isinstance(b, dict) and "type" in b for b in raw):
        raise BadRequest("invalid_blocks")
    if len(raw) > MAX_BLOCKS:
        raise BadRequest("invalid_blocks")
    return raw


class SlackApi:
    def __init__(self, store: MessageStore, faults: Faults | None, token: str):
        self.store, self.faults, self.token = store, faults, token

    async def _authorised(self, request: Request) -> tuple[dict[str, Any] | None, JSONResponse | None]:
        try:
            params = await read_params(request)
        except BadRequest as e:
            return None, slack_error(e.error)
        error = check_token(request, params, self.token)
        return (None, slack_error(error)) if error else (params, None)

    async def chat_post_message(self, request: Request) -> JSONResponse:
        params, denied = await self._authorised(request)
        if denied:
            return denied
        assert params is not None
        if self.faults is not None and (retry_after := self.faults.take_429()) is not None:
            # What Slack sends when a method's rate limit tier is exceeded.
            return slack_error("ratelimited", 429, headers={"Retry-After": str(retry_after)})
        channel = params.get("channel")
        if not valid_channel(channel):
            return slack_error("channel_not_found")
        try:
            blocks = parse_blocks(params.get("blocks"))
        except BadRequest as e:
            return slack_error(e.error)
        text = params.get("text") or ""
        if not isinstance(text, str):
            return slack_error("invalid_arguments")
        if not text and not blocks:
            return slack_error("no_text")
        if len(text) > MAX_TEXT:
            return slack_error("msg_too_long")
        extra = {k: params[k] for k in ("thread_ts", "username", "icon_emoji") if params.get(k)}
        message = self.store.add(channel, text, blocks, extra)
        return JSONResponse(
            {
                "ok": True,
                "channel": message["channel_id"],
                "ts": message["ts"],
                "message": {
                    "type": "message",
                    "subtype": "bot_message",
                    "text": text,
                    "blocks": blocks or [],
                    "user": USER_ID,
                    "bot_id": BOT_ID,
                    "team": TEAM_ID,
                    "ts": message["ts"],
                },
            }
        )

    async def auth_test(self, request: Request) -> JSONResponse:
        _, denied = await self._authorised(request)
        if denied:
            return denied
        return JSONResponse(
            {
                "ok": True,
                "url": str(request.base_url),
                "team": TEAM,
                "user": USER,
                "team_id": TEAM_ID,
                "user_id": USER_ID,
                "bot_id": BOT_ID,
                "is_enterprise_install": False,
            }
        )

    async def conversations_list(self, request: Request) -> JSONResponse:
        _, denied = await self._authorised(request)
        if denied:
            return denied
        names = sorted(set(self.store.channels()) | {"#airtable"})
        channels = [
            {"id": channel_id(n), "name": n.lstrip("#"), "is_channel": True, "is_member": True, "is_archived": False}
            for n in names
        ]
        return JSONResponse({"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}})

    async def unknown_method(self, request: Request) -> JSONResponse:
        return slack_error("unknown_method", 404)
