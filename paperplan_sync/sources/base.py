"""The small contract every report source implements: request -> wait -> rows.

The asset layer only speaks this interface, so adding a third API is one new folder under ``sources/``
(see sources/README.md) whose resource implements ``ReportSource`` -- usually by extending ``http.ApiSource``.
"""

from __future__ import annotations

import abc
import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import date, tzinfo
from typing import Any, ClassVar, Literal

from paperplan_sync.timezones import DEFAULT_ZONE

Row = dict[str, Any]


class ReportFailed(Exception):
    """The API finished the report as failed (e.g. SP-API FATAL, Ads FAILED). Not retryable as is."""

    def __init__(self, message: str, *, api_report_id: str | None = None):
        super().__init__(message)
        self.api_report_id = api_report_id


class ReportTimeout(ReportFailed):
    """The report did not finish within the overall timeout."""


def poll_report(
    check: Callable[[], tuple[ReadyReport | None, str]],
    api_report_id: str,
    *,
    timeout_s: float,
    initial_s: float,
    max_s: float,
    growth: float,
    label: str = "report",
) -> ReadyReport:
    """Call ``check`` until it returns a ReadyReport (it raises ReportFailed itself), sleeping ``initial_s``
    between polls, then ``growth`` times longer each time up to ``max_s``. ``check`` also returns the status
    it saw, which a ReportTimeout after ``timeout_s`` names (as "<label> <id> still <status> ...")."""
    deadline = time.monotonic() + timeout_s
    interval = max(initial_s, 0.0)
    while True:
        ready, status = check()
        if ready is not None:
            return ready
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise ReportTimeout(
                f"{label} {api_report_id} still {status or 'unfinished'} after {timeout_s:g}s",
                api_report_id=api_report_id,
            )
        time.sleep(min(interval, remaining))
        interval = min(max(interval * growth, 0.05), max_s)


@dataclass(frozen=True)
class ReportRequest:
    """What to pull. ``day`` is None for a real-time (snapshot) report type; ``end_day`` makes it the range
    ``day..end_day`` (inclusive) of a report that is split into days afterwards."""

    report_type_id: str
    day: date | None = None
    tz: tzinfo = field(default_factory=lambda: DEFAULT_ZONE.tzinfo)
    options: dict[str, str] = field(default_factory=dict)
    end_day: date | None = None

    @property
    def last_day(self) -> date | None:
        return self.end_day or self.day


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


class RowBatch:
    """A chunk of parsed rows. Columnar when every row has the same columns (flat files): ``values`` holds one
    list per row aligned with ``columns``, and dicts are built only when asked for -- parsing stays cheap and
    the storage layer builds each MongoDB document once, stamps included. Rows of varying shape (JSON reports)
    keep their dicts (``values`` is None)."""

    __slots__ = ("_dicts", "columns", "values")

    def __init__(self, columns: list[str], values: list[list[Any]] | None = None, *, dicts: list[Row] | None = None):
        if (values is None) == (dicts is None):
            raise ValueError("a RowBatch holds either values or dicts")
        self.columns = columns
        self.values = values
        self._dicts = dicts

    @classmethod
    def from_dicts(cls, rows: list[Row]) -> RowBatch:
        columns: dict[str, None] = {}
        for row in rows:
            columns.update(dict.fromkeys(row))
        return cls(list(columns), dicts=rows)

    def __len__(self) -> int:
        return len(self.values) if self.values is not None else len(self._dicts or ())

    def dicts(self) -> list[Row]:
        """The rows as dicts (built once, then cached)."""
        if self._dicts is None:
            cols = self.columns
            self._dicts = [dict(zip(cols, v, strict=True)) for v in self.values or ()]
        return self._dicts

    def column(self, name: str) -> list[Any]:
        """One column's values (None where a row lacks it)."""
        if self.values is not None:
            try:
                i = self.columns.index(name)
            except ValueError:
                return [None] * len(self.values)
            return [v[i] for v in self.values]
        return [row.get(name) for row in self._dicts or ()]


class RowStream:
    """Rows of a finished report, parsed lazily in bounded chunks.

    Iterate ``batches()`` (or ``chunks()``, the same rows as lists of dicts) once. ``columns`` is known after
    the first chunk; ``quarantined`` fills up as the stream is consumed and is complete once it is exhausted.
    The underlying iterator may yield ``RowBatch`` objects or plain lists of row dicts.
    """

    def __init__(self, chunks: Iterator[RowBatch | list[Row]], *, columns: list[str] | None = None):
        self._chunks = chunks
        self.columns: list[str] = list(columns or [])
        self.quarantined: list[QuarantinedRow] = []
        self.rows_read = 0

    def batches(self) -> Iterator[RowBatch]:
        for chunk in self._chunks:
            batch = chunk if isinstance(chunk, RowBatch) else RowBatch.from_dicts(chunk)
            self.rows_read += len(batch)
            yield batch

    def chunks(self) -> Iterator[list[Row]]:
        for batch in self.batches():
            yield batch.dicts()

    @classmethod
    def empty(cls) -> RowStream:
        return cls(iter(()))


def flatten_json(prefix: str, value: Any, into: dict[str, Any]) -> None:
    """A JSON record as flat text columns: nested keys joined with ``_`` (``sales_unitsOrdered``), lists kept
    as JSON text, null as "", booleans as true/false: the shape every stored row has (JSON documents of the
    SP-API and Data Kiosk alike)."""
    if isinstance(value, dict):
        for key, inner in value.items():
            flatten_json(f"{prefix}_{key}" if prefix else key, inner, into)
    elif isinstance(value, list):
        into[prefix] = json.dumps(value, ensure_ascii=False)
    elif value is None:
        into[prefix] = ""
    elif isinstance(value, bool):
        into[prefix] = "true" if value else "false"
    else:
        into[prefix] = str(value)


class ReportSource(abc.ABC):
    """Implemented by each API's ConfigurableResource."""

    #: Short name used in asset keys and groups, e.g. "amazon_sp".
    source_name: ClassVar[str] = ""

    @abc.abstractmethod
    def request_report(self, request: ReportRequest) -> str:
        """Ask the API for the report (or reuse an identical one already queued). Returns the API's report id."""

    @abc.abstractmethod
    def wait_for_report(self, api_report_id: str) -> ReadyReport:
        """Poll until the report is finished. Raises ReportFailed / ReportTimeout."""

    @abc.abstractmethod
    def report_rows(self, report: ReadyReport, request: ReportRequest) -> RowStream:
        """Download and parse the finished report as a stream of row chunks."""

    def request_reports(self, requests: list[ReportRequest]) -> Iterator[str | Exception]:
        """Request several reports in order, yielding each one's API report id or the exception that refused
        it (one refusal must not stop the others). A source may share work between them (SP-API: one
        lookup of reports already in flight per run)."""
        for request in requests:
            try:
                yield self.request_report(request)
            except Exception as exc:  # handed to the caller, which fails only that request's days
                yield exc

    def fetch(self, request: ReportRequest) -> tuple[ReadyReport, RowStream]:
        """request -> wait -> rows, the whole contract in one call."""
        report = self.wait_for_report(self.request_report(request))
        if report.status == "CANCELLED":
            return report, RowStream.empty()
        return report, self.report_rows(report, request)


def bound_stream(make_chunks: Callable[[RowStream], Iterator[RowBatch | list[Row]]]) -> RowStream:
    """A RowStream whose generator can fill in that same stream's columns / quarantine as it runs."""
    holder: list[RowStream] = []

    def run() -> Iterator[RowBatch | list[Row]]:
        yield from make_chunks(holder[0])

    stream = RowStream(run())
    holder.append(stream)
    return stream
