"""The small contract every report source implements: request -> wait -> rows.

The asset layer only speaks this interface, so adding a third API is one new folder under ``sources/``
with a resource that implements ``ReportSource``.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta, timezone, tzinfo
from typing import Any, Literal

Row = dict[str, Any]


class ReportFailed(Exception):
    """The API finished the report as failed (e.g. SP-API FATAL, Ads FAILED). Not retryable as is."""

    def __init__(self, message: str, *, api_report_id: str | None = None):
        super().__init__(message)
        self.api_report_id = api_report_id


class ReportTimeout(ReportFailed):
    """The report did not finish within the overall timeout."""


def utc_offset_tz(offset_hours: float) -> tzinfo:
    """A fixed offset from GMT, as the Airtable *Timezone* fields give it (-7 = UTC-7)."""
    return timezone(timedelta(hours=offset_hours))


@dataclass(frozen=True)
class ReportRequest:
    """What to pull. ``day`` is None for a real-time (snapshot) report type."""

    report_type_id: str
    day: date | None = None
    tz: tzinfo = field(default_factory=lambda: utc_offset_tz(-7))
    options: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class ReadyReport:
    """A report the API has finished. ``status`` CANCELLED means "no data": an empty report, not a failure."""

    api_report_id: str
    status: Literal["DONE", "CANCELLED"]
    document_id: str | None = None
    # Source-specific extras (e.g. a download URL) the rows() step needs.
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class QuarantinedRow:
    """A row that could not be parsed, kept with its 1-based line number in the document."""

    line: int
    reason: str
    raw: str


class RowStream:
    """Rows of a finished report, parsed lazily in bounded chunks.

    Iterate ``chunks()`` once. ``columns`` is known after the first chunk; ``quarantined`` fills up as the
    stream is consumed and is complete once ``chunks()`` is exhausted.
    """

    def __init__(self, chunks: Iterator[list[Row]], *, columns: list[str] | None = None):
        self._chunks = chunks
        self.columns: list[str] = list(columns or [])
        self.quarantined: list[QuarantinedRow] = []
        self.rows_read = 0

    def chunks(self) -> Iterator[list[Row]]:
        for chunk in self._chunks:
            self.rows_read += len(chunk)
            yield chunk

    @classmethod
    def empty(cls) -> RowStream:
        return cls(iter(()))


class ReportSource(abc.ABC):
    """Implemented by each API's ConfigurableResource."""

    #: Short name used in asset keys and groups, e.g. "amazon_sp".
    source_name: str = ""

    @abc.abstractmethod
    def request_report(self, request: ReportRequest) -> str:
        """Ask the API for the report (or reuse an identical one already queued). Returns the API's report id."""

    @abc.abstractmethod
    def wait_for_report(self, api_report_id: str) -> ReadyReport:
        """Poll until the report is finished. Raises ReportFailed / ReportTimeout."""

    @abc.abstractmethod
    def report_rows(self, report: ReadyReport, request: ReportRequest) -> RowStream:
        """Download and parse the finished report as a stream of row chunks."""

    def fetch(self, request: ReportRequest) -> tuple[ReadyReport, RowStream]:
        """request -> wait -> rows, the whole contract in one call."""
        report = self.wait_for_report(self.request_report(request))
        if report.status == "CANCELLED":
            return report, RowStream.empty()
        return report, self.report_rows(report, request)
