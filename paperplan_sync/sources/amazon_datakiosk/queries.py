"""The GraphQL text of Data Kiosk queries, and how a day range maps to queries.

``plan(report_type_id, first, last, marketplace_ids, asins, today)`` returns the ``PlannedQuery`` list for
the days ``first..last``: the days more than two years back are left out (``unavailable``: Data Kiosk
refuses them), the rest is cut into ranges of at most ``MAX_QUERY_DAYS`` (today: the whole two-year window, so
one range), and the by-ASIN daily type sends one ``salesAndTrafficTrends`` per range and per 30 ASINs. Query
text carries no whitespace GraphQL does not need, and a text over ``MAX_QUERY_CHARS`` raises ValueError
before it is ever sent.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from .settings import (
    BY_ASIN_DAILY,
    BY_DATE,
    DATASET,
    LOOKBACK_YEARS,
    MAX_QUERY_CHARS,
    MAX_QUERY_DAYS,
    MAX_TRENDS_ASINS,
    QUERY_BY_ASIN,
    QUERY_BY_DATE,
    QUERY_TRENDS,
)

_AMOUNT = "{amount currencyCode}"
# Selected fields: what the rows keep (the datapoint metrics and their context). Each exists in the dataset.
BY_DATE_FIELDS = (
    "startDate endDate marketplaceId "
    f"sales{{orderedProductSales{_AMOUNT} unitsOrdered totalOrderItems averageSellingPrice{_AMOUNT}}} "
    "traffic{sessions pageViews browserSessions mobileAppSessions buyBoxPercentage unitSessionPercentage}"
)
TRENDS_FIELDS = (
    "startDate endDate marketplaceId parentAsin childAsin "
    f"sales{{orderedProductSales{_AMOUNT} unitsOrdered totalOrderItems}} "
    "traffic{sessions pageViews browserSessions mobileAppSessions buyBoxPercentage unitSessionPercentage}"
)
BY_ASIN_FIELDS = "childAsin parentAsin marketplaceId sales{unitsOrdered}"


@dataclass(frozen=True)
class PlannedQuery:
    """One createQuery: its text and the days it answers for (first..last, inclusive)."""

    first: date
    last: date
    text: str
    asins: tuple[str, ...] = ()


@dataclass(frozen=True)
class QueryPlan:
    queries: tuple[PlannedQuery, ...]
    unavailable: tuple[date, date] | None = None  # days Data Kiosk no longer serves (older than two years)


def earliest_day(today: date) -> date:
    """The oldest startDate Data Kiosk accepts: the same calendar day two years back."""
    try:
        return today.replace(year=today.year - LOOKBACK_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year - LOOKBACK_YEARS, day=28)


def day_ranges(first: date, last: date, max_days: int = MAX_QUERY_DAYS) -> list[tuple[date, date]]:
    """``first..last`` cut into consecutive ranges of at most ``max_days`` days, oldest first."""
    if last < first:
        raise ValueError(f"range ends ({last}) before it starts ({first})")
    ranges = []
    start = first
    while start <= last:
        end = min(last, start + timedelta(days=max_days - 1))
        ranges.append((start, end))
        start = end + timedelta(days=1)
    return ranges


def asin_batches(asins: Iterable[str], size: int = MAX_TRENDS_ASINS) -> list[tuple[str, ...]]:
    """Distinct non-empty ASINs, sorted (stable query text, so a re-run sends the same queries), in batches."""
    unique = sorted({a.strip() for a in asins if a and a.strip()})
    return [tuple(unique[i : i + size]) for i in range(0, len(unique), size)]


def _strings(values: Iterable[str]) -> str:
    return "[" + ",".join(json.dumps(v) for v in values) + "]"  # JSON string escapes are GraphQL's


def _document(query_name: str, args: str, fields: str) -> str:
    text = f"query{{{DATASET}{{{query_name}({args}){{{fields}}}}}}}"
    if len(text) > MAX_QUERY_CHARS:
        raise ValueError(f"{query_name} query is {len(text)} characters; Data Kiosk accepts {MAX_QUERY_CHARS}")
    return text


def _markets(marketplace_ids: Sequence[str]) -> list[str]:
    markets = [m for m in marketplace_ids if m]
    if not markets:
        raise ValueError("Data Kiosk's 2024-04-24 dataset requires marketplaceIds")
    return markets


def by_date_query(first: date, last: date, marketplace_ids: Sequence[str]) -> str:
    """Daily totals of the seller: one record per marketplace and day."""
    args = f'startDate:"{first}" endDate:"{last}" aggregateBy:DAY marketplaceIds:{_strings(_markets(marketplace_ids))}'
    return _document(QUERY_BY_DATE, args, BY_DATE_FIELDS)


def trends_query(first: date, last: date, marketplace_ids: Sequence[str], asins: Sequence[str]) -> str:
    """Daily figures of up to 30 child ASINs: one record per ASIN with data, marketplace and day."""
    if not 1 <= len(asins) <= MAX_TRENDS_ASINS:
        raise ValueError(f"salesAndTrafficTrends takes 1 to {MAX_TRENDS_ASINS} ASINs per marketplace, not {len(asins)}")
    listed = _strings(asins)
    filters = ",".join(f"{{marketplaceId:{json.dumps(m)} asins:{listed}}}" for m in _markets(marketplace_ids))
    args = f'startDate:"{first}" endDate:"{last}" asinAggregation:CHILD dateAggregation:DAY filters:[{filters}]'
    return _document(QUERY_TRENDS, args, TRENDS_FIELDS)


def by_asin_query(first: date, last: date, marketplace_ids: Sequence[str]) -> str:
    """The child ASINs with data in the range (summed over it): how the seller's ASINs are found."""
    args = (
        f'startDate:"{first}" endDate:"{last}" aggregateBy:CHILD marketplaceIds:{_strings(_markets(marketplace_ids))}'
    )
    return _document(QUERY_BY_ASIN, args, BY_ASIN_FIELDS)


def plan(
    report_type_id: str,
    first: date,
    last: date,
    marketplace_ids: Sequence[str],
    *,
    today: date,
    asins: Iterable[str] = (),
) -> QueryPlan:
    """The queries that answer ``first..last`` for a Data Kiosk report type id (see the module docstring)."""
    if report_type_id not in (BY_DATE, BY_ASIN_DAILY):
        raise ValueError(f"not a Data Kiosk report type: {report_type_id!r}")
    earliest = earliest_day(today)
    unavailable = (first, min(last, earliest - timedelta(days=1))) if first < earliest else None
    if last < earliest:
        return QueryPlan((), unavailable)
    ranges = day_ranges(max(first, earliest), last)
    if report_type_id == BY_DATE:
        queries = [PlannedQuery(a, b, by_date_query(a, b, marketplace_ids)) for a, b in ranges]
    else:
        batches = asin_batches(asins)
        queries = [
            PlannedQuery(a, b, trends_query(a, b, marketplace_ids, batch), batch)
            for a, b in ranges
            for batch in batches
        ]
    return QueryPlan(tuple(queries), unavailable)
