"""Slack alerting end to end: SlackResource -> unmodified slack_sdk WebClient -> HTTP -> local Slack stand-in."""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone

import dagster as dg
import httpx
import pytest
from slack_sdk import WebClient

from paperplan_local.runner import ServerThread, free_port
from paperplan_local.slack import build_app
from paperplan_sync.alerting.slack import (
    BACK_ONLINE_TEXT,
    OFFLINE_TEXT,
    SlackPostError,
    SlackResource,
    back_online_message,
    offline_message,
    report_failed_message,
    report_late_message,
)

NOW = datetime(2026, 11, 26, 5, 45, tzinfo=timezone.utc)


def texts(blocks: list[dict]) -> str:
    """All visible text of a Block Kit payload, one piece per line."""
    out: list[str] = []
    for block in blocks:
        parts = [block.get("text"), *(block.get("fields") or []), *(block.get("elements") or [])]
        out += [p["text"] if isinstance(p["text"], str) else p["text"]["text"] for p in parts if p and "text" in p]
    return "\n".join(out)


def test_failure_alert_lands_with_text_blocks_and_run_link(slack):
    resource = slack.resource(webserver_url="http://dagster.local:3000/")
    run_url = resource.run_url("0f3c-run")
    text, blocks = report_failed_message("sp_orders", "2026-11-25", "SP-API answered 403 Unauthorized", run_url)

    ts = resource.post(text, blocks)

    [message] = slack.messages(channel="#airtable")
    assert message["text"] == text == "Report sp_orders failed for 2026-11-25: SP-API answered 403 Unauthorized"
    assert message["blocks"] == blocks
    assert message["ts"] == ts
    assert run_url == "http://dagster.local:3000/runs/0f3c-run"
    buttons = [e for b in blocks if b["type"] == "actions" for e in b["elements"]]
    assert [(b["text"]["text"], b["url"]) for b in buttons] == [("View run in Dagster", run_url)]
    assert "*Date*\n2026-11-25" in texts(blocks)


def test_long_reason_is_cut_to_something_readable():
    reason = "Traceback (most recent call last):\n" + "\n".join(f'  File "x.py", line {i}' for i in range(500))
    text, blocks = report_failed_message("ads_spend", None, reason, None)
    assert text == "Report ads_spend failed: Traceback (most recent call last):"
    reason_block = blocks[2]["text"]["text"]
    assert len(reason_block) < 1700 and reason_block.endswith("(truncated)```")
    assert not any(b["type"] == "actions" for b in blocks)  # no run, no button
    assert "*Date*\nn/a" in texts(blocks)


@pytest.mark.parametrize(("token", "error"), [("xoxb-wrong-SECRET-123", "invalid_auth"), ("", "not_authed")])
def test_bad_token_gives_clear_error_without_the_token(slack, token, error):
    resource = slack.resource(token=token)
    with pytest.raises(SlackPostError) as caught:
        resource.post("hello")
    message = str(caught.value)
    assert error in message and "#airtable" in message and "SLACK_BOT_TOKEN" in message
    assert caught.value.error == error and caught.value.__cause__ is None
    if token:
        assert token not in message and token not in repr(caught.value) and token not in repr(resource)
    assert slack.messages() == []


def test_unknown_channel_is_named_in_the_error(slack):
    with pytest.raises(SlackPostError, match=r"does-not-exist: channel_not_found") as caught:
        slack.resource().post("hello", channel="does-not-exist")
    assert caught.value.channel == "does-not-exist"
    assert slack.messages() == []


@pytest.mark.slow
def test_rate_limit_is_waited_out_and_the_message_lands_once(slack):
    slack.inject(status_429=1, retry_after=1)
    started = time.monotonic()
    ts = slack.resource().post(*report_failed_message("sp_orders", "2026-11-25", "boom", None))
    assert time.monotonic() - started >= 1  # honoured Retry-After
    assert slack.faults() == {"status_429": 0, "retry_after": 1, "served_429": 1}
    assert [m["ts"] for m in slack.messages()] == [ts]


@pytest.mark.slow
def test_persistent_rate_limit_gives_up_with_a_clear_error(slack):
    slack.inject(status_429=10, retry_after=0)
    with pytest.raises(SlackPostError, match="#airtable: ratelimited"):
        slack.resource().post("hello")
    assert slack.faults()["served_429"] == 3  # first try + 2 retries, bounded
    assert slack.messages() == []


@pytest.mark.slow
def test_unreachable_slack_is_a_clear_error(slack):
    resource = slack.resource(base_url=f"http://127.0.0.1:{free_port()}/api/")
    with pytest.raises(SlackPostError, match=r"Could not reach Slack at .* to post to #airtable") as caught:
        resource.post("hello")
    assert caught.value.error == "connection_error"


def test_offline_then_back_online(slack):
    resource = slack.resource()
    heartbeat = NOW - timedelta(hours=3, minutes=5)
    problems = ["daemon heartbeat is 3 h old", "sensor sync_tick <failed> 4 times"]
    resource.post(*offline_message(heartbeat, problems, now=NOW, dagster_url="http://127.0.0.1:3000"))
    resource.post(*back_online_message(heartbeat_at=NOW, offline_since=heartbeat))

    offline, online = slack.messages("#airtable")
    assert offline["text"] == (
        f"{OFFLINE_TEXT}: last heartbeat 2026-11-26 02:40 UTC, 3 h 5 min ago; daemon heartbeat is 3 h old"
    )
    assert "• sensor sync_tick &lt;failed&gt; 4 times" in texts(offline["blocks"])  # mrkdwn-escaped
    assert online["text"] == f"{BACK_ONLINE_TEXT} after 3 h 5 min offline"
    assert float(online["ts"]) > float(offline["ts"])


def test_late_report_message():
    text, blocks = report_late_message(
        "sp_orders",
        NOW - timedelta(hours=3),
        "2026-11-25",
        NOW - timedelta(hours=30),
        grace=timedelta(hours=2),
        now=NOW,
    )
    assert text == (
        "Report sp_orders failed: no report since its run due at 2026-11-26 02:45 UTC "
        "(the 2026-11-25 report is missing 2 h after it was due; last report 2026-11-24 23:45 UTC, 1 d 6 h ago)"
    )
    assert blocks[1]["text"]["text"] == "No report since its run due at 2026-11-26 02:45 UTC (2 h grace)."


def test_resource_injected_into_an_asset_like_dagster_slack(slack):
    @dg.asset
    def notify(slack: SlackResource) -> None:
        slack.post("from an asset")

    result = dg.materialize([notify], resources={"slack": slack.resource()})
    assert result.success
    assert [m["text"] for m in slack.messages()] == ["from an asset"]


def test_stand_in_speaks_slack_to_a_plain_client_and_form_posts(slack):
    client = WebClient(slack.token, base_url=slack.api_url)
    assert client.auth_test()["bot_id"]
    channel_id = slack.add_channel("ops-form")["id"]
    answer = httpx.post(
        f"{slack.api_url}chat.postMessage",
        data={"token": slack.token, "channel": channel_id, "text": "form <post>"},
    ).json()
    assert answer["ok"] and answer["channel"] == channel_id and answer["message"]["text"] == "form <post>"
    assert httpx.post(
        f"{slack.api_url}chat.postMessage", data={"token": slack.token, "channel": "#airtable"}
    ).json() == {
        "ok": False,
        "error": "no_text",
    }
    assert [m["text"] for m in slack.messages(channel_id)] == ["form <post>"]
    assert "form &lt;post&gt;" in httpx.get(slack.url + "/").text


def test_fault_injection_is_off_unless_enabled():
    with ServerThread(build_app()) as server:
        assert httpx.post(f"{server.url}/_test/faults", json={"status_429": 1}).status_code == 404


def test_run_links_use_the_public_ui_address_behind_the_proxy():
    from paperplan_sync.alerting.slack import SlackResource

    behind_proxy = SlackResource(token="x", webserver_url="http://127.0.0.1:3000", ui_url="https://sync.example.com/")

    assert behind_proxy.run_url("abc") == "https://sync.example.com/runs/abc"
    assert (
        SlackResource(token="x", webserver_url="http://127.0.0.1:3000").run_url("abc")
        == "http://127.0.0.1:3000/runs/abc"
    )


@pytest.mark.parametrize(
    "found,error",
    [
        (None, "channel_not_found"),
        ({"id": "C1", "name": "alerts", "is_archived": True, "is_member": True}, "is_archived"),
        ({"id": "C1", "name": "alerts", "is_member": False}, "not_in_channel"),
        ({"id": "C1", "name": "alerts", "is_member": True}, None),
    ],
)
def test_why_the_bot_cannot_post_to_a_channel_slack_described(found, error):
    from paperplan_sync.alerting.slack import channel_problem

    problem = channel_problem(found, "#alerts")
    assert (problem.error if problem else None) == error
    assert problem is None or problem.channel == "#alerts"
