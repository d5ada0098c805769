"""What a source says about each report type id it serves: one ``ReportKind`` per id, registered by the
source in its own ``catalog.py`` (see sources/README.md). reports/catalog.py collects them through the
registry; nothing here knows an API.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any


@dataclass(frozen=True)
class DatapointMapping:
    """Rows -> datapoints ``(date, key, metric, value)``, summed per key and metric over a report.

    ``keep`` filters rows on one column: ``(column, predicate on its value)``; None keeps every row."""

    key_field: str
    metrics: dict[str, str]  # metric name -> row column
    keep: tuple[str, Callable[[Any], bool]] | None = None


@dataclass(frozen=True)
class ReportKind:
    report_type_id: str
    source: str
    document_format: str  # a format the source registers (its parser)
    # The column that dates each row; None: the report cannot be split by day (one request per day).
    date_column: str | None = None
    max_range_days: int = 1  # days one request may cover
    row_key: tuple[str, ...] = ()  # columns identifying one row; a repeat is a duplicate
    datapoints: DatapointMapping | None = None
    columns: tuple[str, ...] = ()  # the columns asked for, when the request names them (Ads presets)
    snapshot: bool = False  # the API ignores the data window: the current state
    # The API's own limit on creating this type: one per this many seconds (burst 1); None: only the
    # operation's usage plan applies.
    create_every_s: float | None = None

    @property
    def splittable(self) -> bool:
        return self.date_column is not None and self.max_range_days > 1

    def row_day(self, value: Any, tz: tzinfo) -> date | None:
        """The local day of a row's date column: a timestamp is converted to ``tz`` (with the offset in force
        at that instant, so a range report splits into 23- and 25-hour days where the clocks change); a plain
        date is already the report's day (Ads cuts days in the profile's timezone). None when unreadable."""
        text = str(value or "").strip()
        if not text:
            return None
        try:
            if len(text) == 10:
                return date.fromisoformat(text)
            moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return None
        return moment.astimezone(tz).date() if moment.tzinfo else moment.date()


def by_id(*kinds: ReportKind) -> dict[str, ReportKind]:
    return {kind.report_type_id: kind for kind in kinds}
