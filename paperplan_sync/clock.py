"""The scheduler's clock: the machine's, plus an offset only tests set.

``settings.TEST_CLOCK_OFFSET_FILE`` names a file holding seconds (e.g. ``3600``): the fault matrix steps the
clock forward an hour that way, as NTP or an operator would step the machine's, which a test cannot do.
Unset (production) it is ``datetime.now(UTC)``; an unreadable file counts as no offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from paperplan_sync import settings


def now() -> datetime:
    return datetime.now(UTC) + offset()


def offset() -> timedelta:
    path = settings.value(settings.TEST_CLOCK_OFFSET_FILE)
    if not path:
        return timedelta(0)
    try:
        return timedelta(seconds=float(Path(path).read_text().strip() or 0))
    except (OSError, ValueError):
        return timedelta(0)
