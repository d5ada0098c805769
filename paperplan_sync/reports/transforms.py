"""Pure row transforms: duplicate-key counting and datapoint sums. Which columns and metrics apply to a
report type is the catalog's business (reports/catalog.py)."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from paperplan_sync.sources.base import Row, RowBatch
from paperplan_sync.sources.catalog import DatapointMapping  # sources register their mappings
from paperplan_sync.values import to_number


def columns(rows: RowBatch | Iterable[Row], names: Iterable[str]) -> list[list[Any]]:
    """The named columns of a chunk (None where a row lacks one). A columnar ``RowBatch`` hands them over
    without building a dict per row; a list of dicts is read row by row."""
    if isinstance(rows, RowBatch):
        return [rows.column(name) for name in names]
    rows = list(rows)
    return [[row.get(name) for row in rows] for name in names]


def _always(value: Any) -> bool:
    return True


class DatapointAccumulator:
    """Sums a report's rows into datapoints while the rows stream past."""

    def __init__(self, mapping: DatapointMapping):
        self.mapping = mapping
        self.totals: dict[tuple[str, str], float] = defaultdict(float)

    def add(self, rows: RowBatch | Iterable[Row]) -> None:
        m = self.mapping
        keep_column, keep = m.keep or (m.key_field, _always)
        keys, kept, *values = columns(rows, [m.key_field, keep_column, *m.metrics.values()])
        wanted = [bool(key) and keep(value) for key, value in zip(keys, kept, strict=True)]
        for metric, column in zip(m.metrics, values, strict=True):
            for key, want, value in zip(keys, wanted, column, strict=True):
                number = to_number(value) if want else None
                if number is not None:
                    self.totals[(str(key), metric)] += number

    def datapoints(self, *, report: str, day: str, load_id: str) -> list[dict]:
        return [
            {"report": report, "date": day, "key": key, "metric": metric, "value": round(value, 6), "load_id": load_id}
            for (key, metric), value in sorted(self.totals.items())
        ]


class DuplicateKeyCounter:
    """Counts rows whose key columns repeat an earlier row's (keeps a few examples for the check)."""

    def __init__(self, key_fields: tuple[str, ...], examples: int = 5):
        self.key_fields, self.max_examples = key_fields, examples
        self.seen: set[tuple] = set()
        self.duplicates = 0
        self.examples: list[tuple] = []

    def add(self, rows: RowBatch | Iterable[Row]) -> None:
        if not self.key_fields:
            return
        for key in zip(*columns(rows, self.key_fields), strict=True):
            if key in self.seen:
                self.duplicates += 1
                if len(self.examples) < self.max_examples:
                    self.examples.append(key)
            else:
                self.seen.add(key)
