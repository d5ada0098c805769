"""Slack alerting: a Dagster resource that posts, and the product's alert messages (Block Kit + fallback text).

``SlackResource`` follows dagster-slack's conventions (a ``token`` field, ``get_client()`` returning a
``slack_sdk.WebClient``, injected by type annotation) but builds its own client, because dagster-slack's
hard-codes Slack's address and we need ``base_url`` to reach the local stand-in and to retry 429s.

The token never appears in repr, logs, metadata or exceptions: errors carry only the channel and Slack's
error code, and are raised ``from None`` so slack_sdk's request (with its Authorization header) isn't chained.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import dagster as dg
from pydantic import Field
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.http_retry import ConnectionErrorRetryHandler, RateLimitErrorRetryHandler

from paperplan_sync import settings

SLACK_API_URL = "https://slack.com/api/"
DEFAULT_CHANNEL = "#airtable"
DEFAULT_TIMEOUT_S = 15

# Bounded so a sensor tick can't hang: Slack's Retry-After is usually a few seconds, the tick timeout 60 s.
RATE_LIMIT_RETRIES = 2
CONNECTION_RETRIES = 2

# Fixed prefixes of the alert texts: the ops team searches Slack for these, other code matches on them.
OFFLINE_TEXT = "Sync application offline"
BACK_ONLINE_TEXT = "Sync application back online"


def report_failed_prefix(report_name: str) -> str:
    return f"Report {_escape(report_name)} failed"


Message = tuple[str, list[dict[str, Any]]]


class SlackError(RuntimeError):
    """Slack refused a call or couldn't be reached. ``error`` is Slack's error code (or ``connection_error``)."""

    def __init__(self, message: str, *, error: str, channel: str | None = None):
        super().__init__(message)
        self.error, self.channel = error, channel


class SlackPostError(SlackError):
    """Posting a message failed; the message names the channel and what to fix."""


_HINTS = {
    "not_authed": "no token was sent; set SLACK_BOT_TOKEN",
    "invalid_auth": "the bot token (SLACK_BOT_TOKEN) is not valid for this workspace",
    "token_revoked": "the bot token (SLACK_BOT_TOKEN) was revoked",
    "token_expired": "the bot token (SLACK_BOT_TOKEN) has expired",
    "account_inactive": "the bot token (SLACK_BOT_TOKEN) belongs to a deactivated app or user",
    "missing_scope": "the bot token lacks the chat:write scope",
    "channel_not_found": "the channel doesn't exist or the app can't see it (check SLACK_CHANNEL, invite the app)",
    "not_in_channel": "the app is not a member of the channel; invite it",
    "is_archived": "the channel is archived",
    "ratelimited": f"Slack kept rate-limiting after {RATE_LIMIT_RETRIES} retries",
    "no_text": "the message had no text (a PaperPlan Sync bug)",
    "invalid_blocks": "Slack rejected the message layout (a PaperPlan Sync bug)",
    "msg_too_long": "the message is too long (a PaperPlan Sync bug)",
}


class SlackResource(dg.ConfigurableResource):
    """Posts PaperPlan Sync's alerts to Slack.

    Production: built by resources.py (token from ``SLACK_BOT_TOKEN``). Local: ``base_url=f"{stand_in_url}/api/"``.
    """

    token: str = Field(repr=False, description="Slack bot token (xoxb-...), normally EnvVar('SLACK_BOT_TOKEN').")
    base_url: str = Field(default=SLACK_API_URL, description="Slack Web API base URL (SLACK_BASE_URL).")
    channel: str = Field(default=DEFAULT_CHANNEL, description="Default channel for alerts (SLACK_CHANNEL).")
    webserver_url: str = Field(
        default=settings.DEFAULT_WEBSERVER_URL,
        description="Dagster webserver address the product calls (DAGSTER_WEBSERVER_URL).",
    )
    ui_url: str = Field(
        default="", description="Where people open the Dagster UI, for links (PAPERPLAN_UI_URL; default webserver_url)."
    )
    timeout_seconds: int = Field(default=DEFAULT_TIMEOUT_S, description="Per-request HTTP timeout.")

    def get_client(self) -> WebClient:
        """A ``slack_sdk.WebClient`` on ``base_url`` that waits out 429s (Retry-After), retries dropped connections."""
        # slack_sdk urljoin()s the method name onto base_url: without the trailing slash "/api" would be lost.
        base_url = self.base_url if self.base_url.endswith("/") else self.base_url + "/"
        return WebClient(
            token=self.token or None,
            base_url=base_url,
            timeout=self.timeout_seconds,
            retry_handlers=[
                ConnectionErrorRetryHandler(max_retry_count=CONNECTION_RETRIES),
                RateLimitErrorRetryHandler(max_retry_count=RATE_LIMIT_RETRIES),
            ],
        )

    def run_url(self, run_id: str) -> str:
        # Behind the login proxy the webserver listens on loopback: links must use the public address.
        return f"{(self.ui_url or self.webserver_url).rstrip('/')}/runs/{run_id}"

    def post(self, text: str, blocks: list[dict[str, Any]] | None = None, channel: str | None = None) -> str:
        """Posts to ``channel`` (default: the configured one); returns the message ts. Raises SlackPostError."""
        target = channel or self.channel
        try:
            response = self.get_client().chat_postMessage(channel=target, text=text, blocks=blocks)
        except SlackApiError as e:
            error = _error_code(e)
            raise SlackPostError(
                f"Slack rejected the message to {target}: {error} ({_HINTS.get(error, 'see Slack API docs')})",
                error=error,
                channel=target,
            ) from None
        except (SlackClientError, OSError) as e:  # URLError, timeouts, refused connections
            raise SlackPostError(
                f"Could not reach Slack at {self.base_url} to post to {target}: {_reason(e)}",
                error="connection_error",
                channel=target,
            ) from None
        ts = str(response["ts"])
        dg.get_dagster_logger().debug(f"Posted to Slack {target} (ts {ts})")
        return ts

    def auth_test(self) -> dict[str, Any]:
        """Checks the token (Slack's auth.test): returns team/user/bot_id, raises SlackError. For `doctor`."""
        try:
            data = self.get_client().auth_test().data
        except SlackApiError as e:
            error = _error_code(e)
            raise SlackError(
                f"Slack auth.test failed: {error} ({_HINTS.get(error, 'see Slack API docs')})", error=error
            ) from None
        except (SlackClientError, OSError) as e:
            message = f"Could not reach Slack at {self.base_url}: {_reason(e)}"
            raise SlackError(message, error="connection_error") from None
        assert isinstance(data, dict)
        return {k: data.get(k) for k in ("team", "team_id", "user", "user_id", "bot_id", "url")}

    def channel_access(self) -> dict[str, Any]:
        """Checks that ``channel`` exists and the bot may post there (for `doctor`); raises SlackError."""
        ref = self.channel
        try:
            found = _find_channel(self.get_client(), ref)
        except SlackApiError as e:
            error = _error_code(e)
            hint = (
                "add the channels:read (and groups:read) scope to the app"
                if error == "missing_scope"
                else _HINTS.get(error, "see Slack API docs")
            )
            raise SlackError(f"Slack could not look up {ref}: {error} ({hint})", error=error, channel=ref) from None
        except (SlackClientError, OSError) as e:
            raise SlackError(
                f"Could not reach Slack at {self.base_url}: {_reason(e)}", error="connection_error", channel=ref
            ) from None
        if problem := channel_problem(found, ref):
            raise problem
        assert found is not None  # channel_problem: a channel not found is a problem
        return {"id": found.get("id"), "name": found.get("name")}


def _find_channel(client: WebClient, ref: str) -> dict | None:
    """conversations.info takes only an ID, so a name is looked up with conversations.list (scope
    channels:read; groups:read for a private channel)."""
    if _is_channel_id(ref):
        return client.conversations_info(channel=ref)["channel"]
    name = ref.lstrip("#").lower()
    for page in client.conversations_list(types="public_channel,private_channel", exclude_archived=False, limit=200):
        found = next((c for c in page["channels"] if c.get("name") == name), None)
        if found:
            return found
    return None


def channel_problem(found: dict | None, ref: str) -> SlackError | None:
    """Why the bot cannot post to the channel Slack described (None: it can)."""
    if not found:
        return SlackError(
            f"Slack channel {ref} does not exist: {_HINTS['channel_not_found']}", error="channel_not_found", channel=ref
        )
    if found.get("is_archived"):
        return SlackError(f"Slack channel {ref} is archived: {_HINTS['is_archived']}", error="is_archived", channel=ref)
    if not found.get("is_member"):
        return SlackError(
            f"the app is not a member of {ref}: invite it (/invite @app in the channel)",
            error="not_in_channel",
            channel=ref,
        )
    return None


def _is_channel_id(ref: str) -> bool:
    return len(ref) > 1 and ref[0] in "CG" and ref[1:].isalnum() and ref.upper() == ref


def _error_code(e: SlackApiError) -> str:
    try:
        return str(e.response.get("error") or f"http_{e.response.status_code}")
    except Exception:  # a non-JSON answer (proxy page etc.)
        return "unexpected_response"


def _reason(e: BaseException) -> str:
    return str(getattr(e, "reason", None) or e) or type(e).__name__


# ---------------------------------------------------------------------------------------------------------
# Message builders: (fallback text, Block Kit blocks). The text is what notifications and search show.

REASON_TEXT_CHARS = 150  # in the notification line
REASON_BLOCK_CHARS = 1500  # section text limit is 3000; a stack trace's head is what's useful
REASON_BLOCK_LINES = 15
HEADER_CHARS = 150  # Slack's header block limit
MAX_PROBLEMS = 10


def report_failed_message(report_name: str, report_date: str | None, reason: str, run_url: str | None) -> Message:
    prefix = report_failed_prefix(report_name)
    date_part = f" for {_escape(report_date)}" if report_date else ""
    text = f"{prefix}{date_part}: {_escape(_first_line(reason, REASON_TEXT_CHARS))}"
    blocks: list[dict[str, Any]] = [
        _header(f":rotating_light: Report {report_name} failed"),
        _fields(("Report", report_name), ("Date", report_date or "n/a")),
        _section(f"*Reason*\n```{_escape(_reason_block(reason, has_run=bool(run_url)))}```"),
    ]
    if run_url:
        blocks.append(_button("View run in Dagster", run_url, "view_run"))
    return text, blocks


def report_late_message(
    report_name: str,
    due_at: datetime,
    report_date: str | None,
    last_report_at: datetime | None,
    *,
    grace: timedelta,
    now: datetime | None = None,
) -> Message:
    hours = f"{grace.total_seconds() / 3600:g} h"
    what = f"the {report_date} report" if report_date else "a new snapshot"
    last = _when(last_report_at, now) if last_report_at else "never"
    text = (
        f"{report_failed_prefix(report_name)}: no report since its run due at {_fmt_dt(due_at)} "
        f"({what} is missing {hours} after it was due; last report {last})"
    )
    blocks = [
        _header(f":hourglass: Report {report_name} failed"),
        _section(f"No report since its run due at {_fmt_dt(due_at)} ({hours} grace)."),
        _fields(("Report", report_name), ("Missing", report_date or "snapshot"), ("Last report", last)),
    ]
    return text, blocks


def report_loading_again_message(report_name: str, loaded_at: datetime | None) -> Message:
    when = _fmt_dt(loaded_at) if loaded_at else "just now"
    text = f"Report {_escape(report_name)} is on time again (loaded {when})"
    return text, [_section(f":white_check_mark: {text}")]


def dead_letter_message(table: str, fields: str, error: str, attempts: int) -> Message:
    text = (
        f"Airtable refused a write to {_escape(table)} {attempts} times; it is set aside "
        f"(field {_escape(fields)}: {_escape(_first_line(error, REASON_TEXT_CHARS))})"
    )
    blocks = [
        _header(":warning: Airtable write set aside"),
        _fields(("Table", table), ("Field", fields), ("Attempts", str(attempts))),
        _section(f"*Airtable's error*\n```{_escape(_reason_block(error, has_run=False))}```"),
        _context("Fix the table or field in Airtable; `paperplan-sync doctor` lists the writes set aside."),
    ]
    return text, blocks


def offline_message(
    heartbeat_at: datetime | None,
    problems: list[str],
    *,
    dagster_url: str | None = None,
    now: datetime | None = None,
) -> Message:
    heartbeat = _when(heartbeat_at, now) if heartbeat_at else "none on record"
    text = f"{OFFLINE_TEXT}: last heartbeat {heartbeat}"
    if problems:
        text += f"; {_escape(_first_line(problems[0], REASON_TEXT_CHARS))}"
    blocks = [_header(f":red_circle: {OFFLINE_TEXT}"), _fields(("Last heartbeat", heartbeat))]
    if problems:
        shown = [f"• {_escape(_first_line(p, 200))}" for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            shown.append(f"… and {len(problems) - MAX_PROBLEMS} more")
        blocks.append(_section("*Problems*\n" + "\n".join(shown)))
    blocks.append(_context("Syncs and report alerts are paused; a “back online” message follows when it recovers."))
    if dagster_url:
        blocks.append(_button("Open Dagster", dagster_url, "open_dagster"))
    return text, blocks


def back_online_message(
    heartbeat_at: datetime | None = None,
    offline_since: datetime | None = None,
    *,
    now: datetime | None = None,
) -> Message:
    text = BACK_ONLINE_TEXT
    if offline_since:
        text += f" after {_duration(offline_since, heartbeat_at or now)} offline"
    fields = []
    if offline_since:
        fields.append(("Offline since", _fmt_dt(offline_since)))
    fields.append(("Heartbeat", _fmt_dt(heartbeat_at) if heartbeat_at else "just now"))
    return text, [_header(f":large_green_circle: {BACK_ONLINE_TEXT}"), _fields(*fields)]


# --- Block Kit helpers -----------------------------------------------------------------------------------


def _escape(s: str) -> str:
    # Slack's mrkdwn control characters; everything else is literal.
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _truncate(s: str, limit: int) -> str:
    return s if len(s) <= limit else s[: limit - 1].rstrip() + "…"


def _first_line(s: str, limit: int) -> str:
    line = next((ln.strip() for ln in s.strip().splitlines() if ln.strip()), "") or "no details"
    return _truncate(line, limit)


def _reason_block(reason: str, *, has_run: bool) -> str:
    lines = reason.strip().replace("\r\n", "\n").replace("```", "'''").splitlines() or ["no details"]
    short = "\n".join(lines[:REASON_BLOCK_LINES])
    if len(lines) <= REASON_BLOCK_LINES and len(short) <= REASON_BLOCK_CHARS:
        return short
    note = "(truncated; full error in the Dagster run)" if has_run else "(truncated)"
    return short[:REASON_BLOCK_CHARS].rstrip() + f"\n… {note}"


def _header(text: str) -> dict[str, Any]:
    return {"type": "header", "text": {"type": "plain_text", "text": _truncate(text, HEADER_CHARS), "emoji": True}}


def _section(mrkdwn: str) -> dict[str, Any]:
    return {"type": "section", "text": {"type": "mrkdwn", "text": _truncate(mrkdwn, 3000)}}


def _fields(*pairs: tuple[str, str]) -> dict[str, Any]:
    # Section fields: max 10, 2000 chars each.
    return {
        "type": "section",
        "fields": [{"type": "mrkdwn", "text": _truncate(f"*{k}*\n{_escape(v)}", 2000)} for k, v in pairs[:10]],
    }


def _context(mrkdwn: str) -> dict[str, Any]:
    return {"type": "context", "elements": [{"type": "mrkdwn", "text": mrkdwn}]}


def _button(label: str, url: str, action_id: str) -> dict[str, Any]:
    return {
        "type": "actions",
        "elements": [
            {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url, "action_id": action_id}
        ],
    }


def _utc(dt: datetime) -> datetime:
    return dt.replace(tzinfo=timezone.utc) if dt.tzinfo is None else dt.astimezone(timezone.utc)  # naive = UTC


def _fmt_dt(dt: datetime) -> str:
    return _utc(dt).strftime("%Y-%m-%d %H:%M UTC")


def _duration(start: datetime, end: datetime | None) -> str:
    seconds = max(0, int((_utc(end or datetime.now(timezone.utc)) - _utc(start)).total_seconds()))
    days, rem = divmod(seconds, 86400)
    hours, rem = divmod(rem, 3600)
    if days:
        return f"{days} d {hours} h"
    if hours:
        return f"{hours} h {rem // 60} min"
    return f"{rem // 60} min"


def _when(dt: datetime, now: datetime | None) -> str:
    return f"{_fmt_dt(dt)}, {_duration(dt, now)} ago"
