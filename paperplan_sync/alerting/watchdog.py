"""`paperplan-sync watchdog`: judges the product from outside, so it can run on another machine and still
speak when the product's machine is dead. Two signals: the public health page (`GET /api`: "Hello world!"
or 503 with the reason) and the Overview heartbeat in Airtable. Posts "Sync application offline" once per
outage and "Sync application back online" after.

Airtable calls are rationed (the workspace's monthly quota): the heartbeat is read only when /api is not
healthy, while recovering, and as a cross-check every ``heartbeat_check_every`` otherwise (default 24 h:
30 calls a month).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests
import tenacity

from paperplan_sync.alerting.slack import SlackResource, back_online_message, offline_message
from paperplan_sync.config.loader import config_reader
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.schema import TABLE_OVERVIEW
from paperplan_sync.ops.health import Check, Health
from paperplan_sync.settings import state_dir

# The heartbeat is written every 30 minutes; allow one missed beat plus slack for a slow daemon loop.
DEFAULT_MAX_HEARTBEAT_AGE = timedelta(minutes=45)
DEFAULT_HEARTBEAT_CHECK_EVERY = timedelta(hours=24)
HEALTHY_BODY = "Hello world!"
STATE_FILE = "watchdog.json"


@dataclass
class WatchdogOutcome:
    health: Health
    heartbeat_at: datetime | None
    posted: str | None  # "offline", "back online" or None
    airtable_calls: int  # reads of the heartbeat plus the Alive = 0 write when it alerts


def check_api(url: str, *, attempts: int = 3, pause_s: float = 5.0, timeout: float = 10.0) -> Check:
    """The public health page. A few tries apart, so one dropped packet on the way is not an outage."""
    retrying = tenacity.Retrying(
        stop=tenacity.stop_after_attempt(attempts),
        wait=tenacity.wait_fixed(pause_s),
        retry=tenacity.retry_if_result(lambda answer: answer[1]),
        retry_error_callback=_last_answer,
    )
    check, _ = retrying(_ask_api, url, timeout)
    return check


def _last_answer(state: tenacity.RetryCallState) -> tuple[Check, bool]:
    """When the tries are spent: the last answer (a failed Check), not tenacity's RetryError."""
    assert state.outcome is not None  # called only after an attempt
    return state.outcome.result()


def _ask_api(url: str, timeout: float) -> tuple[Check, bool]:
    """One look at the health page, and whether asking again could change the answer."""
    try:
        response = requests.get(url, timeout=timeout)
    except requests.RequestException as exc:
        return Check("api", False, f"{url} cannot be reached ({type(exc).__name__})"), True
    body = response.text.strip()
    if response.status_code == 200 and body == HEALTHY_BODY:
        return Check("api", True, f"{url} says {HEALTHY_BODY}"), False
    reason = next((line for line in body.splitlines() if line.strip()), "no reason given")[:300]
    # 503: the product itself says it is unhealthy, no need to ask again.
    return Check("api", False, f"{url} answers {response.status_code}: {reason}"), response.status_code != 503


def heartbeat_at(airtable: AirtableResource) -> datetime | None:
    record = airtable.table(TABLE_OVERVIEW).first(formula="{Name}='Sync application'")
    stamp = record["fields"].get("Timestamp") if record else None
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")) if stamp else None


def must_read_heartbeat(*, api_ok: bool, offline_since: datetime | None, cross_check_due: bool) -> bool:
    """Read Airtable only when it can change the verdict or the message: /api unhealthy and not yet
    alerted, recovering from an outage, or the periodic cross-check is due."""
    if not api_ok:
        return offline_since is None
    return offline_since is not None or cross_check_due


def heartbeat_check(beat: datetime | None, now: datetime, max_age: timedelta) -> Check:
    fresh = beat is not None and now - beat <= max_age
    detail = f"last {beat:%Y-%m-%d %H:%M} UTC" if beat else "never written"
    return Check("heartbeat", fresh, detail if fresh else f"stale: {detail}")


def what_to_post(*, healthy: bool, offline_since: datetime | None, read_heartbeat: bool) -> str | None:
    """ "offline" once per outage; "back online" once the heartbeat was read again and all is well."""
    if not healthy and offline_since is None:
        return "offline"
    if healthy and offline_since is not None and read_heartbeat:
        return "back online"
    return None


def run_watchdog(
    *,
    airtable: AirtableResource,
    slack: SlackResource,
    api_url: str,
    dagster_url: str | None = None,
    max_heartbeat_age: timedelta = DEFAULT_MAX_HEARTBEAT_AGE,
    heartbeat_check_every: timedelta = DEFAULT_HEARTBEAT_CHECK_EVERY,
    api_attempts: int = 3,
    api_pause_s: float = 5.0,
    now: datetime | None = None,
    state_path: Path | None = None,
) -> WatchdogOutcome:
    now = now or datetime.now(UTC)
    airtable = config_reader(airtable)  # an Airtable outage must not hold the verdict up for minutes
    path = state_path or state_dir() / STATE_FILE
    state = json.loads(path.read_text()) if path.exists() else {}
    offline_since = _moment(state.get("offline_since"))
    checked_at = _moment(state.get("heartbeat_checked_at"))

    api = check_api(api_url, attempts=api_attempts, pause_s=api_pause_s)
    health = Health([api])
    cross_check_due = checked_at is None or now - checked_at >= heartbeat_check_every
    read_heartbeat = must_read_heartbeat(api_ok=api.ok, offline_since=offline_since, cross_check_due=cross_check_due)
    beat = _read_heartbeat(airtable, health, state, now, max_heartbeat_age) if read_heartbeat else None

    posted = what_to_post(healthy=health.ok, offline_since=offline_since, read_heartbeat=read_heartbeat)
    if posted == "offline":
        text, blocks = offline_message(beat, health.problems, dagster_url=dagster_url, now=now)
        slack.post(text, blocks=blocks)
        _mark_offline(airtable)
        state["offline_since"] = now.isoformat()
    elif posted == "back online":
        text, blocks = back_online_message(beat, offline_since, now=now)
        slack.post(text, blocks=blocks)
        state.pop("offline_since")
    path.write_text(json.dumps(state))
    return WatchdogOutcome(health, beat, posted, int(read_heartbeat) + (posted == "offline"))


def _moment(text: str | None) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def _read_heartbeat(
    airtable: AirtableResource, health: Health, state: dict, now: datetime, max_age: timedelta
) -> datetime | None:
    """The Overview heartbeat, added to ``health``. Airtable down is not "Sync offline": judge by /api alone."""
    try:
        beat = heartbeat_at(airtable)
    except Exception as exc:
        health.checks.append(
            Check("heartbeat", True, f"could not read Overview ({type(exc).__name__}); judged by /api alone")
        )
        return None
    health.checks.append(heartbeat_check(beat, now, max_age))
    state["heartbeat_checked_at"] = now.isoformat()
    return beat


def _mark_offline(airtable: AirtableResource) -> None:
    try:
        fields = records.heartbeat_record(alive=False)
        fields.pop("Timestamp")  # keep the last real heartbeat visible
        airtable.table(TABLE_OVERVIEW).batch_upsert([{"fields": fields}], key_fields=["Name"])
    except Exception:
        pass  # the Slack alert is what matters; Airtable may be part of the outage
