"""Airtable edits under the real daemon: a person's edit is in effect (Logs record written) within 60 s
through a webhook ping; with the pings lost the safety poll still picks it up; idle ticks cost nothing."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from paperplan_sync.control_plane.shared_state import MongoState, STATE_COLLECTION
from paperplan_sync.storage.mongo import get_client
from paperplan_sync_tests.fixtures.dagster_dev import wait_until

pytestmark = pytest.mark.e2e


def logs(airtable_server) -> list[str]:
    return [r["fields"].get("Summary", "") for r in airtable_server.table("Logs").all()]


def webhook_state(dagster_dev, airtable_server) -> dict:
    env = dagster_dev.env
    state = MongoState(get_client(env["MONGODB_URI"])[env["MONGODB_DATABASE"]][STATE_COLLECTION])
    return state.read(f"airtable-webhook-{airtable_server.base_id}")


def automation_id(airtable_server, name: str) -> str:
    return airtable_server.table("Automations").first(formula=f"{{Name}}='{name}'")["id"]


@pytest.fixture(scope="module")
def started(airtable_server, dagster_dev):
    wait_until(lambda: any(s.startswith("Scheduler started") for s in logs(airtable_server)), 120, 2, "the scheduler's first tick")
    wait_until(lambda: webhook_state(dagster_dev, airtable_server).get("id"), 60, 1, "the webhook")
    return dagster_dev


def test_an_edit_takes_effect_within_60_s_through_a_ping(airtable_server, started):
    airtable_server.set_pings(True)
    edited = time.monotonic()
    airtable_server.client_edit("Automations", "update", record_id=automation_id(airtable_server, "Weekly listings"),
                                fields={"Time": "05:17"})

    wait_until(lambda: any("Automation 'Weekly listings' changed" in s and "05:17" in s for s in logs(airtable_server)),
               60, 1, "the change in Logs")
    assert time.monotonic() - edited < 25  # the ping, not the 30 s safety poll
    assert webhook_state(started, airtable_server)["pinged_at"] > datetime.now(UTC).timestamp() - 60


def test_with_the_pings_lost_the_safety_poll_picks_the_edit_up(airtable_server, started):
    airtable_server.set_pings(False)
    pinged_before = webhook_state(started, airtable_server).get("pinged_at", 0)
    try:
        airtable_server.client_edit("Automations", "update", record_id=automation_id(airtable_server, "Weekly listings"),
                                    fields={"Time": "05:43"})
        wait_until(lambda: any("Automation 'Weekly listings' changed" in s and "05:43" in s for s in logs(airtable_server)),
                   60, 1, "the change in Logs")
    finally:
        airtable_server.set_pings(True)
    assert webhook_state(started, airtable_server).get("pinged_at", 0) == pinged_before


def test_idle_ticks_read_no_configuration(airtable_server, started):
    time.sleep(6)  # let a tick's writes settle
    airtable_server.clear_stats()
    time.sleep(20)  # four scheduler ticks at 5 s

    calls = airtable_server.stats()["by_endpoint"]
    assert not any(k.startswith(("GET Report Types", "GET Automations", "POST Report Types/listRecords",
                                 "POST Automations/listRecords")) for k in calls), calls
