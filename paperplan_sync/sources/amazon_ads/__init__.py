"""Amazon Ads reporting v3 source.

``AmazonAdsReportsResource`` implements ``ReportSource`` for Sponsored Products reports (preset:
``spCampaigns``); constants and presets live in ``settings``; a local Ads-compatible server for development and tests is
``paperplan_local.ads``.
"""

from paperplan_sync.sources.amazon_ads.client import AmazonAdsReportsResource
from paperplan_sync.sources.amazon_ads.errors import (
    AdsApiError,
    AdsAuthError,
    AdsDownloadError,
    AdsError,
    AdsReportParseError,
    AdsUnavailable,
)
from paperplan_sync.sources.amazon_ads.report_config import check_range, split_range
from paperplan_sync.sources.amazon_ads.settings import MAX_RANGE_DAYS, RESTATEMENT_DAYS

__all__ = [
    "AdsApiError",
    "AdsAuthError",
    "AdsDownloadError",
    "AdsError",
    "AdsReportParseError",
    "AdsUnavailable",
    "AmazonAdsReportsResource",
    "MAX_RANGE_DAYS",
    "RESTATEMENT_DAYS",
    "check_range",
    "split_range",
]
