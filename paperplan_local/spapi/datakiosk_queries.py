"""Data Kiosk queries in the stand-in: a GraphQL query -> a validated ``Selection`` -> its JSONL records.

``parse_query(text, today)`` refuses what Amazon refuses (``QueryRefused``, answered as a 400 with the
``errors`` array): a query over 8,000 characters once ignorable characters are stripped, GraphQL that does
not parse or does not validate against the dataset's schema (``datakiosk_schema.graphql``: unknown fields,
missing required arguments such as ``marketplaceIds``), a start date more than two years back, a start after
the end, more than 30 ASINs in one ``salesAndTrafficTrends`` filter. ``records(selection, seed, as_of)``
yields one dict per JSONL line, holding only the selected fields.

The figures come from the same generator as the Reports API's ``GET_SALES_AND_TRAFFIC_REPORT``
(``data.sales_and_traffic`` over one day, 00:00-23:59:59 at UTC-7): per ASIN per day, units, revenue,
sessions and page views agree with a one-day Sales & Traffic report of that day in the same timezone.
"""

from __future__ import annotations

import functools
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path
from typing import Any

import graphql
from graphql.execution.values import get_argument_values
from graphql.language import FieldNode, FragmentDefinitionNode, FragmentSpreadNode, InlineFragmentNode
from graphql.utilities import strip_ignored_characters

from . import data

DATASET = "analytics_salesAndTraffic_2024_04_24"
BY_DATE, BY_ASIN, TRENDS = "salesAndTrafficByDate", "salesAndTrafficByAsin", "salesAndTrafficTrends"
MAX_QUERY_CHARS = 8000  # "at most 8000 characters after unnecessary whitespace is removed" (dataKiosk_2023-11-15.json)
MAX_TRENDS_ASINS = 30  # per MarketplaceAsinFilter (the dataset's schema)
LOOKBACK_YEARS = 2  # "The start date must be no more than two years ago" (the dataset's schema)
# The stand-in's seller sells in the US marketplace only; its days are cut at UTC-7, the product's default
# Timezone, so a one-day Reports-API window at -07:00 covers exactly the same orders.
SELLER_MARKETPLACES = frozenset({"ATVPDKIKX0DER"})
DAY_TZ = timezone(timedelta(hours=-7))
CURRENCY = "USD"

SCHEMA = graphql.build_schema(Path(__file__).with_name("datakiosk_schema.graphql").read_text())


class QueryRefused(ValueError):
    """The query breaks a rule of Data Kiosk or of the dataset: createQuery answers 400 with this message."""


@dataclass(frozen=True)
class Selection:
    """One validated query: which dataset query, its arguments, and the fields it selects."""

    name: str
    args: dict[str, Any]
    start: date
    end: date
    node: FieldNode = field(repr=False)
    fragments: dict[str, FragmentDefinitionNode] = field(default_factory=dict, repr=False)


# --- parsing and validation ----------------------------------------------------------------------------------


def parse_query(text: str, today: date) -> Selection:
    if not isinstance(text, str) or not text.strip():
        raise QueryRefused("The query must be a non-empty string.")
    try:
        document = graphql.parse(text)
    except graphql.GraphQLError as exc:
        raise QueryRefused(f"Invalid GraphQL syntax: {exc.message}") from exc
    size = len(strip_ignored_characters(text))
    if size > MAX_QUERY_CHARS:
        raise QueryRefused(f"The query is {size} characters long; the limit is {MAX_QUERY_CHARS}.")
    errors = graphql.validate(SCHEMA, document)
    if errors:
        raise QueryRefused("; ".join(e.message for e in errors[:5]))
    node, fragments = _query_field(document)
    args = _arguments(node)
    start, end = _dates(args, today)
    selection = Selection(node.name.value, args, start, end, node, fragments)
    _check_aggregation(selection)
    return selection


def _query_field(document: graphql.DocumentNode) -> tuple[FieldNode, dict[str, FragmentDefinitionNode]]:
    """The one dataset query the document asks for (Data Kiosk answers one query with one document)."""
    operations = [d for d in document.definitions if isinstance(d, graphql.OperationDefinitionNode)]
    fragments = {d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)}
    if len(operations) != 1:
        raise QueryRefused("The document must contain exactly one operation.")
    roots = _fields(operations[0].selection_set, fragments)
    if len(roots) != 1 or roots[0].name.value != DATASET:
        raise QueryRefused(f"The query must select exactly one versioned domain field, {DATASET}.")
    queries = _fields(roots[0].selection_set, fragments)
    if len(queries) != 1:
        raise QueryRefused(f"Exactly one query of {DATASET} may be selected; {len(queries)} were.")
    return queries[0], fragments


def _fields(selection_set: graphql.SelectionSetNode | None, fragments: dict) -> list[FieldNode]:
    out: list[FieldNode] = []
    for sel in selection_set.selections if selection_set else ():
        if isinstance(sel, FieldNode):
            out.append(sel)
        elif isinstance(sel, InlineFragmentNode):
            out += _fields(sel.selection_set, fragments)
        elif isinstance(sel, FragmentSpreadNode):
            out += _fields(fragments[sel.name.value].selection_set, fragments)
    return out


def _arguments(node: FieldNode) -> dict[str, Any]:
    field_def = SCHEMA.get_type("Analytics_SalesAndTraffic_2024_04_24").fields[node.name.value]
    try:  # createQuery takes no variables: a query that declares some cannot be given them
        return get_argument_values(field_def, node, {})
    except graphql.GraphQLError as exc:
        raise QueryRefused(exc.message) from exc


def _dates(args: dict[str, Any], today: date) -> tuple[date, date]:
    try:
        start, end = date.fromisoformat(str(args["startDate"])), date.fromisoformat(str(args["endDate"]))
    except ValueError as exc:
        raise QueryRefused(f"startDate and endDate must be dates (YYYY-MM-DD): {exc}") from exc
    if start > end:
        raise QueryRefused(f"startDate {start} is after endDate {end}.")
    earliest = _years_before(today, LOOKBACK_YEARS)
    if start < earliest:
        raise QueryRefused(f"startDate {start} is more than {LOOKBACK_YEARS} years ago; the earliest is {earliest}.")
    return start, end


def _years_before(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year - years)
    except ValueError:  # 29 February
        return day.replace(year=day.year - years, day=28)


def _check_aggregation(sel: Selection) -> None:
    granularity = sel.args.get("aggregateBy") if sel.name == BY_DATE else sel.args.get("dateAggregation")
    if granularity not in (None, "DAY"):
        raise QueryRefused(f"The stand-in serves DAY aggregation only, not {granularity}.")
    if sel.name != TRENDS:
        return
    if sel.args["asinAggregation"] != "CHILD":
        raise QueryRefused("salesAndTrafficTrends supports asinAggregation CHILD only.")
    for f in sel.args["filters"]:
        if len(f["asins"]) > MAX_TRENDS_ASINS:
            raise QueryRefused(
                f"A filter may list up to {MAX_TRENDS_ASINS} ASINs; the one for {f['marketplaceId']} lists "
                f"{len(f['asins'])}."
            )


# --- the figures -----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=4096)
def day_figures(seed: int, day: date, as_of: datetime) -> tuple[dict | None, tuple[dict, ...]]:
    """(the Reports API's by-date entry, its by-ASIN entries) of a one-day Sales & Traffic report of ``day``."""
    start = datetime.combine(day, time(0), tzinfo=DAY_TZ)
    end = datetime.combine(day, time(23, 59, 59), tzinfo=DAY_TZ)
    doc = data.sales_and_traffic(seed, start, end, as_of, {}, [])
    by_date = doc["salesAndTrafficByDate"]
    return (by_date[0] if by_date else None), tuple(doc["salesAndTrafficByAsin"])


def _money(amount: float) -> dict[str, Any]:
    return {"amount": round(amount, 2), "currencyCode": CURRENCY}


def _pct(part: float, whole: float) -> float:
    return round(100 * part / whole, 2) if whole else 0.0


def _by_date_record(day: date, market: str, entry: dict) -> dict:
    s, t = entry["salesByDate"], entry["trafficByDate"]
    units, items, amount = s["unitsOrdered"], s["totalOrderItems"], s["orderedProductSales"]["amount"]
    sessions = t["sessions"]
    sales = {
        "orderedProductSales": _money(amount),
        "unitsOrdered": units,
        "totalOrderItems": items,
        "averageSalesPerOrderItem": _money(amount / items if items else 0),
        "averageSellingPrice": _money(amount / units if units else 0),
        "averageUnitsPerOrderItem": round(units / items, 2) if items else 0.0,
        "unitsRefunded": 0,
    }
    traffic = {
        "sessions": sessions,
        "pageViews": t["pageViews"],
        "browserPageViews": t["browserPageViews"],
        "mobileAppPageViews": t["mobileAppPageViews"],
        "browserSessions": sessions - sessions // 3,
        "mobileAppSessions": sessions // 3,
        "buyBoxPercentage": t["buyBoxPercentage"],
        "unitSessionPercentage": t["unitSessionPercentage"],
        "orderItemSessionPercentage": _pct(items, sessions),
    }
    iso = day.isoformat()
    return {"startDate": iso, "endDate": iso, "marketplaceId": market, "sales": sales, "traffic": traffic}


def _asin_record(start: date, end: date, market: str, entry: dict, totals: tuple[int, int]) -> dict:
    s, t = entry["salesByAsin"], entry["trafficByAsin"]
    sessions, views = t["sessions"], t["pageViews"]
    sales = {
        "orderedProductSales": _money(s["orderedProductSales"]["amount"]),
        "unitsOrdered": s["unitsOrdered"],
        "totalOrderItems": s["totalOrderItems"],
    }
    traffic = {
        "sessions": sessions,
        "pageViews": views,
        "browserSessions": sessions - sessions // 3,
        "mobileAppSessions": sessions // 3,
        "browserPageViews": views - views // 3,
        "mobileAppPageViews": views // 3,
        "buyBoxPercentage": t["buyBoxPercentage"],
        "unitSessionPercentage": _pct(s["unitsOrdered"], sessions),
        "sessionPercentage": _pct(sessions, totals[0]),
        "pageViewsPercentage": _pct(views, totals[1]),
    }
    return {
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "marketplaceId": market,
        "parentAsin": entry["parentAsin"],
        "childAsin": entry["childAsin"],
        "sku": entry["sku"],
        "sales": sales,
        "traffic": traffic,
    }


def _days(start: date, end: date) -> Iterator[date]:
    for n in range((end - start).days + 1):
        yield start + timedelta(days=n)


def _traffic_totals(entries: tuple[dict, ...]) -> tuple[int, int]:
    return sum(e["trafficByAsin"]["sessions"] for e in entries), sum(e["trafficByAsin"]["pageViews"] for e in entries)


def by_date_records(sel: Selection, seed: int, as_of: datetime) -> Iterator[dict]:
    for market in sel.args["marketplaceIds"]:
        if market not in SELLER_MARKETPLACES:
            continue
        for day in _days(sel.start, sel.end):
            entry = day_figures(seed, day, as_of)[0]
            if entry is not None:
                yield _by_date_record(day, market, entry)


def trends_records(sel: Selection, seed: int, as_of: datetime) -> Iterator[dict]:
    for flt in sel.args["filters"]:
        market, wanted = flt["marketplaceId"], set(flt["asins"])
        if market not in SELLER_MARKETPLACES:
            continue
        for day in _days(sel.start, sel.end):
            entries = day_figures(seed, day, as_of)[1]
            totals = _traffic_totals(entries)
            for entry in entries:  # only ASINs with data that day, as Amazon answers
                if entry["childAsin"] in wanted:
                    record = _asin_record(day, day, market, entry, totals)
                    yield {**record, "asinAggregation": "CHILD", "sku": None}


def by_asin_records(sel: Selection, seed: int, as_of: datetime) -> Iterator[dict]:
    """The range summed per ASIN (the range's totals, not per day)."""
    sums: dict[str, dict] = {}
    for day in _days(sel.start, sel.end):
        for e in day_figures(seed, day, as_of)[1]:
            acc = sums.setdefault(e["childAsin"], _empty_sum(e))
            _add(acc, e)
    entries = tuple(sums[a] for a in sorted(sums))
    totals = _traffic_totals(entries)
    level = sel.args["aggregateBy"]
    for market in sel.args["marketplaceIds"]:
        if market not in SELLER_MARKETPLACES:
            continue
        for entry in entries:
            record = _asin_record(sel.start, sel.end, market, entry, totals)
            record["childAsin"] = None if level == "PARENT" else record["childAsin"]
            record["sku"] = record["sku"] if level == "SKU" else None
            yield record


def _empty_sum(entry: dict) -> dict:
    buy_box = entry["trafficByAsin"]["buyBoxPercentage"]
    return {
        "parentAsin": entry["parentAsin"],
        "childAsin": entry["childAsin"],
        "sku": entry["sku"],
        "salesByAsin": {"unitsOrdered": 0, "totalOrderItems": 0, "orderedProductSales": {"amount": 0.0}},
        "trafficByAsin": {"sessions": 0, "pageViews": 0, "buyBoxPercentage": buy_box},
    }


def _add(acc: dict, entry: dict) -> None:
    s, t = acc["salesByAsin"], acc["trafficByAsin"]
    s["unitsOrdered"] += entry["salesByAsin"]["unitsOrdered"]
    s["totalOrderItems"] += entry["salesByAsin"]["totalOrderItems"]
    s["orderedProductSales"]["amount"] += entry["salesByAsin"]["orderedProductSales"]["amount"]
    t["sessions"] += entry["trafficByAsin"]["sessions"]
    t["pageViews"] += entry["trafficByAsin"]["pageViews"]


GENERATORS = {BY_DATE: by_date_records, BY_ASIN: by_asin_records, TRENDS: trends_records}


def records(sel: Selection, seed: int, as_of: datetime, opened: date = date.min) -> Iterator[dict]:
    """The query's JSONL lines as dicts: one per record of the selected query, only the selected fields. The
    seller has no data before ``opened`` (the day its account opened)."""
    sel = replace(sel, start=max(sel.start, opened))
    if sel.start > sel.end:
        return
    for record in GENERATORS[sel.name](sel, seed, as_of):
        yield project(record, sel.node.selection_set, sel.fragments)


def project(value: Any, selection_set: graphql.SelectionSetNode | None, fragments: dict) -> Any:
    """Keep what the query selected, under its alias if it gave one (GraphQL's response shape)."""
    if selection_set is None or value is None:
        return value
    if isinstance(value, list):
        return [project(v, selection_set, fragments) for v in value]
    out: dict[str, Any] = {}
    for node in _fields(selection_set, fragments):
        key = node.alias.value if node.alias else node.name.value
        out[key] = project(value.get(node.name.value), node.selection_set, fragments)
    return out
