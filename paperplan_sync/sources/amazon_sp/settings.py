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

# --- Marketplaces' own days ---------------------------------------------------------------------------------
# Seller Central shows each marketplace's days in its local time: the default Timezone of a report for that
# marketplace (ids: Amazon's "Marketplace IDs" page, developer-docs.amazon.com/sp-api/docs/marketplace-ids).
# North America reports in Pacific time, as Amazon Ads' profiles of US, CA and MX do; Amazon Ads gives
# Europe/Paris for DE, IT and ES, whose rules have been the same as Berlin's, Rome's and Madrid's since 1980.
MARKETPLACE_TIMEZONES = {
    "ATVPDKIKX0DER": "America/Los_Angeles",  # US
    "A2EUQ1WTGCTBG2": "America/Los_Angeles",  # CA
    "A1AM78C64UM0Y8": "America/Los_Angeles",  # MX
    "A2Q3Y263D00KWC": "America/Sao_Paulo",  # BR
    "A28R8C7NBKEWEA": "Europe/Dublin",  # IE
    "A1RKKUPIHCS9HS": "Europe/Madrid",  # ES
    "A1F83G8C2ARO7P": "Europe/London",  # UK
    "A13V1IB3VIYZZH": "Europe/Paris",  # FR
    "AMEN7PMS3EDWL": "Europe/Brussels",  # BE
    "A1805IZSGTT6HS": "Europe/Amsterdam",  # NL
    "A1PA6795UKMFR9": "Europe/Berlin",  # DE
    "APJ6JRA9NG5V4": "Europe/Rome",  # IT
    "A2NODRKZP88ZB9": "Europe/Stockholm",  # SE
    "AE08WJ6YKNBMC": "Africa/Johannesburg",  # ZA
    "A1C3SOZRARQ6R3": "Europe/Warsaw",  # PL
    "ARBP9OOSHTCHU": "Africa/Cairo",  # EG
    "A33AVAJ2PDY3EV": "Europe/Istanbul",  # TR
    "A17E79C6D8DWNP": "Asia/Riyadh",  # SA
    "A2VIGQ35RCS4UG": "Asia/Dubai",  # AE
    "A21TJRUUN4KGV": "Asia/Kolkata",  # IN
    "A19VAU5U5O7RUS": "Asia/Singapore",  # SG
    "A39IBJ37TRP1C6": "Australia/Sydney",  # AU
    "A1VC38T7YXB528": "Asia/Tokyo",  # JP
}
