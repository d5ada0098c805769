"""Change detection with Airtable webhooks, against the local Airtable: one webhook per watched table; an edit
to the configuration is seen whoever made it (a person, or a script through the Web API); the product's own
writes wake nobody; a check of every webhook costs one call; a lost ping is found by the safety check; a
webhook is refreshed before it expires and created again when it is gone."""

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


def webhooks(airtable) -> list:
    return airtable.table("Automations").api.base(airtable.base_id).webhooks()


def test_each_watched_table_has_its_own_webhook_and_the_configuration_tables_hear_every_source(
    airtable, airtable_resource
):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="poll"))
    watcher.poll(datetime.now(UTC))

    schema = {t.id: t.name for t in airtable.api().base(airtable.base_id).schema().tables}
    specs = {schema[h.specification.options.filters.record_change_scope]: h.specification for h in webhooks(airtable)}
    assert set(specs) == {"Report Types", "Automations", "Reports"}
    assert not specs["Automations"].options.filters.from_sources  # every source, the Web API included
    assert "publicApi" not in specs["Reports"].options.filters.from_sources  # the product writes Reports itself


def test_a_persons_edit_pings_and_the_next_read_names_the_table(airtable, airtable_resource, api_url):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="webhook", public_url=api_url))
    now = datetime.now(UTC)
    created = watcher.poll(now)
    assert created.reason == "webhook created" and created.full_read  # changes before it were not recorded
    assert watcher.poll(now) is None  # nothing changed, no read due: no Airtable call

    record = first_id(airtable, "Automations", "Daily reports")
    airtable.client_edit("Automations", "update", record_id=record, fields={"Time": "09:30"})

    wait_for(lambda: watcher.due(datetime.now(UTC)) == "ping")
    changes = watcher.poll(datetime.now(UTC))
    assert changes.reason == "ping" and changes.tables == {"Automations"} and not changes.full_read
    assert abs(changes.edited_at[record] - time.time()) < 15  # when the edit was made, from the payload
    assert watcher.poll(datetime.now(UTC)) is None


def test_an_edit_made_through_the_web_api_pings_too(airtable, airtable_resource, api_url):
    """A script, Zapier or `init-airtable` edits with a token: source publicApi, seen like a person's edit."""
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="webhook", public_url=api_url))
    watcher.poll(datetime.now(UTC))

    airtable.table("Automations").update(first_id(airtable, "Automations", "Daily reports"), {"Time": "09:31"})

    wait_for(lambda: watcher.due(datetime.now(UTC)) == "ping")
    assert watcher.poll(datetime.now(UTC)).tables == {"Automations"}


def test_the_products_own_writes_wake_nobody_and_a_safety_check_costs_one_call(airtable, airtable_resource, api_url):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="webhook", public_url=api_url, safety_poll_s=1800))
    watcher.poll(datetime.now(UTC))
    airtable_resource.table("Reports").create({"Report Type": "sales_report", "Date": "2026-11-01", "Fail": True})
    airtable_resource.table("Logs").create({"Summary": "a log line"})
    airtable_resource.table("Overview").create({"Alive": 1})
    time.sleep(1)
    assert watcher.due(datetime.now(UTC)) is None
    airtable.clear_stats()

    changes = watcher.poll(datetime.now(UTC) + timedelta(minutes=31))

    assert changes.reason == "safety poll" and changes.tables == frozenset()
    assert airtable.stats()["by_endpoint"] == {"GET webhooks": 1}  # all three webhooks in one listing


def test_with_the_pings_lost_the_safety_check_still_finds_the_edit(airtable, airtable_resource, api_url):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="webhook", public_url=api_url, safety_poll_s=1800))
    watcher.poll(datetime.now(UTC))
    airtable.set_pings(False)
    airtable.client_edit(
        "Report Types", "update", record_id=first_id(airtable, "Report Types", "sales_report"), fields={"Offset": 2}
    )
    time.sleep(1)
    assert watcher.due(datetime.now(UTC)) is None
    airtable.clear_stats()

    changes = watcher.poll(datetime.now(UTC) + timedelta(minutes=30))

    assert changes.reason == "safety poll" and changes.tables == {"Report Types"}
    assert airtable.stats()["by_endpoint"] == {"GET webhooks": 1, "GET webhooks/payloads": 1}  # only the moved one


def test_poll_mode_checks_every_35_s_with_one_call_and_sees_api_edits(airtable, airtable_resource):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="poll"))
    now = datetime.now(UTC)
    watcher.poll(now)
    assert all(h.notification_url is None for h in webhooks(airtable))
    airtable.table("Automations").update(first_id(airtable, "Automations", "Daily reports"), {"Disable": True})
    airtable.clear_stats()

    assert watcher.poll(now + timedelta(seconds=30)) is None
    assert airtable.stats()["requests"] == 0
    assert watcher.poll(now + timedelta(seconds=41)).tables == {"Automations"}
    assert watcher.poll(now + timedelta(seconds=82)).tables == frozenset()
    assert airtable.stats()["by_endpoint"] == {"GET webhooks": 2, "GET webhooks/payloads": 1}


def test_the_webhooks_are_refreshed_a_day_before_they_expire_and_replaced_once_expired(airtable, airtable_resource):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="poll"))
    now = datetime.now(UTC)
    watcher.poll(now)
    first = {t: h["id"] for t, h in watcher.state()["hooks"].items()}

    watcher.ensure_webhooks(now + timedelta(days=6, hours=1))
    assert airtable.stats()["by_endpoint"]["POST webhooks/refresh"] == 3
    assert {t: h["id"] for t, h in watcher.state()["hooks"].items()} == first

    assert watcher.ensure_webhooks(now + timedelta(days=30)) is True  # long gone: new ones, the old deleted
    now_ids = {h["id"] for h in watcher.state()["hooks"].values()}
    assert {h.id for h in webhooks(airtable)} == now_ids and not now_ids & set(first.values())


def test_a_webhook_deleted_in_airtable_is_created_again_and_the_tables_read(airtable, airtable_resource):
    watcher = ChangeWatcher(airtable_resource, ChangeSettings(mode="poll"))
    now = datetime.now(UTC)
    watcher.poll(now)
    gone = watcher.state()["hooks"]["Automations"]["id"]
    airtable.api().base(airtable.base_id).webhook(gone).delete()

    assert watcher.poll(now + timedelta(seconds=41)).full_read  # the gap: changes in it were not recorded
    again = watcher.poll(now + timedelta(seconds=42))
    assert again.reason == "webhook created" and again.full_read
    assert gone not in {h.id for h in webhooks(airtable)} and len(webhooks(airtable)) == 3


def test_the_base_wide_webhook_of_earlier_versions_is_deleted(airtable, airtable_resource):
    base = airtable.api().base(airtable.base_id)
    old = base.add_webhook(None, {"options": {"filters": {"dataTypes": ["tableData"], "fromSources": ["client"]}}})
    airtable_resource.shared_state.update(f"airtable-webhook-{airtable.base_id}", lambda _: {"id": old.id})

    ChangeWatcher(airtable_resource, ChangeSettings(mode="poll")).poll(datetime.now(UTC))

    assert old.id not in {h.id for h in webhooks(airtable)} and len(webhooks(airtable)) == 3


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
