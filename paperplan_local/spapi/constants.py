"""Constants of the local SP-API stand-in (deliberately not imported from the client: an independent copy of
Amazon's published values, so a wrong constant on one side shows up as a failing test)."""

from __future__ import annotations

from datetime import date

# Dev credentials the stand-in accepts (never real ones).
DEV_CLIENT_ID = "amzn1.application-oa2-client.paperplan-dev"
DEV_CLIENT_SECRET = "paperplan-dev-client-secret"
DEV_REFRESH_TOKEN = "Atzr|paperplan-dev-refresh-token"

ACCOUNT_OPENED = date(2024, 1, 1)  # windows entirely before this have no data -> CANCELLED
DEFAULT_PROCESSING_DELAY_S = 0.3
DEFAULT_DOCUMENT_TTL_S = 300.0  # presigned document URLs expire after 5 minutes, like Amazon's
DEFAULT_TOKEN_TTL_S = 3600  # LWA access tokens live one hour
REPORT_RETENTION_DAYS = 90

API = "/reports/2021-06-30"

# (rate requests/second, burst) per operation, from reports_2021-06-30.json.
USAGE_PLANS: dict[str, tuple[float, int]] = {
    "createReport": (0.0167, 15),
    "getReports": (0.0222, 10),
    "getReport": (2.0, 15),
    "cancelReport": (0.0222, 10),
    "getReportDocument": (0.0167, 15),
    # Data Kiosk 2023-11-15 (dataKiosk_2023-11-15.json), served by datakiosk.py
    "createQuery": (0.0167, 15),
    "getQueries": (0.0222, 10),
    "getQuery": (2.0, 15),
    "cancelQuery": (0.0222, 10),
    "getDocument": (0.0167, 15),
}

ORDERS_BY_DATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
ORDERS_BY_UPDATE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_LAST_UPDATE_GENERAL"
FBA_INVENTORY = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
MERCHANT_LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
SALES_AND_TRAFFIC = "GET_SALES_AND_TRAFFIC_REPORT"
SUPPORTED_REPORT_TYPES = frozenset(
    {ORDERS_BY_DATE, ORDERS_BY_UPDATE, FBA_INVENTORY, MERCHANT_LISTINGS, SALES_AND_TRAFFIC}
)
SNAPSHOT_REPORT_TYPES = frozenset({FBA_INVENTORY, MERCHANT_LISTINGS})  # data times ignored

# createReport limits of one report type, on top of the operation's plan: (rate requests/second, burst).
# Since 2026-04-24 a Sales and Traffic report may be requested once per 15 minutes, 96 times a day, per
# selling partner and application (Amazon support, amzn/selling-partner-api-models#5210); burst 1 makes
# the daily cap follow from the spacing. A refusal is the usual 429 QuotaExceeded.
REPORT_TYPE_CREATE_PLANS: dict[str, tuple[float, int]] = {SALES_AND_TRAFFIC: (1 / 900, 1)}

# Flat-file encodings: Amazon NA serves most flat files as windows-1252; inventory here is UTF-8 so both
# decoding paths of the client get exercised.
DOCUMENT_ENCODING = {
    ORDERS_BY_DATE: "cp1252",
    ORDERS_BY_UPDATE: "cp1252",
    MERCHANT_LISTINGS: "cp1252",
    FBA_INVENTORY: "utf-8",
    SALES_AND_TRAFFIC: "utf-8",
}

# Python codec -> the name in the download's Content-Type charset (Amazon uses Java's names).
FLAT_FILE_CHARSETS = {"cp1252": "Cp1252", "utf-8": "UTF-8"}

# Marketplace id -> the sales-channel an order report names it by (an independent copy of Amazon's table).
MARKETPLACE_CHANNELS = {
    "ATVPDKIKX0DER": "Amazon.com",
    "A2EUQ1WTGCTBG2": "Amazon.ca",
    "A1AM78C64UM0Y8": "Amazon.com.mx",
    "A1F83G8C2ARO7P": "Amazon.co.uk",
    "A1PA6795UKMFR9": "Amazon.de",
}
# An order of a request for several marketplaces belongs to the first with this share; the others split the rest.
FIRST_MARKETPLACE_SHARE = 0.8

MAX_STATUS_DAYS = 21  # an order settles (Shipped / Cancelled) at most this many days after purchase

ERR_DENIED = "Access to requested resource is denied."
DETAIL_EXPIRED = "The access token you provided has expired."
DETAIL_INVALID = "The access token you provided is revoked, malformed or invalid."
DETAIL_MISSING = "Access token is missing in the request header."
