"""`paperplan-sync watchdog`: run from cron / a systemd timer, outside Dagster, so it still speaks when
Dagster is down. Posts "Sync application offline" once per outage (and "back online" after), and sets
Overview Alive = 0 while the product is down."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from paperplan_sync.automation.health import Check, Health, check_dagster
from paperplan_sync.automation.slack import SlackResource, back_online_message, offline_message
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.schema import TABLE_OVERVIEW
from paperplan_sync.state import state_dir

# The heartbeat is written every 30 minutes; allow one missed beat plus slack for a slow daemon loop.
DEFAULT_MAX_HEARTBEAT_AGE = timedelta(minutes=45)
STATE_FILE = "watchdog.json"


@dataclass
class WatchdogOutcome:
    health: Health
    heartbeat_at: datetime | None
    posted: str | None  # "offline", "back online" or None


def heartbeat_at(airtable: AirtableResource) -> datetime | None:
    record = airtable.table(TABLE_OVERVIEW).first(formula="{Name}='Sync application'")
    stamp = (record or {}).get("fields", {}).get("Timestamp")
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def run_watchdog(*, airtable: AirtableResource, slack: SlackResource, webserver_url: str,
                 max_heartbeat_age: timedelta = DEFAULT_MAX_HEARTBEAT_AGE, now: datetime | None = None) -> WatchdogOutcome:
    now = now or datetime.now(UTC)
    health = check_dagster(webserver_url)
    try:
        beat = heartbeat_at(airtable)
        age_ok = beat is not None and now - beat <= max_heartbeat_age
        detail = f"last {beat:%Y-%m-%d %H:%M} UTC" if beat else "never written"
        health.checks.append(Check("heartbeat", age_ok, detail if age_ok else f"stale: {detail}"))
    except Exception as exc:  # Airtable down is not "Sync offline"; say so and judge by Dagster alone
        beat = None
        health.checks.append(Check("heartbeat", True, f"could not read Overview ({type(exc).__name__}); judged by Dagster alone"))

    path = state_dir() / STATE_FILE
    state = json.loads(path.read_text()) if path.exists() else {}
    posted = None
    if not health.ok and not state.get("offline_since"):
        text, blocks = offline_message(beat, health.problems, dagster_url=webserver_url, now=now)
        slack.post(text, blocks=blocks)
        _set_alive(airtable, now, alive=False)
        state = {"offline_since": now.isoformat()}
        posted = "offline"
    elif health.ok and state.get("offline_since"):
        text, blocks = back_online_message(beat, datetime.fromisoformat(state["offline_since"]), now=now)
        slack.post(text, blocks=blocks)
        state = {}
        posted = "back online"
    path.write_text(json.dumps(state))
    return WatchdogOutcome(health, beat, posted)


def _set_alive(airtable: AirtableResource, now: datetime, *, alive: bool) -> None:
    try:
        fields = records.heartbeat_record(now, alive=alive)
        fields.pop("Timestamp")  # keep the last real heartbeat visible
        airtable.table(TABLE_OVERVIEW).batch_upsert([{"fields": fields}], key_fields=["Name"])
    except Exception:
        pass  # the Slack alert is what matters; Airtable may be part of the outage
