"""Constants of the Selling Partner API Reports 2021-06-30 client: endpoints, usage plans, statuses.

Kept apart from the logic so a reviewer can check them against Amazon's published model
(selling-partner-api-models, models/reports-api-model/reports_2021-06-30.json) in one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from paperplan_sync.sources import spapi_family

# --- Endpoints ----------------------------------------------------------------------------------------
# Shared with every SP-API source (sources/spapi_family.py): the same endpoint, app and headers.
DEFAULT_ENDPOINT = spapi_family.DEFAULT_ENDPOINT
DEFAULT_MARKETPLACE_IDS = spapi_family.DEFAULT_MARKETPLACE_IDS

API_PREFIX = "/reports/2021-06-30"
PATH_REPORTS = f"{API_PREFIX}/reports"
PATH_REPORT = f"{API_PREFIX}/reports/{{report_id}}"
PATH_DOCUMENT = f"{API_PREFIX}/documents/{{document_id}}"

ACCESS_TOKEN_HEADER = spapi_family.ACCESS_TOKEN_HEADER
RATE_LIMIT_HEADER = spapi_family.RATE_LIMIT_HEADER
REQUEST_ID_HEADER = spapi_family.REQUEST_ID_HEADER

# --- Usage plans (requests/second, burst), from the operation descriptions in the model --------------------
OP_CREATE_REPORT = "createReport"
OP_GET_REPORT = "getReport"
OP_GET_REPORTS = "getReports"
OP_CANCEL_REPORT = "cancelReport"
OP_GET_REPORT_DOCUMENT = "getReportDocument"


@dataclass(frozen=True)
class UsagePlan:
    rate: float  # requests per second (token refill)
    burst: int  # bucket size


USAGE_PLANS: dict[str, UsagePlan] = {
    OP_CREATE_REPORT: UsagePlan(0.0167, 15),
    OP_GET_REPORT: UsagePlan(2.0, 15),
    OP_GET_REPORTS: UsagePlan(0.0222, 10),
    OP_CANCEL_REPORT: UsagePlan(0.0222, 10),
    OP_GET_REPORT_DOCUMENT: UsagePlan(0.0167, 15),
}

# --- Processing statuses ------------------------------------------------------------------------------
STATUS_IN_QUEUE = "IN_QUEUE"
STATUS_IN_PROGRESS = "IN_PROGRESS"
STATUS_DONE = "DONE"
STATUS_CANCELLED = "CANCELLED"
STATUS_FATAL = "FATAL"
IN_FLIGHT_STATUSES = (STATUS_IN_QUEUE, STATUS_IN_PROGRESS)
TERMINAL_STATUSES = (STATUS_DONE, STATUS_CANCELLED, STATUS_FATAL)

COMPRESSION_GZIP = "GZIP"

# JSON sections flattened into rows, with the `record_type` value each gets.
SALES_AND_TRAFFIC_SECTIONS = {"salesAndTrafficByDate": "by_date", "salesAndTrafficByAsin": "by_asin"}

# --- Client behaviour --------------------------------------------------------------------------------
TOKEN_REFRESH_MARGIN_S = spapi_family.TOKEN_REFRESH_MARGIN_S
POLL_GROWTH = 1.5  # each getReport poll waits this much longer than the last
# Bound on a single 429 wait, whatever the header says. Above the longest wait Amazon advertises (a Sales and
# Traffic createReport: 1 / 0.00111 = 15 min): a shorter cap would retry early, be refused again, and burn
# createReport calls of every report type.
THROTTLE_WAIT_MAX_S = 1800.0
REUSE_LOOKUP_MAX_PAGES = 5  # getReports pages scanned for an in-flight duplicate (rate 0.0222/s: keep small)
REUSE_PAGE_SIZE = 100
DOWNLOAD_READ_BYTES = 1 << 18  # network read size for report documents
ERROR_DOCUMENT_MAX_CHARS = 4000  # FATAL error text kept in the exception message

# --- Environment variables: the Selling Partner app's, shared with every SP-API source (spapi_family) -------
ENV_SECRETS = spapi_family.ENV_SECRETS
ENV_SETTINGS = spapi_family.ENV_SETTINGS
ENV_NUMBERS = spapi_family.ENV_NUMBERS
