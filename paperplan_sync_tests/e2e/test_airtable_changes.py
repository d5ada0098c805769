"""Airtable edits under the real daemon: a person's edit is in effect (Logs record written) within 60 s
through a webhook ping; with the pings lost the safety poll still picks it up; idle ticks cost nothing;
with the month's quota used up the product slows down, loses nothing and says so once."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import httpx
import pytest

from paperplan_sync.shared_state import STATE_COLLECTION, MongoState
from paperplan_sync.storage.mongo import get_client
from paperplan_sync_tests.fixtures.dagster_dev import wait_until

pytestmark = pytest.mark.e2e


def logs(airtable_server) -> list[str]:
    return [r["fields"].get("Summary", "") for r in airtable_server.table("Logs").all()]


def webhook_state(dagster_dev, airtable_server) -> dict:
    env = dagster_dev.env
    state = MongoState(get_client(env["MONGODB_URI"])[env["MONGODB_DATABASE"]][STATE_COLLECTION])
    return state.read(f"airtable-webhooks-{airtable_server.base_id}")


def automation_id(airtable_server, name: str) -> str:
    return airtable_server.table("Automations").first(formula=f"{{Name}}='{name}'")["id"]


@pytest.fixture(scope="module")
def started(airtable_server, dagster_dev):
    wait_until(
        lambda: any(s.startswith("Scheduler started") for s in logs(airtable_server)),
        120,
        2,
        "the scheduler's first tick",
    )
    wait_until(lambda: len(webhook_state(dagster_dev, airtable_server).get("hooks", {})) == 3, 60, 1, "the webhooks")
    return dagster_dev


def test_an_edit_takes_effect_within_60_s_through_a_ping(airtable_server, started):
    airtable_server.set_pings(True)
    edited = time.monotonic()
    airtable_server.client_edit(
        "Automations", "update", record_id=automation_id(airtable_server, "Weekly listings"), fields={"Time": "05:17"}
    )

    wait_until(
        lambda: any("Automation 'Weekly listings' changed" in s and "05:17" in s for s in logs(airtable_server)),
        60,
        1,
        "the change in Logs",
    )
    assert time.monotonic() - edited < 25  # the ping, not the 30 s safety poll
    assert max(webhook_state(started, airtable_server)["pinged"].values()) > datetime.now(UTC).timestamp() - 60


def test_with_the_pings_lost_the_safety_poll_picks_the_edit_up(airtable_server, started):
    airtable_server.set_pings(False)
    pinged_before = webhook_state(started, airtable_server).get("pinged", {})
    try:
        airtable_server.client_edit(
            "Automations",
            "update",
            record_id=automation_id(airtable_server, "Weekly listings"),
            fields={"Time": "05:43"},
        )
        wait_until(
            lambda: any("Automation 'Weekly listings' changed" in s and "05:43" in s for s in logs(airtable_server)),
            60,
            1,
            "the change in Logs",
        )
    finally:
        airtable_server.set_pings(True)
    assert webhook_state(started, airtable_server).get("pinged", {}) == pinged_before


def test_idle_ticks_read_no_configuration(airtable_server, started):
    time.sleep(6)  # let a tick's writes settle
    airtable_server.clear_stats()
    time.sleep(20)  # four scheduler ticks at 5 s

    calls = airtable_server.stats()["by_endpoint"]
    assert not any(
        k.startswith(
            ("GET Report Types", "GET Automations", "POST Report Types/listRecords", "POST Automations/listRecords")
        )
        for k in calls
    ), calls


def test_with_the_monthly_quota_used_up_it_slows_down_loses_nothing_and_says_so_once(
    airtable_server, slack_server, started
):
    """Last in this module: the product paces at 2 requests/s for the rest of the month afterwards."""
    env = started.env
    db = get_client(env["MONGODB_URI"])[env["MONGODB_DATABASE"]]
    httpx.delete(f"{slack_server.url}/messages", timeout=10)

    def quota_messages() -> list[str]:
        return [
            m["text"]
            for m in httpx.get(f"{slack_server.url}/messages", timeout=10).json()
            if "monthly API call quota" in m["text"]
        ]

    weekly = automation_id(airtable_server, "Weekly listings")
    airtable_server.set_quota(airtable_server.stats()["month"]["calls"])  # used up from now on
    try:
        airtable_server.client_edit("Automations", "update", record_id=weekly, fields={"Time": "06:11"})
        wait_until(quota_messages, 150, 2, "the quota message in Slack")
        # The edit still takes effect, slowed down: its Logs record is written and reaches Airtable.
        wait_until(
            lambda: db["logs"].find_one({"fields.Summary": {"$regex": "Weekly listings' changed.*06:11"}}),
            150,
            2,
            "the change",
        )
        wait_until(lambda: db["outbox"].count_documents({"status": "pending"}) == 0, 180, 3, "the outbox to drain")
        time.sleep(15)  # more ticks: still one message
        assert len(quota_messages()) == 1
        assert airtable_server.stats()["quota_limited"] >= 1
        assert (
            started.graphql("{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }")[
                "workspaceOrError"
            ]["locationEntries"][0]["loadStatus"]
            == "LOADED"
        )
    finally:
        airtable_server.set_quota(None)
    assert any("Weekly listings' changed" in s and "06:11" in s for s in logs(airtable_server))
