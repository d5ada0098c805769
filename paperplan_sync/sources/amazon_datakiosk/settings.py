"""Constants of Data Kiosk 2023-11-15 and its ``analytics_salesAndTraffic_2024_04_24`` dataset, each with its
source, so a reviewer can check them against Amazon's published model in one place
(selling-partner-api-models: models/data-kiosk-api-model/dataKiosk_2023-11-15.json and
schemas/data-kiosk/analytics_salesAndTraffic_2024_04_24.graphql). Values marked ASSUMPTION are not published;
docs/design/datakiosk.md says why they were chosen.
"""

from __future__ import annotations

from paperplan_sync.sources import spapi_family

# --- Operations (dataKiosk_2023-11-15.json) ---------------------------------------------------------------
API_PREFIX = "/dataKiosk/2023-11-15"
PATH_QUERIES = f"{API_PREFIX}/queries"  # POST createQuery {query, paginationToken?} -> 202 {queryId}; GET getQueries
PATH_QUERY = f"{API_PREFIX}/queries/{{query_id}}"  # GET getQuery -> Query; DELETE cancelQuery
PATH_DOCUMENT = f"{API_PREFIX}/documents/{{document_id}}"  # GET getDocument -> {documentId, documentUrl}

OP_CREATE_QUERY = "createQuery"
OP_GET_QUERIES = "getQueries"
OP_GET_QUERY = "getQuery"
OP_CANCEL_QUERY = "cancelQuery"
OP_GET_DOCUMENT = "getDocument"

# (requests per second, burst): the "Usage Plan" table of each operation in the model.
USAGE_PLANS: dict[str, tuple[float, int]] = {
    OP_CREATE_QUERY: (0.0167, 15),
    OP_GET_QUERIES: (0.0222, 10),
    OP_GET_QUERY: (2.0, 15),
    OP_CANCEL_QUERY: (0.0222, 10),
    OP_GET_DOCUMENT: (0.0167, 15),
}

# Query.processingStatus (the model's enum). CANCELLED: cancelled before processing began.
STATUS_IN_QUEUE = "IN_QUEUE"
STATUS_IN_PROGRESS = "IN_PROGRESS"
STATUS_DONE = "DONE"  # with dataDocumentId; without one: the query found no data (an empty answer)
STATUS_FATAL = "FATAL"  # with errorDocumentId: a JSON error document
STATUS_CANCELLED = "CANCELLED"
IN_FLIGHT_STATUSES = (STATUS_IN_QUEUE, STATUS_IN_PROGRESS)
TERMINAL_STATUSES = (STATUS_DONE, STATUS_FATAL, STATUS_CANCELLED)

# CreateQuerySpecification.query: "at most 8000 characters after unnecessary whitespace is removed".
MAX_QUERY_CHARS = 8000
# GetDocumentResponse.documentUrl: "This URL expires after 5 minutes"; compression is named by Content-Encoding.
DOCUMENT_URL_TTL_S = 300
# Every field of the dataset is annotated @resultRetention(duration: "P30D"): queries and documents last 30 days.
RESULT_RETENTION_DAYS = 30
# getQueries' createdSince default ("The default is 90 days ago").
GET_QUERIES_DEFAULT_DAYS = 90
# ASSUMPTION: Data Kiosk "limits the number of concurrent non-terminal queries per selling partner and per GraphQL
# query" (use case guide) without a number; the client keeps this many in flight and never repeats one in flight.
MAX_IN_FLIGHT_QUERIES = 1

# --- The dataset (analytics_salesAndTraffic_2024_04_24.graphql) ------------------------------------------------
DATASET = "analytics_salesAndTraffic_2024_04_24"  # 2023_11_15 was removed on 2026-02-26 (SP-API changelog)
QUERY_BY_DATE = "salesAndTrafficByDate"  # aggregateBy: DAY | WEEK | MONTH
QUERY_BY_ASIN = "salesAndTrafficByAsin"  # aggregateBy: PARENT | CHILD | SKU, summed over the whole range
QUERY_TRENDS = "salesAndTrafficTrends"  # per ASIN per DAY/WEEK/MONTH; asinAggregation CHILD only
MAX_TRENDS_ASINS = 30  # MarketplaceAsinFilter.asins: "Maximum size of the list is 30"
LOOKBACK_YEARS = 2  # startDate "must be no more than two years ago"
# ASSUMPTION: the schema sets no longest range besides the two-year lookback, so one query may span the whole
# window (732 days covers two years ending today, leap day included); longer asks are chunked.
MAX_QUERY_DAYS = 732

# --- The product's report types on it ---------------------------------------------------------------------------
BY_ASIN_DAILY = "DATAKIOSK_SALES_AND_TRAFFIC_BY_ASIN_DAILY"  # salesAndTrafficTrends, DAY, one row per ASIN per day
BY_DATE = "DATAKIOSK_SALES_AND_TRAFFIC_BY_DATE"  # salesAndTrafficByDate, DAY, one row per day
REPORT_TYPES = (BY_ASIN_DAILY, BY_DATE)

# Row columns (nested JSON keys joined with "_", as the Reports-API Sales & Traffic parser names them).
DATE_COLUMN = "date"  # the record's startDate (= endDate for DAY granularity)
ASIN_COLUMN = "childAsin"
MARKETPLACE_COLUMN = "marketplaceId"
# The datapoint metrics of today's sales_and_traffic type -> the columns that hold them in these rows.
DATAPOINT_METRICS: dict[str, str] = {
    "units_ordered": "sales_unitsOrdered",
    "ordered_revenue": "sales_orderedProductSales_amount",
    "sessions": "traffic_sessions",
    "page_views": "traffic_pageViews",
}

# --- Client behaviour --------------------------------------------------------------------------------------------
NAME = "amazon_datakiosk"  # the Airtable Source value, resource key, asset key prefix and Dagster pool
POLL_GROWTH = 1.5  # each getQuery poll waits this much longer than the last (getQuery allows 2/s)
GET_QUERIES_PAGE_SIZE = 100  # getQueries' largest page
IN_FLIGHT_LOOKUP_MAX_PAGES = 3  # getQueries pages scanned for an identical in-flight query (0.0222/s: keep small)
DOWNLOAD_READ_BYTES = 1 << 18  # network read size for documents
ERROR_DOCUMENT_MAX_CHARS = 4000  # a FATAL query's error text kept in the failure message
ERROR_DOCUMENT_MAX_BYTES = 1 << 20  # an error document is read whole: cap it
# Environment variables: the Selling Partner app's, the same as the Reports API source's (one LWA app, one
# refresh token, one regional endpoint; sources/spapi_family.py names them).
ENV_SECRETS = spapi_family.ENV_SECRETS
ENV_SETTINGS = spapi_family.ENV_SETTINGS
ENV_NUMBERS = spapi_family.ENV_NUMBERS
