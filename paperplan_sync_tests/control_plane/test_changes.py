"""Change detection with Airtable webhooks, against the local Airtable: a person's edit pings the api
service, the next read names the changed table; the product's own API writes wake nobody; a lost ping is
picked up by the safety poll; the webhook is refreshed before it expires."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from paperplan_local.runner import free_port
from paperplan_sync.api.server import CachedHealth, build_server
from paperplan_sync.control_plane.changes import ChangeSettings, ChangeWatcher


@pytest.fixture
def api_url(airtable_resource) -> Iterator[str]:
    """The product's api service (ping receiver) on a free port."""
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="webhook", public_url=url))
    server = build_server("127.0.0.1", port, watcher=watcher, health=CachedHealth(lambda: []))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield url
    server.shutdown()
    server.server_close()


def wait_for(predicate, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(0.1)
    raise AssertionError("timed out")


def first_id(airtable, table: str, name: str) -> str:
    return airtable.table(table).first(formula=f"{{Name}}='{name}'")["id"]


def test_a_persons_edit_pings_and_the_next_read_names_the_table(airtable, airtable_resource, api_url):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="webhook", public_url=api_url))
    now = datetime.now(UTC)
    created = watcher.poll(now)
    assert created.reason == "webhook created" and created.full_read  # changes before it were not recorded
    assert watcher.poll(now) is None  # nothing changed, no read due: no Airtable call

    airtable.client_edit(
        "Automations", "update", record_id=first_id(airtable, "Automations", "Daily reports"), fields={"Time": "09:30"}
    )

    wait_for(lambda: watcher.due(datetime.now(UTC)) == "ping")
    changes = watcher.poll(datetime.now(UTC))
    assert changes.reason == "ping" and changes.tables == {"Automations"} and not changes.full_read
    assert watcher.poll(datetime.now(UTC)) is None


def test_the_products_own_writes_wake_nobody_and_cost_one_call_a_safety_poll(airtable, airtable_resource, api_url):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="webhook", public_url=api_url, safety_poll_s=1800))
    watcher.poll(datetime.now(UTC))
    airtable_resource.table("Reports").create({"Report Type": "sales_report", "Date": "2026-11-01", "Fail": True})
    airtable_resource.table("Logs").create({"Summary": "a log line"})
    time.sleep(1)
    assert watcher.due(datetime.now(UTC)) is None
    airtable.clear_stats()

    changes = watcher.poll(datetime.now(UTC) + timedelta(minutes=31))

    assert changes.reason == "safety poll" and changes.tables == frozenset()
    assert airtable.stats()["requests"] == 1


def test_with_the_pings_lost_the_safety_poll_still_finds_the_edit(airtable, airtable_resource, api_url):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="webhook", public_url=api_url, safety_poll_s=1800))
    watcher.poll(datetime.now(UTC))
    airtable.set_pings(False)
    airtable.client_edit(
        "Report Types", "update", record_id=first_id(airtable, "Report Types", "sales_report"), fields={"Offset": 2}
    )
    time.sleep(1)
    assert watcher.due(datetime.now(UTC)) is None

    changes = watcher.poll(datetime.now(UTC) + timedelta(minutes=30))

    assert changes.reason == "safety poll" and changes.tables == {"Report Types"}


def test_poll_mode_has_no_notification_url_and_reads_every_two_minutes(airtable, airtable_resource):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="poll"))
    now = datetime.now(UTC)
    watcher.poll(now)
    assert airtable.table("Automations").api.base(airtable.base_id).webhooks()[0].notification_url is None
    airtable.client_edit(
        "Automations", "update", record_id=first_id(airtable, "Automations", "Daily reports"), fields={"Disable": True}
    )

    assert watcher.poll(now + timedelta(seconds=60)) is None
    assert watcher.poll(now + timedelta(seconds=121)).tables == {"Automations"}


def test_the_webhook_is_refreshed_a_day_before_it_expires_and_replaced_once_expired(airtable, airtable_resource):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="poll"))
    now = datetime.now(UTC)
    watcher.poll(now)
    first = watcher.state()

    watcher.ensure_webhook(now + timedelta(days=6, hours=1))
    assert any(k.startswith("POST webhooks/refresh") for k in airtable.stats()["by_endpoint"])
    assert watcher.state()["id"] == first["id"]

    assert watcher.ensure_webhook(now + timedelta(days=30)) is True  # long gone: a new one, the old deleted
    hooks = airtable.table("Automations").api.base(airtable.base_id).webhooks()
    assert [h.id for h in hooks] == [watcher.state()["id"]] != [first["id"]]


def test_a_refused_webhook_is_not_asked_for_again_at_every_tick(airtable, airtable_resource):
    watcher = ChangeWatcher(
        airtable_resource, ChangeSettings(mode="webhook", public_url="not a url")
    )  # Airtable refuses it
    now = datetime.now(UTC)
    refused = watcher.poll(now)
    assert refused.full_read and "422" in refused.reason  # the tables are read instead
    airtable.clear_stats()

    assert watcher.poll(now + timedelta(minutes=5)) is None
    assert airtable.stats()["requests"] == 0  # asked again tomorrow, not every tick
    assert watcher.poll(now + timedelta(minutes=31)).full_read  # meanwhile the tables on the polling interval
