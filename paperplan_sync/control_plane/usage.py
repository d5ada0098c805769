"""What the product costs in Airtable calls: the change-detection mode in force and the month so far.
Shown by `paperplan-sync doctor` and `health`."""

from __future__ import annotations

from datetime import UTC, datetime

from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.changes import ChangeSettings

HEARTBEATS_A_MONTH = 30 * 48  # one Overview write every 30 minutes


def mode_line(settings: ChangeSettings) -> str:
    idle = settings.monthly_calls() + HEARTBEATS_A_MONTH
    if settings.notification_url:
        how = (
            f"webhook mode: Airtable pings {settings.notification_url}; payloads also read every "
            f"{settings.safety_poll_s // 60} min in case a ping is lost"
        )
    else:
        how = f"poll mode: the webhook's payloads are read every {settings.poll_s // 60} min (no public URL for pings)"
    return f"{how}; about {idle:,} Airtable calls a month at idle, heartbeat included"


def month_line(airtable: AirtableResource, now: datetime | None = None) -> tuple[bool, str]:
    """(within quota, "N calls this month (projected P) of the plan's Q")."""
    usage = airtable.limiter.usage()
    projected = usage.projected(now or datetime.now(UTC))
    quota = airtable.monthly_quota
    text = f"{usage.calls:,} Airtable calls in {usage.month}, projected {projected:,}"
    text += f" of the plan's {quota:,}" if quota else " (unlimited plan)"
    if usage.quota_exceeded:
        return False, text + ": quota used up, Airtable serves 2 requests/s until the month ends"
    return not quota or projected <= quota, text
