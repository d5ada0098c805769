"""Time zones as the Airtable *Timezone* fields give them: whole hours from GMT (-7 = UTC-7)."""

from __future__ import annotations

from datetime import timedelta, timezone, tzinfo


def utc_offset_tz(offset_hours: float) -> tzinfo:
    """A fixed offset from GMT (-7 = UTC-7)."""
    return timezone(timedelta(hours=offset_hours))


def tz_name(offset_hours: int) -> str:
    """IANA name of a whole-hour offset. The tz database inverts the sign: UTC-7 is Etc/GMT+7."""
    if offset_hours == 0:
        return "UTC"
    return f"Etc/GMT{-offset_hours:+d}"
