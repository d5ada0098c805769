"""Amazon Ads reporting v3 source (``AmazonAdsReportsResource``), registered as ``amazon_ads``.

Sponsored Products reports (preset ``spCampaigns``); constants and presets live in ``settings``; a local
Ads-compatible server for development and tests is ``paperplan_local.ads``.
"""

from paperplan_sync.sources.registry import Source

from . import settings
from .catalog import ADS_JSON, KINDS, NAME
from .client import AmazonAdsReportsResource
from .errors import AdsApiError, AdsAuthError, AdsDownloadError, AdsError, AdsReportParseError, AdsUnavailable
from .parsing import parse_ads_document
from .settings import MAX_RANGE_DAYS, RESTATEMENT_DAYS

SOURCE = Source(
    name=NAME,
    label="Amazon Ads",
    resource=AmazonAdsReportsResource,
    kinds=KINDS,
    parsers={ADS_JSON: parse_ads_document},
    default_format=ADS_JSON,
    env_secrets=settings.ENV_SECRETS,
    env_settings=settings.ENV_SETTINGS,
    env_numbers=settings.ENV_NUMBERS,
    dagster_kind="amazon",
)

__all__ = [
    "MAX_RANGE_DAYS",
    "RESTATEMENT_DAYS",
    "SOURCE",
    "AdsApiError",
    "AdsAuthError",
    "AdsDownloadError",
    "AdsError",
    "AdsReportParseError",
    "AdsUnavailable",
    "AmazonAdsReportsResource",
]
