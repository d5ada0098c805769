"""The Data Kiosk report types this product knows: one ``ReportKind`` each, their document formats and parsers.

Both are rows of one day each, dated by the record's ``startDate`` (the ``date`` column), so a run's days are
one range and one query (``MAX_QUERY_DAYS``: the whole two-year window). Their datapoints are the metrics of
the Reports-API Sales & Traffic type (units ordered, ordered revenue, sessions, page views): per child ASIN
for the by-ASIN daily type, per marketplace for the by-date one. Adding one = an entry here, its query in
``queries.plan`` and one canned document under ``paperplan_sync_tests/fixtures/documents/``.
"""

from __future__ import annotations

from paperplan_sync.sources.catalog import DatapointMapping, ReportKind, by_id
from paperplan_sync.sources.registry import Parser

from .parsing import parse_by_asin_daily, parse_by_date
from .settings import (
    ASIN_COLUMN,
    BY_ASIN_DAILY,
    BY_DATE,
    DATAPOINT_METRICS,
    DATE_COLUMN,
    MARKETPLACE_COLUMN,
    MAX_QUERY_DAYS,
    NAME,
)

# Document formats (JSONL, one record per line).
BY_ASIN_DAILY_JSONL = "datakiosk_by_asin_daily_jsonl"
BY_DATE_JSONL = "datakiosk_by_date_jsonl"

KINDS: dict[str, ReportKind] = by_id(
    ReportKind(
        BY_ASIN_DAILY,
        NAME,
        BY_ASIN_DAILY_JSONL,
        date_column=DATE_COLUMN,
        max_range_days=MAX_QUERY_DAYS,
        row_key=(DATE_COLUMN, MARKETPLACE_COLUMN, ASIN_COLUMN),
        datapoints=DatapointMapping(key_field=ASIN_COLUMN, metrics=DATAPOINT_METRICS),
    ),
    ReportKind(
        BY_DATE,
        NAME,
        BY_DATE_JSONL,
        date_column=DATE_COLUMN,
        max_range_days=MAX_QUERY_DAYS,
        row_key=(DATE_COLUMN, MARKETPLACE_COLUMN),
        datapoints=DatapointMapping(key_field=MARKETPLACE_COLUMN, metrics=DATAPOINT_METRICS),
    ),
)

FORMAT_PARSERS: dict[str, Parser] = {BY_ASIN_DAILY_JSONL: parse_by_asin_daily, BY_DATE_JSONL: parse_by_date}
# Report type id -> its parser (the client picks it from the request).
PARSERS: dict[str, Parser] = {type_id: FORMAT_PARSERS[kind.document_format] for type_id, kind in KINDS.items()}
