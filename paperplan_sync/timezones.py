"""Time zones as the Airtable *Timezone* fields give them, as one value type: ``Zone``.

A Timezone is an IANA name (``America/Los_Angeles``: local days and clock times follow daylight saving) or,
as existing bases hold, hours from GMT (``-7`` = UTC-7 all year). ``Zone.tzinfo`` turns instants into local
days and local clock times into instants, ``Zone.name`` is the IANA name Dagster's partitions take; no other
module turns hours into a zone. A local day is midnight to midnight, so it may last 23 or 25 hours.
"""

from __future__ import annotations

import functools
import re
import zoneinfo
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta, timezone, tzinfo
from typing import Any, Literal

MIN_HOURS, MAX_HOURS = -12, 14  # the range of offsets in use on Earth
DEFAULT_HOURS = -7  # the old Sync app's default (UTC-7); per-marketplace defaults come with the marketplaces
EXAMPLES = "an IANA name such as America/Los_Angeles or Europe/Berlin, or whole hours from GMT such as -7"
MAX_NAME_CHARS = 64  # the longest tz database name is 32 characters
_NUMBER = re.compile(r"^[+-]?\d+(\.\d+)?$")
Origin = Literal["name", "hours", "default"]


class ZoneError(ValueError):
    """A Timezone value that is no zone; the message says what is accepted."""


@dataclass(frozen=True)
class Zone:
    """``name``: the IANA name (``Etc/GMT+7`` for whole hours; None for a fractional offset such as 5.5,
    which only an Automation takes). ``hours``: the number, when the field held one. ``origin``: how the
    value came (typed name, typed hours, or the default for an empty field), e.g. for a later default."""

    name: str | None
    hours: float | None = None
    origin: Origin = field(default="name", compare=False)

    @classmethod
    def named(cls, name: str) -> Zone:
        """An IANA name, spelled as the tz database spells it (a different letter case is accepted)."""
        text = name.strip()
        key = _canonical_name(text)
        if key is None:
            shown = repr(text) if len(text) <= MAX_NAME_CHARS else f"{text[:MAX_NAME_CHARS]!r}..."
            raise ZoneError(f"unknown time zone {shown}; use {EXAMPLES}")
        return cls(key)

    @classmethod
    def from_hours(cls, hours: float, *, whole: bool = True, origin: Origin = "hours") -> Zone:
        """Hours from GMT (-7 = UTC-7). ``whole``: only whole hours (a daily partition needs a named zone)."""
        if hours > MAX_HOURS:
            raise ZoneError(f"hours from GMT must be less than or equal to {MAX_HOURS} (got {hours:g}); use {EXAMPLES}")
        if hours < MIN_HOURS:
            raise ZoneError(
                f"hours from GMT must be greater than or equal to {MIN_HOURS} (got {hours:g}); use {EXAMPLES}"
            )
        if hours != int(hours):
            if whole:
                raise ZoneError(f"must be whole hours from GMT here (got {hours:g}); use {EXAMPLES}")
            return cls(None, hours, origin)
        hours = int(hours)
        # The tz database inverts the sign: UTC-7 is Etc/GMT+7.
        return cls("UTC" if hours == 0 else f"Etc/GMT{-hours:+d}", hours, origin)

    @classmethod
    def parse(cls, value: Any, *, whole_hours: bool = True) -> Zone:
        """A Timezone cell: empty (the default), a number (a number-typed field), or text ("-7", a name)."""
        if isinstance(value, Zone):
            return value
        if value is None or (isinstance(value, str) and not value.strip()):
            return DEFAULT_ZONE
        if isinstance(value, bool):
            raise ZoneError(f"not a time zone (got {value!r}); use {EXAMPLES}")
        if isinstance(value, (int, float)):
            return cls.from_hours(value, whole=whole_hours)
        if not isinstance(value, str):
            raise ZoneError(f"not a time zone (got {value!r}); use {EXAMPLES}")
        text = value.strip()
        if _NUMBER.match(text):
            return cls.from_hours(float(text), whole=whole_hours)
        return cls.named(text)

    @property
    def tzinfo(self) -> tzinfo:
        # Only a fractional offset has no tz database name (it is a fixed offset all the same).
        if self.name is None:
            return timezone(timedelta(hours=self.hours or 0))
        return zoneinfo.ZoneInfo(self.name)

    @property
    def spelling(self) -> str:
        """As the ops team would type it: ``-7``, ``5.5`` or ``America/Los_Angeles``."""
        return f"{self.hours:g}" if self.hours is not None else str(self.name)

    @property
    def label(self) -> str:
        """For people: ``GMT-7`` for hours, the name otherwise."""
        return f"GMT{self.hours:+g}" if self.hours is not None else str(self.name)

    @property
    def token(self) -> str:
        """Letters, digits and underscores (Dagster job names): ``utcminus7``, ``america_los_angeles``."""
        if self.hours is not None:
            return f"utc{self.hours:+g}".replace("+", "plus").replace("-", "minus").replace(".", "_")
        return re.sub(r"[^a-z0-9]+", "_", str(self.name).lower()).strip("_")

    def local_date(self, moment: datetime) -> date:
        return moment.astimezone(self.tzinfo).date()

    def at(self, day: date, clock: time) -> datetime:
        """The instant ``clock`` shows on ``day`` here, in this zone. A time the clocks skip (02:30 on the
        spring-forward day) is read with the offset before the change, so it falls as far after the change
        (03:30 daylight time); a time shown twice (01:30 on the fall-back day) is its first occurrence."""
        return local_instant(day, clock, self.tzinfo)

    def day_start(self, day: date) -> datetime:
        """The first instant of the local ``day`` (usually its midnight)."""
        return self.at(day, time(0))

    def __str__(self) -> str:
        return self.label


def local_instant(day: date, clock: time, tz: tzinfo) -> datetime:
    """``Zone.at`` for any tzinfo: normalized through UTC, so the offset shown is the one in force."""
    wall = datetime.combine(day, clock.replace(fold=0), tzinfo=tz)
    return wall.astimezone(UTC).astimezone(tz)


def day_bounds(first: date, last: date, tz: tzinfo) -> tuple[datetime, datetime]:
    """The instants 00:00:00 of ``first`` and 23:59:59 (one second before the next local midnight) of
    ``last``: 23 or 25 hours for a day on which the clocks change."""
    start = local_instant(first, time(0), tz)
    end = local_instant(last + timedelta(days=1), time(0), tz) - timedelta(seconds=1)
    return start, end.astimezone(UTC).astimezone(tz)


@functools.cache
def _names_by_lower() -> dict[str, str]:
    return {name.lower(): name for name in zoneinfo.available_timezones()}


def _canonical_name(text: str) -> str | None:
    if not text or len(text) > MAX_NAME_CHARS:
        return None
    try:
        zoneinfo.ZoneInfo(text)
        return text
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        return _names_by_lower().get(text.lower())


DEFAULT_ZONE = Zone.from_hours(DEFAULT_HOURS, origin="default")
