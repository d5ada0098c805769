"""Amazon SP-API Data Kiosk 2023-11-15 source (``AmazonDataKioskResource``), registered as ``amazon_datakiosk``:
GraphQL queries of the Sales & Traffic dataset ``analytics_salesAndTraffic_2024_04_24`` answered as JSONL
documents. The same Selling Partner app, refresh token and regional endpoint as ``amazon_sp`` (the same
environment variables). Design notes and Amazon's limits: docs/design/datakiosk.md."""

from paperplan_sync.sources.registry import Source

from . import settings
from .catalog import BY_ASIN_DAILY_JSONL, FORMAT_PARSERS, KINDS
from .client import AmazonDataKioskResource
from .transport import DataKioskError

SOURCE = Source(
    name=settings.NAME,
    label="SP-API Data Kiosk",
    resource=AmazonDataKioskResource,
    kinds=KINDS,
    parsers=FORMAT_PARSERS,
    default_format=BY_ASIN_DAILY_JSONL,
    env_secrets=settings.ENV_SECRETS,
    env_settings=settings.ENV_SETTINGS,
    env_numbers=settings.ENV_NUMBERS,
    dagster_kind="amazon",
)

__all__ = ["SOURCE", "AmazonDataKioskResource", "DataKioskError"]
