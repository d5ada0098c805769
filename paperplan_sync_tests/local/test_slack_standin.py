"""The local Slack is as strict as Slack: unknown channels, membership, Block Kit shape; `doctor`'s channel check."""

from __future__ import annotations

import httpx
import pytest
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from paperplan_sync.alerting.slack import SlackError, report_failed_message


def post(slack, **params):
    return httpx.post(
        f"{slack.api_url}chat.postMessage", json=params, headers={"Authorization": f"Bearer {slack.token}"}, timeout=5
    ).json()


def test_a_channel_that_does_not_exist_is_channel_not_found_and_bare_names_work(slack):
    assert post(slack, channel="#airtabel", text="typo")["error"] == "channel_not_found"
    assert post(slack, channel="C0NOTREAL1", text="unknown id")["error"] == "channel_not_found"
    for ref in ("airtable", "#airtable"):
        assert post(slack, channel=ref, text=f"to {ref}")["ok"]
    assert [m["text"] for m in slack.messages("#airtable")] == ["to airtable", "to #airtable"]


def test_a_channel_the_app_was_not_invited_to_or_archived_refuses_posts(slack):
    slack.add_channel("ops", is_member=False)
    slack.add_channel("old-alerts", is_archived=True)
    assert post(slack, channel="ops", text="x")["error"] == "not_in_channel"
    assert post(slack, channel="#old-alerts", text="x")["error"] == "is_archived"


@pytest.mark.parametrize(
    "blocks, error",
    [
        ([{"type": "section"}], "must define either `text` or `fields` [json-pointer:/blocks/0]"),
        (
            [{"type": "header", "text": {"type": "mrkdwn", "text": "x"}}],
            "must be a text object of type plain_text [json-pointer:/blocks/0/text]",
        ),
        (
            [{"type": "header", "text": {"type": "plain_text", "text": "x" * 151}}],
            "must be less than 151 characters [json-pointer:/blocks/0/text/text]",
        ),
        (
            [{"type": "section", "fields": [{"type": "mrkdwn", "text": "f"}] * 11}],
            "must provide between 1 and 10 items [json-pointer:/blocks/0/fields]",
        ),
        (
            [{"type": "context", "elements": []}],
            "must provide between 1 and 10 items [json-pointer:/blocks/0/elements]",
        ),
        ([{"type": "fancy"}], "unsupported type `fancy` [json-pointer:/blocks/0/type]"),
    ],
)
def test_blocks_of_the_wrong_shape_are_invalid_blocks_with_slacks_reasons(slack, blocks, error):
    answer = post(slack, channel="#airtable", text="fallback", blocks=blocks)
    assert (answer["ok"], answer["error"], answer["errors"]) == (False, "invalid_blocks", [error])
    assert answer["response_metadata"]["messages"] == [f"[ERROR] {error}"]
    assert post(slack, channel="#airtable", text="x", blocks="not json")["error"] == "invalid_blocks_format"
    assert slack.messages() == []


def test_the_products_own_messages_pass_the_shape_checks(slack):
    text, blocks = report_failed_message(
        "sales_report", "2026-11-20", "FATAL: " + "x" * 5000, "http://127.0.0.1:3000/runs/r1"
    )
    assert slack.resource().post(text, blocks=blocks)


def test_conversations_info_takes_an_id_like_slack(slack):
    client = WebClient(slack.token, base_url=slack.api_url)
    channel_id = client.conversations_list()["channels"][0]["id"]
    assert client.conversations_info(channel=channel_id)["channel"]["name"] == "airtable"
    with pytest.raises(SlackApiError, match="channel_not_found"):
        client.conversations_info(channel="#airtable")


def test_the_channel_check_of_doctor_names_the_problem(slack):
    assert slack.resource().channel_access()["name"] == "airtable"
    assert slack.resource(channel="airtable").channel_access()["name"] == "airtable"
    channel_id = slack.add_channel("airtable")["id"]
    assert slack.resource(channel=channel_id).channel_access() == {"id": channel_id, "name": "airtable"}
    slack.add_channel("ops", is_member=False)
    for channel, error in (("#airtabel", "channel_not_found"), ("#ops", "not_in_channel")):
        with pytest.raises(SlackError) as caught:
            slack.resource(channel=channel).channel_access()
        assert caught.value.error == error and channel in str(caught.value)
