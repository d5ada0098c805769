"""A stored day's figures, read from its rows in one pass: row count, how often each required column is
filled, the columns seen, sales (revenue, units) overall and per marketplace, and the row keys (for the
re-pull shrink check). Pure: rows in (dicts), a ``DayProfile`` out."""

from __future__ import annotations

import zlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from paperplan_sync.quality.rules import Money, TypeRules
from paperplan_sync.values import to_number

KEY_SEPARATOR = "\x1f"  # joins a row's key columns (never inside an id or a SKU)
# The keys of a day are kept (compressed) up to this many rows: a 16 MB MongoDB document holds ~500,000
# order keys uncompressed; beyond it the shrink check still counts rows but names no example.
MAX_KEPT_KEYS = 400_000


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


def _filled(value: Any) -> bool:
    return value is not None and value != ""


def profile_rows(
    rows: Iterable[dict[str, Any]], rules: TypeRules, key_columns: tuple[str, ...] = (), columns: Iterable[str] = ()
) -> DayProfile:
    """One pass over a day's rows. ``columns``: the columns the report had (a column empty on every row is
    still a column)."""
    day = DayProfile(columns=set(columns), filled={c: 0 for c in rules.required})
    money = rules.money
    if money:
        day.sales = Sales()
    for row in rows:
        day.rows += 1
        if not columns:
            day.columns.update(row)
        for name in rules.required:
            if _filled(row.get(name)):
                day.filled[name] += 1
        if key_columns and len(day.keys) < MAX_KEPT_KEYS:
            day.keys.append(KEY_SEPARATOR.join(str(row.get(c, "")) for c in key_columns))
        if money:
            _add_sales(day, row, money, rules.market_column)
    return day


def _add_sales(day: DayProfile, row: dict[str, Any], money: Money, market_column: str | None) -> None:
    if money.record_column and row.get(money.record_column) != money.record_value:
        return
    status = row.get(money.status) if money.status else None
    if status in money.skip:
        return
    units = to_number(row.get(money.units)) or 0.0
    price = to_number(row.get(money.revenue))
    targets = [day.sales]
    if market_column:
        targets.append(day.markets.setdefault(str(row.get(market_column) or ""), Sales()))
    for sales in targets:
        sales.rows += 1
        sales.units += units
        if price is not None:
            sales.revenue += price
        elif status == money.pending:
            sales.unpriced_units += units
    if not day.currency and _filled(row.get(money.currency)):
        day.currency = str(row.get(money.currency))


def pack_keys(keys: list[str]) -> bytes:
    return zlib.compress("\n".join(keys).encode(), 1)


def unpack_keys(blob: bytes | None) -> list[str]:
    return zlib.decompress(blob).decode().split("\n") if blob else []
