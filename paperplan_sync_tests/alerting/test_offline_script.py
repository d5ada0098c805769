"""deploy/airtable/offline-alert.js, the zero-infrastructure offline alert, run under node with the parts of
Airtable's scripting API it uses, against the local Airtable and the local Slack."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "airtable" / "offline-alert.js"
HOST = Path(__file__).with_name("airtable_script_host.js")
NODE = shutil.which("node")

pytestmark = [
    pytest.mark.skipif(NODE is None, reason="node is not installed (only this check of the Airtable script needs it)"),
    pytest.mark.slow,  # node subprocesses
]


def run_host(airtable, slack, token: str) -> subprocess.CompletedProcess:
    env = {
        **os.environ,
        "AT_URL": airtable.url,
        "AT_BASE": airtable.base_id,
        "AT_KEY": airtable.api_key,
        "AT_CONFIG": json.dumps({"channel": "#airtable", "slackApiUrl": slack.api_url}),
        "AT_SECRETS": json.dumps({"slackBotToken": token}),
    }
    return subprocess.run([NODE, str(HOST), str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60)


def run_script(airtable, slack) -> dict:
    proc = run_host(airtable, slack, slack.token)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout.strip().splitlines()[-1])


def set_heartbeat(airtable, age: timedelta, alive: int = 1) -> None:
    stamp = (datetime.now(UTC) - age).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    airtable.table("Overview").batch_upsert(
        [{"fields": {"Name": "Sync application", "Alive": alive, "Timestamp": stamp}}], key_fields=["Name"]
    )


def offline_texts(slack) -> list[str]:
    return [m["text"] for m in slack.messages("#airtable") if m["text"].startswith("Sync application offline")]


def test_a_stale_heartbeat_posts_offline_once_and_a_new_heartbeat_rearms_it(airtable, slack):
    set_heartbeat(airtable, timedelta(hours=2))
    assert run_script(airtable, slack) == {"posted": True}
    assert run_script(airtable, slack) == {"posted": False}  # the next hourly run: still down, already told
    texts = offline_texts(slack)
    assert len(texts) == 1 and "last heartbeat 120 minutes ago" in texts[0], texts
    assert airtable.table("Overview").first()["fields"].get("Alive", 0) == 0

    set_heartbeat(airtable, timedelta(minutes=1))  # the product is back: its heartbeat sets Alive = 1
    assert run_script(airtable, slack) == {"posted": False}
    set_heartbeat(airtable, timedelta(minutes=50))  # and gone again
    assert run_script(airtable, slack) == {"posted": True}
    assert len(offline_texts(slack)) == 2


def test_a_fresh_heartbeat_posts_nothing(airtable, slack):
    set_heartbeat(airtable, timedelta(minutes=40))
    assert run_script(airtable, slack) == {"posted": False}
    assert offline_texts(slack) == []


def test_a_refused_post_fails_the_automation_run_and_does_not_mark_it_alerted(airtable, slack):
    set_heartbeat(airtable, timedelta(hours=2))
    proc = run_host(airtable, slack, "xoxb-wrong")
    assert proc.returncode == 1 and "Slack refused the offline alert: invalid_auth" in proc.stderr, proc.stderr
    assert airtable.table("Overview").first()["fields"].get("Alive") == 1  # the next run tries again
