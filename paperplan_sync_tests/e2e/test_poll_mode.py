"""Poll mode (no public URL: Airtable cannot ping the product), with the real intervals (a check of the
webhooks every other 20 s scheduler tick, 40 s), under the local and the production instance:
- an edit made through the Web API (a script, Zapier) 90 s before its new time is in Logs within 60 s and
  launches exactly one run at that time;
- a person's edit the product can only see after its new time launches that fire once, late, and Logs says so.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pytest
from pyairtable.formulas import FIND, Field

from paperplan_local.stack import report_runs
from paperplan_sync.shared_state import STATE_COLLECTION, MongoState
from paperplan_sync.storage.mongo import get_client
from paperplan_sync_tests.fixtures.dagster_dev import INSTANCES, wait_until

pytestmark = [pytest.mark.e2e, INSTANCES]
DAGSTER_ENV = {
    "PAPERPLAN_CHANGE_DETECTION": "poll",
    "PAPERPLAN_SCHEDULER_TICK_S": "20",
    "PAPERPLAN_CHANGE_POLL_S": "40",
}


def logs(airtable_server, containing: str) -> list[str]:
    records = airtable_server.table("Logs").all(formula=str(FIND(containing, Field("Summary"))))
    return [r["fields"]["Summary"] for r in records]


def watcher_state(dagster_dev, airtable_server) -> dict:
    env = dagster_dev.env
    state = MongoState(get_client(env["MONGODB_URI"])[env["MONGODB_DATABASE"]][STATE_COLLECTION])
    return state.read(f"airtable-webhooks-{airtable_server.base_id}")


def record_id(airtable_server, name: str) -> str:
    return airtable_server.table("Automations").first(formula=f"{{Name}}='{name}'")["id"]


def next_minute(after: float) -> datetime:
    """The first whole minute (UTC) at or after the epoch second ``after``."""
    moment = datetime.fromtimestamp(after, UTC)
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=0 if moment.second == 0 else 1)


def runs_of(dagster_dev, report: str) -> list[dict]:
    return [r for r in report_runs(dagster_dev, report) if r["status"] not in ("CANCELED",)]


def sleep_until(moment: datetime) -> None:
    time.sleep(max(0.0, moment.timestamp() - time.time()))


def pretend_a_check_at(dagster_dev, airtable_server, moment: datetime) -> None:
    """Set the product's last check of the webhooks to ``moment``: its next check comes 35 s or more after it.
    This is what poll mode's timing gives by chance (a check just before an edit); set, it is certain."""
    env = dagster_dev.env
    state = MongoState(get_client(env["MONGODB_URI"])[env["MONGODB_DATABASE"]][STATE_COLLECTION])
    state.update(f"airtable-webhooks-{airtable_server.base_id}", lambda doc: {**doc, "checked_at": moment.timestamp()})


def test_without_pings_an_api_edit_takes_effect_within_a_minute_and_a_late_seen_fire_runs_once_late(
    airtable_server, dagster_dev
):
    wait_until(lambda: logs(airtable_server, "Scheduler started"), 120, 2, "the scheduler's first tick")
    wait_until(lambda: len(watcher_state(dagster_dev, airtable_server).get("hooks", {})) == 3, 90, 1, "the webhooks")
    listings_before = len(runs_of(dagster_dev, "merchant_listings"))
    inventory_before = len(runs_of(dagster_dev, "fba_inventory"))
    due = next_minute(time.time() + 91)

    # 1. A script edits "Weekly listings" through the Web API, 90 s before its new time (GMT+0).
    sleep_until(due - timedelta(seconds=90))
    airtable_server.table("Automations").update(
        record_id(airtable_server, "Weekly listings"), {"Run": "Daily", "Timezone": "0", "Time": f"{due:%H:%M}"}
    )
    api_edited = time.monotonic()
    wait_until(lambda: logs(airtable_server, "Automation 'Weekly listings' changed"), 60, 1, "the API edit in Logs")
    api_latency = time.monotonic() - api_edited

    # 2. A person sets "Inventory every 2 hours" to the same minute, 3 s before it, just after a check: the
    #    product sees the edit only at its next check, after that minute and after the tick that followed it.
    sleep_until(due - timedelta(seconds=5))
    pretend_a_check_at(dagster_dev, airtable_server, due - timedelta(seconds=5))
    sleep_until(due - timedelta(seconds=3))
    airtable_server.client_edit(
        "Automations",
        "update",
        record_id=record_id(airtable_server, "Inventory every 2 hours"),
        fields={"Run": "Daily", "Timezone": 0, "Time": f"{due:%H:%M}"},
        typecast=True,
    ).raise_for_status()
    wait_until(lambda: logs(airtable_server, "launched late"), 90, 1, "the late fire in Logs")
    inventory_due = "Automation 'Inventory every 2 hours' due at"
    late = [s for s in logs(airtable_server, inventory_due) if "launched late" in s]
    assert len(late) == 1 and f"due at {due:%Y-%m-%dT%H:%M}" in late[0], late

    # Each fire launched exactly one run, the API edit's at its time, not late; the next ticks add none.
    wait_until(lambda: len(runs_of(dagster_dev, "fba_inventory")) > inventory_before, 60, 2, "the inventory run")
    time.sleep(25)
    assert len(runs_of(dagster_dev, "merchant_listings")) == listings_before + 1
    assert len(runs_of(dagster_dev, "fba_inventory")) == inventory_before + 1
    assert logs(airtable_server, "Automation 'Weekly listings' due at") == [
        f"Automation 'Weekly listings' due at {due:%Y-%m-%dT%H:%M}+00:00"
    ]
    assert len([s for s in logs(airtable_server, inventory_due) if "launched late" in s]) == 1
    print(f"poll mode: the Web API edit was in Logs after {api_latency:.1f} s")
