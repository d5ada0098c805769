"""Resources for a deployment, chosen in one place. Secrets only through dagster.EnvVar; plain settings
(endpoints, names) from the environment with production defaults."""

from __future__ import annotations

import os

import dagster as dg

from paperplan_sync.automation.slack import SlackResource
from paperplan_sync.control_plane.airtable import AIRTABLE_DEFAULT_ENDPOINT, AirtableResource
from paperplan_sync.sources.amazon_ads.client import AmazonAdsReportsResource
from paperplan_sync.sources.amazon_sp.client import AmazonSPReportsResource
from paperplan_sync.storage.mongo import MongoResource


def _env(name: str, default: str) -> str:
    return os.environ.get(name) or default


def production_resources() -> dict[str, object]:
    # Any of these may be unset while developing: the code location still loads, and only a run that
    # needs the missing secret fails, naming the variable.
    return {
        "airtable": AirtableResource(
            api_key=dg.EnvVar("AIRTABLE_API_KEY"),
            base_id=dg.EnvVar("AIRTABLE_BASE_ID"),
            endpoint_url=_env("AIRTABLE_ENDPOINT_URL", AIRTABLE_DEFAULT_ENDPOINT),
            # The shared limiter, month count and configuration live in MongoDB: every machine sees them.
            state_mongodb_uri=dg.EnvVar("MONGODB_URI"),
            state_database=_env("MONGODB_DATABASE", "paperplan_sync"),
            monthly_quota=int(_env("AIRTABLE_MONTHLY_QUOTA", "100000")),
        ),
        "mongo": MongoResource(uri=dg.EnvVar("MONGODB_URI"), database=_env("MONGODB_DATABASE", "paperplan_sync")),
        "amazon_sp": AmazonSPReportsResource(
            lwa_client_id=dg.EnvVar("SPAPI_LWA_CLIENT_ID"),
            lwa_client_secret=dg.EnvVar("SPAPI_LWA_CLIENT_SECRET"),
            refresh_token=dg.EnvVar("SPAPI_REFRESH_TOKEN"),
            endpoint=_env("SPAPI_ENDPOINT", "https://sellingpartnerapi-na.amazon.com"),
            lwa_endpoint=_env("SPAPI_LWA_ENDPOINT", "https://api.amazon.com/auth/o2/token"),
            marketplace_ids=_env("SPAPI_MARKETPLACE_IDS", "ATVPDKIKX0DER"),
            # Tuning knobs; production keeps the defaults (Amazon's rates, 5 s first poll).
            rate_limit_scale=float(_env("SPAPI_RATE_LIMIT_SCALE", "1")),
            poll_initial_s=float(_env("SPAPI_POLL_INITIAL_S", "5")),
        ),
        "amazon_ads": AmazonAdsReportsResource(
            client_id=dg.EnvVar("ADS_LWA_CLIENT_ID"),
            client_secret=dg.EnvVar("ADS_LWA_CLIENT_SECRET"),
            refresh_token=dg.EnvVar("ADS_REFRESH_TOKEN"),
            profile_id=dg.EnvVar("ADS_PROFILE_ID"),
            endpoint=_env("ADS_ENDPOINT", "https://advertising-api.amazon.com"),
            lwa_endpoint=_env("ADS_LWA_ENDPOINT", "https://api.amazon.com/auth/o2/token"),
            poll_initial_s=float(_env("ADS_POLL_INITIAL_S", "15")),
        ),
        "slack": SlackResource.from_env(),
    }
