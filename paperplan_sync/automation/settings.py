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
STALE_AFTER_H = _seconds("PAPERPLAN_STALE_AFTER_H", 24)
CODE_LOCATION_NAME = "paperplan_sync"
