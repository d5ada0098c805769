"""Every environment variable the product reads, by name, with its default. The only module that reads
``os.environ`` (it imports nothing of the product): resources.py builds the deployment's resources from these
names, the sensors read their intervals here. Tuning overrides exist so end-to-end tests run in seconds."""

from __future__ import annotations

import os
from pathlib import Path

# --- Connections (resources.py wires these; a secret goes through dagster.EnvVar: here only "is it set?") --
# The API sources' variables are named by each source (sources/<api>/settings.py, sources/registry.py).
AIRTABLE_API_KEY = "AIRTABLE_API_KEY"
AIRTABLE_BASE_ID = "AIRTABLE_BASE_ID"
AIRTABLE_ENDPOINT_URL = "AIRTABLE_ENDPOINT_URL"
AIRTABLE_MONTHLY_QUOTA = "AIRTABLE_MONTHLY_QUOTA"
MONGODB_URI = "MONGODB_URI"
MONGODB_DATABASE = "MONGODB_DATABASE"
SLACK_BOT_TOKEN = "SLACK_BOT_TOKEN"
SLACK_BASE_URL = "SLACK_BASE_URL"
SLACK_CHANNEL = "SLACK_CHANNEL"
DAGSTER_WEBSERVER_URL = "DAGSTER_WEBSERVER_URL"
UI_URL = "PAPERPLAN_UI_URL"  # where people open the UI, for links (default: the webserver's address)
PUBLIC_URL = "PAPERPLAN_PUBLIC_URL"  # the proxy's address: Airtable's webhook pings and the watchdog use it
CHANGE_DETECTION = "PAPERPLAN_CHANGE_DETECTION"  # webhook (the default with a public URL) or poll
API_PORT = "PAPERPLAN_API_PORT"
STATE_DIR = "PAPERPLAN_STATE_DIR"

DEFAULT_WEBSERVER_URL = "http://127.0.0.1:3000"
DEFAULT_API_PORT = 8710

# Each deployment needs these; `paperplan-sync doctor` names the missing ones. Each API source declares its
# own variable names (sources/<api>/settings.py) and they are read here, through ``value`` and ``is_set``.
REQUIRED = {
    "Airtable": (AIRTABLE_API_KEY, AIRTABLE_BASE_ID),
    "MongoDB": (MONGODB_URI,),
    "Slack": (SLACK_BOT_TOKEN,),
    "Dagster": ("DAGSTER_HOME",),
}


# Tests only: a file holding seconds the scheduler adds to the machine's clock (benchmarks/faults.py steps the
# clock forward with it; the machine's own clock cannot be changed from a test). Unset in production.
TEST_CLOCK_OFFSET_FILE = "PAPERPLAN_TEST_CLOCK_OFFSET_FILE"


def value(name: str, default: str = "") -> str:
    """The variable's value; unset and empty both mean the default."""
    return os.environ.get(name) or default


def is_set(name: str) -> bool:
    return bool(os.environ.get(name))


def _int(name: str, default: int) -> int:
    return int(value(name) or default)


# --- Sensor intervals ------------------------------------------------------------------------------------
# The scheduler ticks every 20 s: a tick reads only the shared state (no Airtable call) unless a ping
# arrived or a read is due, so an edit is in effect well within 60 s of its ping.
SCHEDULER_TICK_S = _int("PAPERPLAN_SCHEDULER_TICK_S", 20)
HEARTBEAT_S = _int("PAPERPLAN_HEARTBEAT_S", 30 * 60)
OUTBOX_FLUSH_S = _int("PAPERPLAN_OUTBOX_FLUSH_S", 60)
FRESHNESS_CHECK_S = _int("PAPERPLAN_FRESHNESS_CHECK_S", 10 * 60)
# A report counts as late this long after its automation was due (runs take minutes; Amazon queues vary).
FRESHNESS_GRACE_H = float(value("PAPERPLAN_FRESHNESS_GRACE_H") or 2)
LOGS_RETENTION_DAYS = _int("PAPERPLAN_LOGS_RETENTION_DAYS", 30)
RETENTION_CHECK_S = _int("PAPERPLAN_RETENTION_CHECK_S", 6 * 3600)
# Missed fires (daemon down) are caught up this many days back; older ones are logged, not run.
CATCH_UP_DAYS = _int("PAPERPLAN_CATCH_UP_DAYS", 7)
# Refusals before an Airtable write is set aside in the outbox (a dead letter, shown by `doctor`).
OUTBOX_MAX_REFUSALS = _int("PAPERPLAN_OUTBOX_MAX_REFUSALS", 5)
# Change detection (control_plane/changes.py): webhook mode's safety check of the webhooks, and poll mode's
# check. Checks run at ticks: 35 s means every other 20 s tick (40 s), so an edit is in effect within a minute
# without pings (one call a check); 40 s would often wait for the third tick (60 s).
SAFETY_POLL_S = _int("PAPERPLAN_SAFETY_POLL_S", 30 * 60)
CHANGE_POLL_S = _int("PAPERPLAN_CHANGE_POLL_S", 35)
CODE_LOCATION_NAME = "paperplan_sync"


def webserver_url() -> str:
    """The Dagster webserver the product calls (GraphQL for backfills and health)."""
    return value(DAGSTER_WEBSERVER_URL, DEFAULT_WEBSERVER_URL)


def ui_url() -> str:
    """Where people open the Dagster UI, for links in Slack and run metadata (the login proxy in production)."""
    return value(UI_URL) or webserver_url()


def api_port() -> int:
    return int(value(API_PORT) or DEFAULT_API_PORT)


def api_url() -> str:
    """The product's health page: behind the proxy when there is a public URL, else this machine's api service."""
    if public := value(PUBLIC_URL):
        return public.rstrip("/") + "/api"
    return f"http://127.0.0.1:{api_port()}/api"


def state_dir() -> Path:
    """``$PAPERPLAN_STATE_DIR``, else ``$DAGSTER_HOME/paperplan``, else ``~/.cache/paperplan_sync``: the local
    state shared by every process of the product on one machine."""
    if explicit := value(STATE_DIR):
        path = Path(explicit)
    elif dagster_home := value("DAGSTER_HOME"):
        path = Path(dagster_home) / "paperplan"
    else:
        path = Path.home() / ".cache" / "paperplan_sync"
    path.mkdir(parents=True, exist_ok=True)
    return path
