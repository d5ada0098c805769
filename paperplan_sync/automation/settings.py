"""Intervals of the product's sensors. Environment overrides exist so end-to-end tests run in seconds."""

from __future__ import annotations

import os


def _seconds(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# Airtable edits take effect within 2 minutes: one read of two tables a minute (~2 calls/min).
CONFIG_POLL_S = _seconds("PAPERPLAN_CONFIG_POLL_S", 60)
HEARTBEAT_S = _seconds("PAPERPLAN_HEARTBEAT_S", 30 * 60)
OUTBOX_FLUSH_S = _seconds("PAPERPLAN_OUTBOX_FLUSH_S", 60)
FRESHNESS_CHECK_S = _seconds("PAPERPLAN_FRESHNESS_CHECK_S", 10 * 60)
# A report counts as late this long after its automation was due (runs take minutes; Amazon queues vary).
FRESHNESS_GRACE_H = float(os.environ.get("PAPERPLAN_FRESHNESS_GRACE_H") or 2)
CODE_LOCATION_NAME = "paperplan_sync"
