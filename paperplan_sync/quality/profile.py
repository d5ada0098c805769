"""A day's figures, gathered while its rows stream into storage (``DayProfiler.add`` per batch, on the
load's reading thread): row count, how often each required column is filled, the columns seen, sales
(revenue, units) overall and per marketplace, and the row keys (for the re-pull shrink check). Pure."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from paperplan_sync.quality.rules import Money, TypeRules, rules_for
from paperplan_sync.sources.base import RowBatch
from paperplan_sync.values import to_number

KEY_SEPARATOR = "\x1f"  # joins a row's key columns (never inside an id or a SKU)
# The keys of a day are kept (compressed) up to this many rows: a 16 MB MongoDB document holds ~500,000
# order keys uncompressed; beyond it the shrink check still counts rows but names no example.
MAX_KEPT_KEYS = 400_000
_EMPTY = (None, "")


@dataclass
class Sales:
    revenue: float = 0.0
    units: float = 0.0
    rows: int = 0
    unpriced_units: float = 0.0  # pending rows without a price yet (the order report leaves it empty)

    def to_doc(self) -> dict[str, float]:
        return {
            "revenue": round(self.revenue, 2),
            "units": self.units,
            "rows": self.rows,
            "unpriced_units": self.unpriced_units,
        }


@dataclass
class DayProfile:
    rows: int = 0
    columns: set[str] = field(default_factory=set)
    filled: dict[str, int] = field(default_factory=dict)  # required column -> rows where it is non-empty
    sales: Sales | None = None
    currency: str = ""
    markets: dict[str, Sales] = field(default_factory=dict)  # marketplace (sales channel) -> its figures
    keys: list[str] = field(default_factory=list)


class DayProfiler:
    """Collects a ``DayProfile`` from row batches (columnar: a column at a time, no dict per row)."""

    def __init__(self, rules: TypeRules, key_columns: tuple[str, ...] = ()):
        self.rules, self.key_columns = rules, key_columns
        self.day = DayProfile(filled=dict.fromkeys(rules.required, 0), sales=Sales() if rules.money else None)

    @classmethod
    def for_type(cls, report_type_id: str, key_columns: tuple[str, ...] = ()) -> DayProfiler:
        return cls(rules_for(report_type_id), key_columns)

    def add(self, batch: RowBatch) -> None:
        day = self.day
        day.rows += len(batch)
        day.columns.update(batch.columns)
        for name in self.rules.required:
            day.filled[name] += sum(1 for v in batch.column(name) if v not in _EMPTY)
        if self.key_columns and len(day.keys) < MAX_KEPT_KEYS:
            parts = [batch.column(c) for c in self.key_columns]
            day.keys += [KEY_SEPARATOR.join(map(str, k)) for k in zip(*parts, strict=True)]
        if self.rules.money:
            _add_sales(day, batch, self.rules.money, self.rules.market_column)

    def finish(self, columns: Iterable[str] = ()) -> DayProfile:
        """``columns``: the report's columns (a column empty on every row, or a header without rows)."""
        self.day.columns.update(columns)
        return self.day


def profile_rows(
    rows: Iterable[dict[str, Any]], rules: TypeRules, key_columns: tuple[str, ...] = (), columns: Iterable[str] = ()
) -> DayProfile:
    """The profile of rows given as dicts (a stored day read back; tests)."""
    profiler = DayProfiler(rules, key_columns)
    rows = list(rows)
    if rows:
        profiler.add(RowBatch.from_dicts(rows))
    return profiler.finish(columns)


def _add_sales(day: DayProfile, batch: RowBatch, money: Money, market_column: str | None) -> None:
    n = len(batch)
    records = batch.column(money.record_column) if money.record_column else [money.record_value] * n
    statuses = batch.column(money.status) if money.status else [None] * n
    markets = batch.column(market_column) if market_column else [None] * n
    columns = zip(records, statuses, batch.column(money.units), batch.column(money.revenue), markets, strict=True)
    for record, status, units, price, market in columns:
        if record != money.record_value or status in money.skip:
            continue
        _count(day, market_column and str(market or ""), to_number(units) or 0.0, to_number(price), status, money)
    if not day.currency:
        day.currency = next((str(c) for c in batch.column(money.currency) if c not in _EMPTY), "")


def _count(day: DayProfile, market: str | None, units: float, price: float | None, status, money: Money) -> None:
    assert day.sales is not None  # set by for_type for a type with sales figures, the only caller's case
    targets = [day.sales] if market is None else [day.sales, day.markets.setdefault(market, Sales())]
    for sales in targets:
        sales.rows += 1
        sales.units += units
        if price is not None:
            sales.revenue += price
        elif status == money.pending:
            sales.unpriced_units += units


def pack_keys(keys: list[str]) -> bytes:
    return zlib.compress("\n".join(keys).encode(), 1)


def unpack_keys(blob: bytes | None) -> list[str]:
    return zlib.decompress(blob).decode().split("\n") if blob else []
