"""What the product knows about each API report type id, in one place.

Adding a report type = one entry here plus one canned document under
``paperplan_sync_tests/fixtures/documents/`` (named after the report type id); the parametrized catalog test
then runs it through parse, split and store. A type id missing here still works: it is requested one day at
a time, parsed as a tab-separated flat file, with no duplicate check and no datapoints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, tzinfo
from typing import Any

from paperplan_sync.reports.transforms import DatapointMapping
from paperplan_sync.sources.amazon_ads import settings as ads
from paperplan_sync.sources.amazon_ads.settings import ReportPreset
from paperplan_sync.sources.amazon_sp import settings as sp
from paperplan_sync.sources.base import RowStream

AMAZON_SP, AMAZON_ADS = "amazon_sp", "amazon_ads"

# Document formats: how the parsers read a finished report.
FLAT_FILE = "flat_file"  # SP-API tab-separated text, charset from the download's Content-Type
SALES_AND_TRAFFIC_JSON = "sales_and_traffic_json"  # SP-API JSON, sections flattened into rows
ADS_JSON = "ads_json"  # Ads GZIP_JSON: one JSON array of row objects

ORDERS_BY_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
ORDERS_BY_UPDATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
FBA_INVENTORY = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
MERCHANT_LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
SALES_AND_TRAFFIC = sp.SALES_AND_TRAFFIC
ADS_SP_CAMPAIGNS = ads.SP_CAMPAIGNS.report_type_id

# Order reports by date accept up to 30 days per createReport (Amazon's order report docs; Airbyte's
# source-amazon-seller-partner slices them the same way).
SP_ORDER_MAX_RANGE_DAYS = 30


@dataclass(frozen=True)
class ReportKind:
    report_type_id: str
    source: str
    document_format: str = FLAT_FILE
    # The column that dates each row; None: the report cannot be split by day (one request per day).
    date_column: str | None = None
    max_range_days: int = 1  # days one request may cover
    row_key: tuple[str, ...] = ()  # columns identifying one row; a repeat is a duplicate
    datapoints: DatapointMapping | None = None
    ads_preset: ReportPreset | None = None
    snapshot: bool = False  # the API ignores the data window: the current state
    # Amazon's own limit on createReport of this type: one per this many seconds (burst 1); None: only the
    # operation's usage plan applies.
    create_every_s: float | None = None

    @property
    def splittable(self) -> bool:
        return self.date_column is not None and self.max_range_days > 1

    def row_day(self, value: Any, tz: tzinfo) -> date | None:
        """The local day of a row's date column: a timestamp is converted to ``tz``; a plain date is
        already the report's day (Ads cuts days in the profile's timezone). None when unreadable."""
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


_ORDER_DATAPOINTS = DatapointMapping(
    key_field="sku",
    metrics={"units_ordered": "quantity", "ordered_revenue": "item-price"},
    keep=("order-status", lambda status: status != "Cancelled"),
)

CATALOG: dict[str, ReportKind] = {
    k.report_type_id: k
    for k in (
        ReportKind(
            ORDERS_BY_DATE,
            AMAZON_SP,
            date_column="purchase-date",
            max_range_days=SP_ORDER_MAX_RANGE_DAYS,
            row_key=("amazon-order-id", "sku"),
            datapoints=_ORDER_DATAPOINTS,
        ),
        ReportKind(
            ORDERS_BY_UPDATE,
            AMAZON_SP,
            date_column="last-updated-date",
            max_range_days=SP_ORDER_MAX_RANGE_DAYS,
            row_key=("amazon-order-id", "sku"),
        ),
        ReportKind(
            FBA_INVENTORY,
            AMAZON_SP,
            snapshot=True,
            row_key=("sku",),
            datapoints=DatapointMapping(
                key_field="sku",
                metrics={
                    "fulfillable_quantity": "afn-fulfillable-quantity",
                    "inbound_quantity": "afn-inbound-shipped-quantity",
                    "total_quantity": "afn-total-quantity",
                },
            ),
        ),
        ReportKind(MERCHANT_LISTINGS, AMAZON_SP, snapshot=True, row_key=("seller-sku",)),
        # By-ASIN rows aggregate the whole requested range: per-day ASIN figures need one request per day, and
        # those requests are 15 minutes apart at least.
        ReportKind(
            SALES_AND_TRAFFIC,
            AMAZON_SP,
            document_format=SALES_AND_TRAFFIC_JSON,
            create_every_s=sp.CREATE_EVERY_S[SALES_AND_TRAFFIC],
            row_key=("record_type", "date", "childAsin"),
            datapoints=DatapointMapping(
                key_field="childAsin",  # the JSON report's nested keys, joined with "_" by the parser
                metrics={
                    "units_ordered": "salesByAsin_unitsOrdered",
                    "ordered_revenue": "salesByAsin_orderedProductSales_amount",
                    "sessions": "trafficByAsin_sessions",
                    "page_views": "trafficByAsin_pageViews",
                },
                keep=("record_type", lambda kind: kind == "by_asin"),
            ),
        ),
        # Reporting v3: up to 31 days per report with timeUnit DAILY, one row per campaign and day.
        ReportKind(
            ADS_SP_CAMPAIGNS,
            AMAZON_ADS,
            document_format=ADS_JSON,
            date_column="date",
            max_range_days=ads.MAX_RANGE_DAYS,
            row_key=("date", "campaignId"),
            ads_preset=ads.SP_CAMPAIGNS,
            datapoints=DatapointMapping(
                key_field="campaignId", metrics={"ad_cost": "cost", "ad_sales_7d": "sales7d", "ad_clicks": "clicks"}
            ),
        ),
    )
}


def document_parser(document_format: str) -> Callable[..., Iterator[Any]]:
    """``parse(blocks, stream, chunk_rows, *, charset)`` for a document format: bytes in, row chunks out."""
    from paperplan_sync.sources.amazon_ads.parsing import parse_ads_document
    from paperplan_sync.sources.amazon_sp.parsing import parse_flat_file, parse_json_document

    return {FLAT_FILE: parse_flat_file, SALES_AND_TRAFFIC_JSON: parse_json_document, ADS_JSON: parse_ads_document}[
        document_format
    ]


def parse_document(
    kind: ReportKind, blocks: Iterable[bytes], *, chunk_rows: int = 5000, charset: str | None = None
) -> RowStream:
    """A whole document's rows as a stream (canned documents in tests, benchmarks)."""
    from paperplan_sync.sources.amazon_sp.parsing import bound_stream

    parse = document_parser(kind.document_format)
    stream = bound_stream(lambda own: parse(blocks, own, chunk_rows, charset=lambda: charset))
    stream.columns = list(kind.ads_preset.columns) if kind.ads_preset else []  # Ads: the requested columns
    return stream


def kind_of(report_type_id: str, source: str = AMAZON_SP) -> ReportKind:
    """The catalog entry, or the cautious default for an id the catalog does not know."""
    known = CATALOG.get(report_type_id)
    if known is not None:
        return known
    return ReportKind(report_type_id, source, document_format=ADS_JSON if source == AMAZON_ADS else FLAT_FILE)
