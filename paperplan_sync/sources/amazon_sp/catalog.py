"""The SP-API report types this product knows: one ``ReportKind`` each, and the document formats they use.

A type id missing here still works: it is requested one day at a time, parsed as a tab-separated flat file,
with no duplicate check and no datapoints. Adding one = an entry here plus one canned document under
``paperplan_sync_tests/fixtures/documents/`` named after its id.
"""

from __future__ import annotations

from paperplan_sync.sources.catalog import DatapointMapping, ReportKind, by_id

NAME = "amazon_sp"

# Document formats: how the parsers read a finished report.
FLAT_FILE = "flat_file"  # tab-separated text, charset from the download's Content-Type
SALES_AND_TRAFFIC_JSON = "sales_and_traffic_json"  # JSON, sections flattened into rows

ORDERS_BY_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
ORDERS_BY_UPDATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
FBA_INVENTORY = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
MERCHANT_LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
SALES_AND_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"

# Order reports by date accept up to 30 days per createReport (Amazon's order report docs; Airbyte's
# source-amazon-seller-partner slices them the same way).
ORDER_MAX_RANGE_DAYS = 30
# Since 2026-04-24 Amazon accepts one createReport of GET_SALES_AND_TRAFFIC_REPORT per 15 minutes (96 a day)
# per selling partner and application, on top of createReport's own usage plan (Amazon support's answer in
# amzn/selling-partner-api-models#5210).
SALES_AND_TRAFFIC_EVERY_S = 15 * 60

_ORDER_DATAPOINTS = DatapointMapping(
    key_field="sku",
    metrics={"units_ordered": "quantity", "ordered_revenue": "item-price"},
    keep=("order-status", lambda status: status != "Cancelled"),
)

KINDS: dict[str, ReportKind] = by_id(
    ReportKind(
        ORDERS_BY_DATE,
        NAME,
        FLAT_FILE,
        date_column="purchase-date",
        max_range_days=ORDER_MAX_RANGE_DAYS,
        row_key=("amazon-order-id", "sku"),
        datapoints=_ORDER_DATAPOINTS,
    ),
    ReportKind(
        ORDERS_BY_UPDATE,
        NAME,
        FLAT_FILE,
        date_column="last-updated-date",
        max_range_days=ORDER_MAX_RANGE_DAYS,
        row_key=("amazon-order-id", "sku"),
    ),
    ReportKind(
        FBA_INVENTORY,
        NAME,
        FLAT_FILE,
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
    ReportKind(MERCHANT_LISTINGS, NAME, FLAT_FILE, snapshot=True, row_key=("seller-sku",)),
    # By-ASIN rows aggregate the whole requested range: per-day ASIN figures need one request per day, and
    # those requests are 15 minutes apart at least.
    ReportKind(
        SALES_AND_TRAFFIC,
        NAME,
        SALES_AND_TRAFFIC_JSON,
        create_every_s=SALES_AND_TRAFFIC_EVERY_S,
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
)


def document_format(report_type_id: str) -> str:
    kind = KINDS.get(report_type_id)
    return kind.document_format if kind else FLAT_FILE


def create_every_s(report_type_id: str) -> float | None:
    kind = KINDS.get(report_type_id)
    return kind.create_every_s if kind else None
