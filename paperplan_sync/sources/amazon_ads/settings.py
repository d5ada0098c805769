"""Constants and presets of the Amazon Ads reporting v3 source: endpoints, limits, the default report shapes.

Kept apart from the client so the asset layer (and the local server) can read them without importing
the HTTP machinery.
"""

from __future__ import annotations

from dataclasses import dataclass

# --- Endpoints ------------------------------------------------------------------------------------
# North America. EU is https://advertising-api-eu.amazon.com, FE https://advertising-api-fe.amazon.com.
DEFAULT_ENDPOINT = "https://advertising-api.amazon.com"
REPORTS_PATH = "/reporting/reports"

# --- Headers --------------------------------------------------------------------------------------
HEADER_CLIENT_ID = "Amazon-Advertising-API-ClientId"
HEADER_SCOPE = "Amazon-Advertising-API-Scope"
# The create call is versioned by media type; plain application/json is rejected.
CREATE_CONTENT_TYPE = "application/vnd.createasyncreportrequest.v3+json"

# --- Limits and semantics -------------------------------------------------------------------------
# One report covers at most 31 days, counted inclusively (Jan 1..Jan 31 is the longest from Jan 1).
MAX_RANGE_DAYS = 31
# Attributed conversions of a day keep changing for up to 28 days: re-pull that window.
RESTATEMENT_DAYS = 28
# Refresh the LWA token this long before it expires so an in-flight call never carries a dead one.
TOKEN_REFRESH_MARGIN_S = 120.0
# Reports usually take minutes; Amazon documents up to 3 hours at busy times.
POLL_TIMEOUT_S = 3 * 3600.0

STATUS_PENDING = "PENDING"
STATUS_PROCESSING = "PROCESSING"
STATUS_COMPLETED = "COMPLETED"
STATUS_FAILED = "FAILED"

AD_PRODUCT_SP = "SPONSORED_PRODUCTS"
TIME_UNIT_DAILY = "DAILY"
TIME_UNIT_SUMMARY = "SUMMARY"
FORMAT_GZIP_JSON = "GZIP_JSON"

# Keys of ReportRequest.options this source understands (see client docstring for the value syntax).
OPTION_COLUMNS = "columns"
OPTION_GROUP_BY = "groupBy"
OPTION_TIME_UNIT = "timeUnit"
OPTION_AD_PRODUCT = "adProduct"
OPTION_FILTERS = "filters"
KNOWN_OPTIONS = frozenset({OPTION_COLUMNS, OPTION_GROUP_BY, OPTION_TIME_UNIT, OPTION_AD_PRODUCT, OPTION_FILTERS})


@dataclass(frozen=True)
class ReportPreset:
    """What we ask for by default for one reportTypeId (a Report Types row's options override it)."""

    report_type_id: str
    ad_product: str
    group_by: tuple[str, ...]
    columns: tuple[str, ...]
    time_unit: str = TIME_UNIT_DAILY


SP_CAMPAIGNS = ReportPreset(
    report_type_id="spCampaigns",
    ad_product=AD_PRODUCT_SP,
    group_by=("campaign",),
    columns=(
        "date",
        "campaignId",
        "campaignName",
        "campaignStatus",
        "campaignBudgetAmount",
        "campaignBudgetCurrencyCode",
        "impressions",
        "clicks",
        "cost",
        "purchases7d",
        "sales7d",
        "unitsSoldClicks7d",
        "purchases14d",
        "sales14d",
    ),
)
PRESETS: dict[str, ReportPreset] = {p.report_type_id: p for p in (SP_CAMPAIGNS,)}

# --- Environment variables (read through paperplan_sync.settings; secrets go through dagster.EnvVar) --------
ENV_SECRETS = {
    "client_id": "ADS_LWA_CLIENT_ID",
    "client_secret": "ADS_LWA_CLIENT_SECRET",
    "refresh_token": "ADS_REFRESH_TOKEN",
    "profile_id": "ADS_PROFILE_ID",
}
ENV_SETTINGS = {"endpoint": "ADS_ENDPOINT", "lwa_endpoint": "ADS_LWA_ENDPOINT"}
ENV_NUMBERS = {"poll_initial_s": "ADS_POLL_INITIAL_S"}
