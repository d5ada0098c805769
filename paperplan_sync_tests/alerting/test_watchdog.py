"""The watchdog's verdicts and its Airtable bill, against the local Airtable and Slack. The product's health
page is played by a small HTTP server that answers as `paperplan-sync api` does (200 "Hello world!" or 503
with the reason); the real one is exercised in e2e/test_watchdog_offline.py."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from paperplan_local.runner import ServerThread, free_port
from paperplan_sync.alerting import watchdog
from paperplan_sync.alerting.watchdog import run_watchdog

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


class HealthPage:
    def __init__(self):
        self.status, self.body = 200, "Hello world!"
        self.answers: list[int] = []  # statuses to give first, one a request (then ``status``)
        self.requests = 0
        app = Starlette(routes=[Route("/api", self.answer)])
        self.server = ServerThread(app)

    def answer(self, request):
        self.requests += 1
        if self.answers:
            return PlainTextResponse("Bad Gateway", status_code=self.answers.pop(0))
        return PlainTextResponse(self.body, status_code=self.status)


@pytest.fixture
def page():
    health = HealthPage()
    with health.server:
        yield health


@pytest.fixture
def watch(airtable_resource, slack, tmp_path, page):
    def run(at: datetime, api_url: str | None = None):
        return run_watchdog(
            airtable=airtable_resource,
            slack=slack.resource(),
            api_url=api_url or f"{page.server.url}/api",
            api_attempts=1,
            now=at,
            state_path=tmp_path / "watchdog.json",
        )

    return run


def beat(airtable, at: datetime) -> None:
    airtable.table("Overview").batch_upsert(
        [{"fields": {"Name": "Sync application", "Alive": 1, "Timestamp": at.strftime("%Y-%m-%dT%H:%M:%S.000Z")}}],
        key_fields=["Name"],
    )


def posts(slack, prefix: str) -> list[str]:
    return [m["text"] for m in slack.messages("#airtable") if m["text"].startswith(prefix)]


def test_a_passing_fault_on_the_way_is_asked_again_and_a_503_is_believed_at_once(page):
    url = f"{page.server.url}/api"
    page.answers = [502, 504]  # a proxy hiccup twice, then the product answers
    assert watchdog.check_api(url, attempts=3, pause_s=0).ok and page.requests == 3

    page.requests, page.answers = 0, [502, 502, 502]
    check = watchdog.check_api(url, attempts=3, pause_s=0)
    assert not check.ok and "answers 502" in check.detail and page.requests == 3  # the last answer, once spent

    page.requests, page.status, page.body = 0, 503, "daemon SENSOR: no heartbeat"
    check = watchdog.check_api(url, attempts=3, pause_s=0)
    assert not check.ok and "answers 503" in check.detail and page.requests == 1  # the product itself says so


@pytest.mark.slow
def test_healthy_costs_one_airtable_read_a_day(airtable, slack, watch):
    beat(airtable, NOW)
    calls = 0
    for tick in range(2 * 288):  # two days at the timer's 5 minutes; the heartbeat keeps being written
        at = NOW + timedelta(minutes=5 * tick)
        if tick % 6 == 0:
            beat(airtable, at)
        outcome = watch(at)
        assert outcome.health.ok and outcome.posted is None
        calls += outcome.airtable_calls
    assert calls == 2  # 30 a month
    assert posts(slack, "Sync application") == []


def test_api_answering_503_alerts_once_with_its_reason_and_recovers(airtable, slack, watch, page):
    beat(airtable, NOW)
    page.status, page.body = 503, "daemon SENSOR: no heartbeat since 11:20 UTC"
    first = watch(NOW)
    assert first.posted == "offline" and first.airtable_calls == 2  # the heartbeat for the message, Alive = 0
    again = watch(NOW + timedelta(minutes=5))
    assert again.posted is None and again.airtable_calls == 0
    [text] = posts(slack, "Sync application offline")
    assert "daemon SENSOR: no heartbeat since 11:20 UTC" in text
    assert airtable.table("Overview").first()["fields"].get("Alive", 0) == 0

    page.status, page.body = 200, "Hello world!"
    beat(airtable, NOW + timedelta(minutes=9))
    assert watch(NOW + timedelta(minutes=10)).posted == "back online"
    assert len(posts(slack, "Sync application back online")) == 1


def test_unreachable_api_alerts_even_when_airtable_is_down_too(airtable, slack, watch):
    airtable.inject(status=503, count=20)
    outcome = watch(NOW, api_url=f"http://127.0.0.1:{free_port()}/api")
    assert outcome.posted == "offline"
    assert "cannot be reached" in posts(slack, "Sync application offline")[0]


def test_a_stale_heartbeat_behind_a_healthy_api_alerts_at_the_cross_check(airtable, slack, watch):
    beat(airtable, NOW - timedelta(hours=1))
    outcome = watch(NOW)
    assert outcome.posted == "offline" and not outcome.health.ok
    # Recovering: /api healthy, the heartbeat still stale -> still offline, nothing new posted.
    assert watch(NOW + timedelta(minutes=5)).posted is None
    beat(airtable, NOW + timedelta(minutes=8))
    assert watch(NOW + timedelta(minutes=10)).posted == "back online"


# The watchdog's decisions on plain data.
T0 = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    "api_ok,offline_since,cross_check_due,expected",
    [
        (False, None, False, True),  # unhealthy, not yet alerted: the heartbeat says how long it has been
        (False, T0, True, False),  # alerted already: nothing Airtable says changes that
        (True, T0, False, True),  # recovering: back online needs the heartbeat too
        (True, None, True, True),  # the periodic cross-check
        (True, None, False, False),
    ],
)
def test_the_heartbeat_is_read_only_when_it_can_change_something(api_ok, offline_since, cross_check_due, expected):
    assert (
        watchdog.must_read_heartbeat(api_ok=api_ok, offline_since=offline_since, cross_check_due=cross_check_due)
        is expected
    )


def test_a_heartbeat_older_than_its_limit_or_never_written_is_stale():
    age = timedelta(minutes=45)
    assert watchdog.heartbeat_check(T0 - timedelta(minutes=44), T0, age).ok
    stale = watchdog.heartbeat_check(T0 - timedelta(minutes=46), T0, age)
    assert not stale.ok and stale.detail == "stale: last 2026-11-26 11:14 UTC"
    assert watchdog.heartbeat_check(None, T0, age).detail == "stale: never written"


def test_offline_is_posted_once_per_outage_and_back_online_after_a_fresh_read():
    post = watchdog.what_to_post
    assert post(healthy=False, offline_since=None, read_heartbeat=True) == "offline"
    assert post(healthy=False, offline_since=T0, read_heartbeat=False) is None
    assert post(healthy=True, offline_since=T0, read_heartbeat=True) == "back online"
    assert post(healthy=True, offline_since=T0, read_heartbeat=False) is None
    assert post(healthy=True, offline_since=None, read_heartbeat=True) is None
