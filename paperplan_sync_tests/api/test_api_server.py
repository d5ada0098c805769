"""`paperplan-sync api`: Airtable's pings are accepted only with a valid MAC; /api tells the truth."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
import requests

from paperplan_local.runner import free_port
from paperplan_sync.api.server import CachedHealth, build_server, dagster_problems
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.changes import ChangeSettings, ChangeWatcher

SECRET = base64.b64encode(b"a webhook secret of the test").decode()
PING = json.dumps(
    {"base": {"id": "appPaperPlanLocal"}, "webhook": {"id": "achTest"}, "timestamp": "2026-11-29T10:00:00.000Z"}
).encode()


def signed(body: bytes, secret: str = SECRET) -> str:
    return "hmac-sha256=" + hmac.new(base64.b64decode(secret), body, hashlib.sha256).hexdigest()


@pytest.fixture
def watcher() -> ChangeWatcher:
    airtable = AirtableResource(api_key="unused", base_id="appPaperPlanLocal", endpoint_url="http://127.0.0.1:9")
    watcher = ChangeWatcher(airtable, ChangeSettings(mode="webhook", public_url="http://127.0.0.1"))
    watcher._store(hooks={"Automations": {"id": "achTest", "mac_secret": SECRET}}, read={"achTest": 1.0})
    return watcher


def serve(watcher: ChangeWatcher, webserver_url: str) -> Iterator[str]:
    port = free_port()
    server = build_server("127.0.0.1", port, watcher=watcher, health=CachedHealth(dagster_problems(webserver_url)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def api(watcher) -> Iterator[str]:
    yield from serve(watcher, f"http://127.0.0.1:{free_port()}")  # no Dagster webserver there


def test_a_signed_ping_is_noted_for_the_scheduler(api, watcher):
    answer = requests.post(
        f"{api}/airtable/webhook", data=PING, headers={"X-Airtable-Content-MAC": signed(PING)}, timeout=5
    )

    assert answer.status_code == 200
    assert watcher.due(datetime.now(UTC)) == "ping"


@pytest.mark.parametrize(
    "mac", [None, "hmac-sha256=00", signed(PING, base64.b64encode(b"another secret").decode()), signed(PING + b" ")]
)
def test_a_ping_with_a_bad_or_missing_mac_gets_401_and_nothing_is_noted(api, watcher, mac):
    headers = {"X-Airtable-Content-MAC": mac} if mac else {}

    answer = requests.post(f"{api}/airtable/webhook", data=PING, headers=headers, timeout=5)

    assert answer.status_code == 401
    assert "pinged" not in watcher.state()


def test_a_ping_for_a_webhook_that_is_not_ours_gets_401(api, watcher):
    other = PING.replace(b"achTest", b"achSomebodyElse")

    answer = requests.post(
        f"{api}/airtable/webhook", data=other, headers={"X-Airtable-Content-MAC": signed(other)}, timeout=5
    )

    assert answer.status_code == 401
    assert "pinged" not in watcher.state()


def test_api_says_503_and_why_when_dagster_does_not_answer(api):
    answer = requests.get(f"{api}/api", timeout=30)

    assert answer.status_code == 503
    assert answer.headers["Content-Type"].startswith("text/plain")
    assert answer.text.startswith("Sync application unhealthy: webserver:")
    assert requests.get(f"{api}/other", timeout=5).status_code == 404


def test_the_health_answer_is_hello_world_or_503_and_why():
    from http import HTTPStatus

    from paperplan_sync.api.server import health_answer

    assert health_answer([]) == (HTTPStatus.OK, "Hello world!")
    assert health_answer(["webserver: down", "daemon SENSOR: stale"]) == (
        HTTPStatus.SERVICE_UNAVAILABLE,
        "Sync application unhealthy: webserver: down; daemon SENSOR: stale",
    )
