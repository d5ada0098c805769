"""The Slack Web API subset PaperPlan Sync uses, shaped like Slack's answers so slack_sdk needs no changes."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse

from paperplan_local.slack.blocks import block_errors
from paperplan_local.slack.store import Channel, Channels, Faults, MessageStore

TEAM, TEAM_ID = "PaperPlan (local)", "T0LOCAL0001"
USER, USER_ID, BOT_ID = "paperplan-sync", "U0LOCAL0001", "B0LOCAL0001"

MAX_TEXT = 40_000  # Slack truncates/rejects beyond this (msg_too_long)


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


class InvalidBlocks(BadRequest):
    def __init__(self, errors: list[str]):
        super().__init__("invalid_blocks")
        self.errors = errors


def parse_blocks(raw: Any) -> list | None:
    """``blocks`` as Slack reads it: a JSON array of objects (else invalid_blocks_format), each of a valid
    Block Kit shape (else invalid_blocks with the reasons)."""
    if raw in (None, ""):
        return None
    if isinstance(raw, str):  # form bodies carry blocks as a JSON string
        try:
            raw = json.loads(raw)
        except ValueError:
            raise BadRequest("invalid_blocks_format") from None
    if not isinstance(raw, list) or not all(isinstance(b, dict) for b in raw):
        raise BadRequest("invalid_blocks_format")
    if errors := block_errors(raw):
        raise InvalidBlocks(errors)
    return raw


class SlackApi:
    def __init__(self, store: MessageStore, faults: Faults | None, token: str, channels: Channels):
        self.store, self.faults, self.token, self.channels = store, faults, token, channels

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
        if (injected := self._injected_fault()) is not None:
            return injected
        ref = params.get("channel")
        channel, refused = self._postable_channel(ref)
        if refused:
            return refused
        assert channel is not None
        try:
            blocks = parse_blocks(params.get("blocks"))
        except InvalidBlocks as e:
            return JSONResponse(
                {
                    "ok": False,
                    "error": e.error,
                    "errors": e.errors,
                    "response_metadata": {"messages": [f"[ERROR] {m}" for m in e.errors]},
                }
            )
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
        message = self.store.add(channel.id, text, blocks, extra, channel_ref=ref)
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

    def _postable_channel(self, ref: Any) -> tuple[Channel | None, JSONResponse | None]:
        channel = self.channels.find(ref) if isinstance(ref, str) and ref else None
        if channel is None:
            return None, slack_error("channel_not_found")
        if channel.is_archived:
            return None, slack_error("is_archived")
        if not channel.is_member:  # a bot with chat:write posts only where it was invited
            return None, slack_error("not_in_channel")
        return channel, None

    def _injected_fault(self) -> JSONResponse | None:
        if self.faults is None:
            return None
        if self.faults.take_refusal():
            # What Slack answers during an outage (its status page's "trouble sending messages").
            return slack_error("service_unavailable", 503)
        if (retry_after := self.faults.take_429()) is not None:
            # What Slack sends when a method's rate limit tier is exceeded.
            return slack_error("ratelimited", 429, headers={"Retry-After": str(retry_after)})
        return None

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
        channels = [c.info() for c in self.channels.all()]
        return JSONResponse({"ok": True, "channels": channels, "response_metadata": {"next_cursor": ""}})

    async def conversations_info(self, request: Request) -> JSONResponse:
        """Like Slack's: ``channel`` must be a channel ID (a name is channel_not_found)."""
        params, denied = await self._authorised(request)
        if denied:
            return denied
        assert params is not None
        ref = params.get("channel")
        channel = self.channels.find(ref) if isinstance(ref, str) and ref.startswith("C") else None
        if channel is None or channel.id != ref:
            return slack_error("channel_not_found")
        return JSONResponse({"ok": True, "channel": channel.info()})

    async def unknown_method(self, request: Request) -> JSONResponse:
        return slack_error("unknown_method", 404)
