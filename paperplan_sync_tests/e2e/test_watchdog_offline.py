"""The offline alert with the product's machine gone: a real `dagster dev` and `paperplan-sync api` are
killed outright and the heartbeat goes stale; `paperplan-sync watchdog`, run as from another machine (its
own state directory, only the Airtable and Slack settings and the public URL), posts "Sync application
offline" exactly once, then "back online" when the product is started again. It stays cheap on Airtable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import psutil
import pytest

from paperplan_local import stack
from paperplan_sync_tests.fixtures.dagster_dev import product_environment, wait_until

pytestmark = pytest.mark.e2e
OFFLINE, BACK = "Sync application offline", "Sync application back online"


def run_watchdog_elsewhere(env: dict[str, str]) -> tuple[int, str]:
    proc = subprocess.run(
        [str(Path(sys.executable).parent / "paperplan-sync"), "watchdog"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    return proc.returncode, proc.stdout + proc.stderr


def kill_machine(dev: stack.Stack) -> None:
    """What a dead machine looks like from outside: every process of the product gone at once, no goodbyes."""
    api_port = dev.api_url.rsplit(":", 1)[1]
    api = [
        p
        for p in psutil.process_iter(["cmdline"])
        if "api" in (p.info["cmdline"] or []) and api_port in (p.info["cmdline"] or [])
    ]
    assert len(api) == 1, api
    procs = [psutil.Process(dev.pid), *psutil.Process(dev.pid).children(recursive=True), *api]
    for proc in procs:
        try:
            proc.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(procs, timeout=20)


def texts(slack_server, prefix: str) -> list[str]:
    return [m["text"] for m in slack_server.messages("#airtable") if m["text"].startswith(prefix)]


def test_watchdog_alerts_once_when_the_machine_is_gone_and_again_when_it_is_back(
    tmp_path, airtable_server, spapi_server, ads_server, slack_server, mongo_server
):
    airtable_server.reset()
    slack_server.clear()
    env = product_environment(airtable_server, spapi_server, ads_server, slack_server, mongo_server)
    overview = airtable_server.table("Overview")
    beat = lambda: overview.first(formula="{Name}='Sync application'")["fields"].get("Timestamp")  # noqa: E731
    (tmp_path / "watchdog").mkdir()
    # The watchdog's machine: Airtable and Slack settings and the public /api URL; nothing of Dagster's.
    watchdog_env = {k: v for k, v in os.environ.items() if not k.startswith(("DAGSTER", "PAPERPLAN"))}
    watchdog_env.update(
        {
            k: env[k]
            for k in (
                "AIRTABLE_ENDPOINT_URL",
                "AIRTABLE_API_KEY",
                "AIRTABLE_BASE_ID",
                "SLACK_BASE_URL",
                "SLACK_BOT_TOKEN",
                "SLACK_CHANNEL",
            )
        },
        PAPERPLAN_STATE_DIR=str(tmp_path / "watchdog"),
        COLUMNS="200",
    )

    home = tmp_path / "dagster_home"
    home.mkdir()
    with stack.dagster_dev(env, home=home) as dev:
        watchdog_env["PAPERPLAN_PUBLIC_URL"] = dev.api_url
        wait_until(lambda: httpx.get(f"{dev.api_url}/api", timeout=10).status_code == 200, 90, 2, "/api to say healthy")
        wait_until(beat, 60, 2, "a heartbeat")

        # Healthy: the first run cross-checks the heartbeat (1 Airtable call), the next ones only ask /api.
        rc, out = run_watchdog_elsewhere(watchdog_env)
        assert rc == 0 and "Airtable calls: 1" in out, out
        # The product keeps calling Airtable meanwhile (heartbeat, change checks): count the watchdog's one read.
        reads = lambda: airtable_server.stats()["by_endpoint"].get("GET Overview", 0)  # noqa: E731
        calls = reads()
        rc, out = run_watchdog_elsewhere(watchdog_env)
        assert rc == 0 and "Airtable calls: 0" in out, out
        assert reads() == calls

        # The machine dies: webserver, daemon, code server and api service killed; time passes, the heartbeat
        # goes stale.
        kill_machine(dev)
        for url in (dev.webserver_url + "/server_info", dev.api_url + "/api"):
            with pytest.raises(httpx.ConnectError):
                httpx.get(url, timeout=5)
        overview.batch_upsert(
            [
                {
                    "fields": {
                        "Name": "Sync application",
                        "Alive": 1,
                        "Timestamp": (datetime.now(UTC) - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
                    }
                }
            ],
            key_fields=["Name"],
        )

        rc, out = run_watchdog_elsewhere(watchdog_env)
        assert rc == 1 and "posted to Slack: offline" in out, out
        assert "cannot be reached" in out and "stale" in out, out
        rc, out = run_watchdog_elsewhere(watchdog_env)  # still down: no second alert, no Airtable call
        assert rc == 1 and "posted to Slack" not in out and "Airtable calls: 0" in out, out
        offline = texts(slack_server, OFFLINE)
        assert len(offline) == 1 and "last heartbeat" in offline[0], offline
        assert overview.first(formula="{Name}='Sync application'")["fields"].get("Alive", 0) == 0

    # Started again (on other ports: the watchdog follows its PAPERPLAN_PUBLIC_URL setting).
    with stack.dagster_dev(env, home=home) as dev:
        watchdog_env["PAPERPLAN_PUBLIC_URL"] = dev.api_url
        wait_until(lambda: httpx.get(f"{dev.api_url}/api", timeout=10).status_code == 200, 90, 2, "/api to say healthy")
        wait_until(
            lambda: (
                (b := beat())
                and datetime.now(UTC) - datetime.fromisoformat(b.replace("Z", "+00:00")) < timedelta(minutes=5)
            ),
            60,
            2,
            "a fresh heartbeat",
        )
        rc, out = run_watchdog_elsewhere(watchdog_env)
        assert rc == 0 and "posted to Slack: back online" in out, out
    assert len(texts(slack_server, OFFLINE)) == 1 and len(texts(slack_server, BACK)) == 1
