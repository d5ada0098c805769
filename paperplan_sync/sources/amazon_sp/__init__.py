"""Amazon Selling Partner API -- Reports 2021-06-30 source (``AmazonSPReportsResource``), registered as
``amazon_sp`` (the default Source of a Report Types row)."""

from paperplan_sync.sources.lwa import clear_token_cache
from paperplan_sync.sources.registry import Source

from . import settings
from .catalog import FLAT_FILE, KINDS, NAME, SALES_AND_TRAFFIC_JSON
from .client import AmazonSPReportsResource, day_window
from .errors import LWAAuthError, ReportDocumentError, SPAPIError
from .parsing import DocumentTruncated, parse_flat_file, parse_json_document
from .ratelimit import reset_buckets

SOURCE = Source(
    name=NAME,
    label="SP-API",
    resource=AmazonSPReportsResource,
    kinds=KINDS,
    parsers={FLAT_FILE: parse_flat_file, SALES_AND_TRAFFIC_JSON: parse_json_document},
    default_format=FLAT_FILE,
    env_secrets=settings.ENV_SECRETS,
    env_settings=settings.ENV_SETTINGS,
    env_numbers=settings.ENV_NUMBERS,
    dagster_kind="amazon",
    default=True,
)

__all__ = [
    "SOURCE",
    "AmazonSPReportsResource",
    "DocumentTruncated",
    "LWAAuthError",
    "ReportDocumentError",
    "SPAPIError",
    "clear_token_cache",
    "day_window",
    "reset_buckets",
]
