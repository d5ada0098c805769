"""What the product costs in Airtable calls: the change-detection mode in force and the month so far.
Shown by `paperplan-sync doctor` and `health`."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.changes import ChangeSettings

HEARTBEATS_A_MONTH = 30 * 48  # one Overview write every 30 minutes


def mode_line(settings: ChangeSettings, quota: int = 0) -> str:
    """The mode in force and its idle cost; against the plan's ``quota`` (0: unlimited) when one is given."""
    idle = idle_calls(settings)
    if settings.notification_url:
        how = (
            f"webhook mode: Airtable pings {settings.notification_url}; the webhooks are also checked every "
            f"{_every(settings.safety_poll_s)} in case a ping is lost"
        )
    else:
        webhook = replace(settings, mode="webhook", public_url=settings.public_url or "https://x")
        how = (
            f"poll mode: the webhooks are checked every {_every(settings.check_every_s)} (no public URL for pings; "
            f"PAPERPLAN_PUBLIC_URL enables webhook mode, about {idle_calls(webhook):,} calls a month)"
        )
    text = f"{how}; about {idle:,} Airtable calls a month at idle, heartbeat included"
    if quota and not fits(settings, quota):
        text += (
            f", more than half of the plan's {quota:,}: give the api service a public URL (PAPERPLAN_PUBLIC_URL, "
            "webhook mode) or check less often (PAPERPLAN_CHANGE_POLL_S; an edit then takes longer than a minute)"
        )
    return text


def idle_calls(settings: ChangeSettings) -> int:
    """Airtable calls a month when nothing happens: change detection plus the heartbeat."""
    return settings.monthly_calls() + HEARTBEATS_A_MONTH


def fits(settings: ChangeSettings, quota: int) -> bool:
    """Whether idle leaves at least half of the plan's monthly quota to the rest of the workspace."""
    return not quota or idle_calls(settings) <= quota // 2


def _every(seconds: int) -> str:
    return f"{seconds // 60} min" if seconds % 60 == 0 else f"{seconds} s"


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
