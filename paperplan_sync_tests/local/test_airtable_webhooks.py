"""Webhooks on the local Airtable, driven by pyairtable's own webhook client over real HTTP, with pings received
by a real loopback HTTP server."""

from __future__ import annotations

import base64
import threading
import time
from datetime import datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import pytest
from pyairtable import Base
from pyairtable.models.webhook import WebhookNotification

from paperplan_local.runner import LOOPBACK
from paperplan_sync_tests.fixtures.airtable import LocalAirtable

DAY = 24 * 3600


class Receiver:
    """A notification URL on loopback: keeps every ping, answers ``status``."""

    def __init__(self) -> None:
        self.pings: list[tuple[str, dict[str, str]]] = []
        self.status = 200
        self.arrived = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers["Content-Length"])).decode()
                with receiver.arrived:
                    receiver.pings.append((body, dict(self.headers)))
                    receiver.arrived.notify_all()
                self.send_response(receiver.status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self.url = f"http://{LOOPBACK}:{self.server.server_address[1]}/airtable-ping"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait_for(self, count: int, timeout: float = 10.0) -> bool:
        with self.arrived:
            return self.arrived.wait_for(lambda: len(self.pings) >= count, timeout)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.close()


def base_of(airtable: LocalAirtable) -> Base:
    return airtable.api().base(airtable.base_id)


def table_id(airtable: LocalAirtable, name: str) -> str:
    return base_of(airtable).schema().table(name).id


def data_spec(scope: str | None = None, **filters) -> dict:
    spec = {"options": {"filters": {"dataTypes": ["tableData"], **filters}}}
    if scope:
        spec["options"]["filters"]["recordChangeScope"] = scope
    return spec


def hooks_url(airtable: LocalAirtable, tail: str = "") -> str:
    return f"{airtable.url}/v0/bases/{airtable.base_id}/webhooks{tail}"


def auth(airtable: LocalAirtable) -> dict[str, str]:
    return {"Authorization": f"Bearer {airtable.api_key}"}


def parse_time(value) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(value.replace("Z", "+00:00"))


# --- lifecycle --------------------------------------------------------------------------------------


def test_create_list_refresh_disable_delete_with_pyairtable(airtable: LocalAirtable, receiver: Receiver):
    base = base_of(airtable)
    created = base.add_webhook(receiver.url, data_spec(table_id(airtable, "Automations")))
    assert created.id.startswith("ach") and len(created.id) == 17
    assert len(base64.b64decode(created.mac_secret_base64)) >= 16
    expires = parse_time(created.expiration_time)
    assert timedelta(days=6, hours=23) < expires - datetime.now(timezone.utc) <= timedelta(days=7)

    (hook,) = base.webhooks()
    assert (hook.id, hook.notification_url, hook.cursor_for_next_payload) == (created.id, receiver.url, 1)
    assert hook.is_hook_enabled and hook.are_notifications_enabled and hook.last_notification_result is None
    assert hook.specification.options.filters.data_types == ["tableData"]

    airtable.advance_clock(DAY)
    hook.extend_expiration()
    assert parse_time(hook.expiration_time) - expires >= timedelta(hours=23, minutes=59)
    hook.disable_notifications()
    assert not base.webhooks()[0].are_notifications_enabled
    hook.enable_notifications()
    assert base.webhooks()[0].are_notifications_enabled
    hook.delete()
    assert base.webhooks() == []
    gone = httpx.post(hooks_url(airtable, f"/{created.id}/refresh"), headers=auth(airtable))
    assert gone.status_code == 404


def test_a_base_holds_at_most_ten_webhooks(airtable: LocalAirtable):
    base = base_of(airtable)
    for _ in range(10):
        base.add_webhook(None, data_spec())
    response = httpx.post(hooks_url(airtable), headers=auth(airtable), json={"specification": data_spec()})
    assert response.status_code == 422
    assert response.json()["error"]["type"] == "TOO_MANY_WEBHOOKS_IN_BASE"


@pytest.mark.parametrize(
    "spec, names",
    [
        ({"options": {"filters": {}}}, "dataTypes"),
        ({"options": {"filters": {"dataTypes": ["records"]}}}, "dataTypes"),
        (
            {"options": {"filters": {"dataTypes": ["tableData"], "recordChangeScope": "Automations"}}},
            "recordChangeScope",
        ),
        ({"options": {"filters": {"dataTypes": ["tableData"], "fromSources": ["ui"]}}}, "fromSources"),
        (
            {"options": {"filters": {"dataTypes": ["tableData"], "watchDataInFieldIds": ["fldNope0000000000"]}}},
            "watchDataInFieldIds",
        ),
        (
            {"options": {"filters": {"dataTypes": ["tableData"]}, "includes": {"includePreviousCellValues": "yes"}}},
            "includePreviousCellValues",
        ),
        ({"options": {"filters": {"dataTypes": ["tableData"], "colour": "red"}}}, "colour"),
        ({"filters": {"dataTypes": ["tableData"]}}, "options"),
    ],
)
def test_a_bad_specification_is_refused_with_422(airtable: LocalAirtable, spec: dict, names: str):
    response = httpx.post(hooks_url(airtable), headers=auth(airtable), json={"specification": spec})
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["type"] == "INVALID_REQUEST_UNKNOWN" and names in error["message"]
    assert base_of(airtable).webhooks() == []


# --- payloads ---------------------------------------------------------------------------------------


def test_payloads_describe_each_change_with_cursors(airtable: LocalAirtable):
    base = base_of(airtable)
    types_id = table_id(airtable, "Report Types")
    spec = data_spec(types_id)
    spec["options"]["includes"] = {"includePreviousCellValues": True}
    created = base.add_webhook(None, spec)
    hook = base.webhook(created.id)
    report_types = airtable.table("Report Types")
    name_id = base.schema().table("Report Types").field("Name").id

    record = report_types.create({"Name": "webhook_probe"})
    report_types.update(record["id"], {"Name": "webhook_probe_2"})
    report_types.delete(record["id"])

    payloads = list(hook.payloads())
    assert [p.cursor for p in payloads] == [1, 2, 3]
    assert all(p.action_metadata.source == "publicApi" and p.payload_format == "v0" for p in payloads)
    numbers = [p.base_transaction_number for p in payloads]
    assert numbers == sorted(numbers) and len(set(numbers)) == 3
    first, second, third = (p.changed_tables_by_id[types_id] for p in payloads)
    assert first.created_records_by_id[record["id"]].cell_values_by_field_id[name_id] == "webhook_probe"
    change = second.changed_records_by_id[record["id"]]
    assert change.current.cell_values_by_field_id == {name_id: "webhook_probe_2"}
    assert change.previous.cell_values_by_field_id == {name_id: "webhook_probe"}
    assert third.destroyed_record_ids == [record["id"]]
    assert base.webhooks()[0].cursor_for_next_payload == 4

    page = httpx.get(
        hooks_url(airtable, f"/{created.id}/payloads"), headers=auth(airtable), params={"cursor": 2, "limit": 1}
    ).json()
    assert (page["cursor"], page["mightHaveMore"], len(page["payloads"])) == (3, True, 1)
    end = httpx.get(hooks_url(airtable, f"/{created.id}/payloads"), headers=auth(airtable), params={"cursor": 9}).json()
    assert end == {"cursor": 9, "mightHaveMore": False, "payloads": []}


@pytest.mark.slow
def test_a_page_holds_at_most_fifty_payloads(airtable: LocalAirtable):
    base = base_of(airtable)
    created = base.add_webhook(None, data_spec())
    logs = airtable.table("Logs")
    for _ in range(6):
        logs.batch_create([{"Summary": "x"}] * 10)
    for _ in range(49):
        airtable.client_edit("Logs", "create", fields={"Summary": "y"})
    page = httpx.get(
        hooks_url(airtable, f"/{created.id}/payloads"), headers=auth(airtable), params={"limit": 500}
    ).json()
    assert (len(page["payloads"]), page["cursor"], page["mightHaveMore"]) == (50, 51, True)
    assert len(list(base.webhook(created.id).payloads())) == 55


def test_from_sources_leaves_out_api_changes(airtable: LocalAirtable):
    base = base_of(airtable)
    created = base.add_webhook(None, data_spec(table_id(airtable, "Automations"), fromSources=["client"]))
    automations = airtable.table("Automations")
    first = automations.first()
    automations.update(first["id"], {"Name": first["fields"]["Name"] + " (api)"})
    assert list(base.webhook(created.id).payloads()) == []

    edited = airtable.client_edit("Automations", "update", record_id=first["id"], fields={"Name": "renamed in the UI"})
    assert edited.status_code == 200 and edited.json()["fields"]["Name"] == "renamed in the UI"
    (payload,) = base.webhook(created.id).payloads()
    assert payload.action_metadata.source == "client"


def test_record_change_scope_and_watched_fields(airtable: LocalAirtable):
    base = base_of(airtable)
    schema = base.schema().table("Automations")
    watched = schema.field("Name").id
    created = base.add_webhook(None, data_spec(schema.id, watchDataInFieldIds=[watched]))
    report_types = airtable.table("Report Types")
    report_types.update(report_types.first()["id"], {"Name": "outside the scope"})
    automations = airtable.table("Automations")
    record = automations.first()
    other = next(f for f in schema.fields if f.type == "singleLineText" and f.id != watched)
    automations.update(record["id"], {other.name: "not a watched field"})
    assert list(base.webhook(created.id).payloads()) == []

    automations.update(record["id"], {"Name": "watched field changed"})
    (payload,) = base.webhook(created.id).payloads()
    assert list(payload.changed_tables_by_id) == [schema.id]


def test_client_edit_errors_are_airtables(airtable: LocalAirtable):
    unknown = airtable.client_edit("Automations", "create", fields={"No Such Field": 1})
    assert unknown.status_code == 422 and unknown.json()["error"]["type"] == "UNKNOWN_FIELD_NAME"
    missing = airtable.client_edit("Nope", "create", fields={})
    assert missing.status_code == 404
    deleted = airtable.client_edit("Logs", "create", fields={"Summary": "bye"}).json()
    assert airtable.client_edit("Logs", "delete", record_id=deleted["id"]).json() == {
        "id": deleted["id"],
        "deleted": True,
    }


# --- pings ------------------------------------------------------------------------------------------


def test_a_change_sends_a_signed_ping_that_verifies(airtable: LocalAirtable, receiver: Receiver):
    base = base_of(airtable)
    created = base.add_webhook(receiver.url, data_spec(table_id(airtable, "Automations")))
    automations = airtable.table("Automations")
    automations.update(automations.first()["id"], {"Name": "ping me"})
    assert receiver.wait_for(1)
    body, headers = receiver.pings[0]
    notification = WebhookNotification.from_request(body, headers["X-Airtable-Content-MAC"], created.mac_secret_base64)
    assert (notification.base.id, notification.webhook.id) == (airtable.base_id, created.id)
    assert headers["X-Airtable-Content-MAC"].startswith("hmac-sha256=")
    with pytest.raises(ValueError):
        WebhookNotification.from_request(body, headers["X-Airtable-Content-MAC"], base64.b64encode(b"wrong").decode())

    deadline = time.monotonic() + 5
    while base.webhooks()[0].last_notification_result is None and time.monotonic() < deadline:
        time.sleep(0.05)
    hook = base.webhooks()[0]
    assert hook.last_notification_result.success and hook.last_notification_result.retry_number == 0
    assert hook.last_successful_notification_time is not None


@pytest.mark.slow
def test_pings_lost_by_the_control_leave_the_payloads(airtable: LocalAirtable, receiver: Receiver):
    base = base_of(airtable)
    created = base.add_webhook(receiver.url, data_spec())
    assert airtable.set_pings(False)["pings"] is False
    airtable.table("Logs").create({"Summary": "nobody hears this"})
    assert not receiver.wait_for(1, timeout=1.5)
    assert airtable.ping_state()["pings_dropped"] == 1
    assert len(list(base.webhook(created.id).payloads())) == 1

    airtable.set_pings(True)
    airtable.table("Logs").create({"Summary": "heard"})
    assert receiver.wait_for(1)


@pytest.mark.slow
def test_a_failed_ping_is_retried_with_backoff(airtable: LocalAirtable, receiver: Receiver):
    base = base_of(airtable)
    base.add_webhook(receiver.url, data_spec())
    receiver.status = 500
    airtable.table("Logs").create({"Summary": "first try fails"})
    assert receiver.wait_for(1)
    time.sleep(0.3)
    result = base.webhooks()[0].last_notification_result
    assert (result.success, result.will_be_retried, result.retry_number) == (False, True, 0)
    assert not receiver.wait_for(2, timeout=1.0)  # the first retry waits 10 s

    receiver.status = 204
    airtable.advance_clock(10)
    assert receiver.wait_for(2)
    time.sleep(0.3)
    result = base.webhooks()[0].last_notification_result
    assert (result.success, result.retry_number) == (True, 1)


@pytest.mark.slow
def test_notifications_are_disabled_after_thirteen_failed_retries(airtable: LocalAirtable, receiver: Receiver):
    base = base_of(airtable)
    base.add_webhook(receiver.url, data_spec())
    receiver.status = 503
    airtable.table("Logs").create({"Summary": "never delivered"})
    for attempt in range(1, 15):
        assert receiver.wait_for(attempt), attempt
        time.sleep(0.1)
        airtable.advance_clock(10 * 2**attempt)
    time.sleep(0.3)
    hook = base.webhooks()[0]
    assert len(receiver.pings) == 14 and not hook.are_notifications_enabled
    assert hook.last_notification_result.will_be_retried is False


# --- expiry and retention ---------------------------------------------------------------------------


def test_an_expired_webhook_stops_and_is_reported_expired(airtable: LocalAirtable, receiver: Receiver):
    base = base_of(airtable)
    created = base.add_webhook(receiver.url, data_spec())
    airtable.advance_clock(6 * DAY)
    airtable.table("Logs").create({"Summary": "before expiry"})
    assert receiver.wait_for(1)

    airtable.advance_clock(DAY + 1)
    (hook,) = base.webhooks()
    assert not hook.is_hook_enabled
    airtable.table("Logs").create({"Summary": "after expiry"})
    assert not receiver.wait_for(2, timeout=1.0)
    assert len(list(base.webhook(created.id).payloads())) == 1  # still readable for 7 more days
    refused = httpx.post(hooks_url(airtable, f"/{created.id}/refresh"), headers=auth(airtable))
    assert refused.status_code == 422

    airtable.advance_clock(7 * DAY)
    assert base.webhooks() == []


def test_listing_payloads_extends_an_active_webhooks_life(airtable: LocalAirtable):
    base = base_of(airtable)
    created = base.add_webhook(None, data_spec())
    airtable.advance_clock(6 * DAY)
    list(base.webhook(created.id).payloads())
    airtable.advance_clock(2 * DAY)
    assert base.webhooks()[0].is_hook_enabled


def test_payloads_are_kept_one_week_and_the_cursor_never_resets(airtable: LocalAirtable):
    base = base_of(airtable)
    created = base.add_webhook(None, data_spec())
    airtable.table("Logs").create({"Summary": "old"})
    airtable.advance_clock(4 * DAY)
    base.webhook(created.id).extend_expiration()
    airtable.advance_clock(4 * DAY)
    airtable.table("Logs").create({"Summary": "new"})
    page = httpx.get(hooks_url(airtable, f"/{created.id}/payloads"), headers=auth(airtable)).json()
    assert [p["baseTransactionNumber"] for p in page["payloads"]] and page["cursor"] == 3
    assert len(page["payloads"]) == 1


def test_includes_unchanged_values_and_v2_select_cells(airtable: LocalAirtable):
    base = base_of(airtable)
    schema = base.schema().table("Report Types")
    name, status = schema.field("Name").id, schema.field("Status").id
    spec = data_spec(schema.id)
    spec["options"]["includes"] = {"includeCellValuesInFieldIds": [name]}
    created = base.add_webhook(None, spec)
    report_types = airtable.table("Report Types")
    record = report_types.first()
    choice = schema.field("Status").options.choices[-1]
    report_types.update(record["id"], {"Status": choice.name})

    (payload,) = base.webhook(created.id).payloads()
    change = payload.changed_tables_by_id[schema.id].changed_records_by_id[record["id"]]
    assert change.current.cell_values_by_field_id[status] == {
        "id": choice.id,
        "name": choice.name,
        "color": choice.color,
    }
    assert change.unchanged.cell_values_by_field_id == {name: record["fields"]["Name"]}
    assert change.previous is None  # only with includePreviousCellValues


def test_a_view_scope_sees_records_entering_and_leaving_the_view(airtable: LocalAirtable):
    base = base_of(airtable)
    view = base.schema().table("Reports").view("Failed Reports")
    created = base.add_webhook(None, data_spec(view.id))
    reports = airtable.table("Reports")
    quiet = reports.create({"Name": "fine"})
    reports.update(quiet["id"], {"Name": "still fine"})
    assert list(base.webhook(created.id).payloads()) == []

    reports.update(quiet["id"], {"Fail": True})  # enters the view
    reports.update(quiet["id"], {"Fail": False})  # leaves it
    assert len(list(base.webhook(created.id).payloads())) == 2


def test_schema_changes_reach_webhooks_watching_fields_and_metadata(airtable: LocalAirtable):
    base = base_of(airtable)
    fields_hook = base.add_webhook(None, {"options": {"filters": {"dataTypes": ["tableFields"]}}})
    meta_hook = base.add_webhook(None, {"options": {"filters": {"dataTypes": ["tableMetadata"]}}})
    data_hook = base.add_webhook(None, data_spec())
    logs = base.table("Logs")
    field = logs.create_field("Note", "singleLineText")
    httpx.patch(
        f"{airtable.url}/v0/meta/bases/{airtable.base_id}/tables/{logs.id}",
        headers=auth(airtable),
        json={"description": "what happened"},
    ).raise_for_status()

    (added,) = base.webhook(fields_hook.id).payloads()
    assert added.changed_tables_by_id[logs.id].created_fields_by_id[field.id].name == "Note"
    (renamed,) = base.webhook(meta_hook.id).payloads()
    assert renamed.changed_tables_by_id[logs.id].changed_metadata.current.description == "what happened"
    assert list(base.webhook(data_hook.id).payloads()) == []


@pytest.mark.slow
def test_changes_during_a_pending_retry_share_its_ping(airtable: LocalAirtable, receiver: Receiver):
    base = base_of(airtable)
    created = base.add_webhook(receiver.url, data_spec())
    receiver.status = 500
    logs = airtable.table("Logs")
    logs.create({"Summary": "one"})
    assert receiver.wait_for(1)
    time.sleep(0.2)
    logs.create({"Summary": "two"})
    logs.create({"Summary": "three"})
    assert not receiver.wait_for(2, timeout=1.0)

    receiver.status = 200
    airtable.advance_clock(10)
    assert receiver.wait_for(2)
    assert not receiver.wait_for(3, timeout=1.0)  # one ping for the three changes
    assert len(list(base.webhook(created.id).payloads())) == 3
