"""Intervals of the product's sensors and how it learns of Airtable edits. Environment overrides exist so
end-to-end tests run in seconds and so a deployment can choose its change-detection mode."""

from __future__ import annotations

import os

from paperplan_sync.control_plane.changes import ChangeSettings


def _seconds(name: str, default: int) -> int:
    return int(os.environ.get(name) or default)


# The scheduler ticks every 20 s: a tick reads only the shared state (no Airtable call) unless a ping
# arrived or a read is due, so an edit is in effect well within 60 s of its ping.
SCHEDULER_TICK_S = _seconds("PAPERPLAN_SCHEDULER_TICK_S", 20)
HEARTBEAT_S = _seconds("PAPERPLAN_HEARTBEAT_S", 30 * 60)
OUTBOX_FLUSH_S = _seconds("PAPERPLAN_OUTBOX_FLUSH_S", 60)
FRESHNESS_CHECK_S = _seconds("PAPERPLAN_FRESHNESS_CHECK_S", 10 * 60)
# A report counts as late this long after its automation was due (runs take minutes; Amazon queues vary).
FRESHNESS_GRACE_H = float(os.environ.get("PAPERPLAN_FRESHNESS_GRACE_H") or 2)
LOGS_RETENTION_DAYS = _seconds("PAPERPLAN_LOGS_RETENTION_DAYS", 30)
RETENTION_CHECK_S = _seconds("PAPERPLAN_RETENTION_CHECK_S", 6 * 3600)
CODE_LOCATION_NAME = "paperplan_sync"
PUBLIC_URL_ENV = "PAPERPLAN_PUBLIC_URL"


def change_settings() -> ChangeSettings:
    """``PAPERPLAN_CHANGE_DETECTION``: ``webhook`` (pings to PAPERPLAN_PUBLIC_URL; the default when it is
    set) or ``poll`` (no public URL: the webhook's payloads are listed every 2 minutes)."""
    public_url = os.environ.get(PUBLIC_URL_ENV, "")
    mode = os.environ.get("PAPERPLAN_CHANGE_DETECTION") or ("webhook" if public_url else "poll")
    if mode not in ("webhook", "poll"):
        raise ValueError(f"PAPERPLAN_CHANGE_DETECTION must be webhook or poll, not {mode!r}")
    return ChangeSettings(mode=mode, public_url=public_url,  # type: ignore[arg-type]
                          safety_poll_s=_seconds("PAPERPLAN_SAFETY_POLL_S", 30 * 60),
                          poll_s=_seconds("PAPERPLAN_CHANGE_POLL_S", 2 * 60))
