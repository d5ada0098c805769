"""Fixed loopback ports and development credentials of the stand-ins, and the environment that points
the product at them. Nothing here is a secret: these values only open the local stand-ins."""

from __future__ import annotations

from dataclasses import dataclass

from paperplan_local.runner import LOOPBACK

# Local demo data should not wait a minute per createReport like Amazon's real quota.
LOCAL_RATE_LIMIT_SCALE = 100


@dataclass(frozen=True)
class Ports:
    airtable: int = 8701
    spapi: int = 8702
    slack: int = 8703
    ads: int = 8704
    mongo: int = 27017
    dagster: int = 3000
    api: int = 8710


def local_environment(ports: Ports = Ports(), host: str = LOOPBACK) -> dict[str, str]:
    from paperplan_local import ads, airtable, slack, spapi

    base = f"http://{host}"
    return {
        "AIRTABLE_ENDPOINT_URL": f"{base}:{ports.airtable}",
        "AIRTABLE_API_KEY": airtable.DEFAULT_API_KEY,
        "AIRTABLE_BASE_ID": airtable.DEFAULT_BASE_ID,
        "MONGODB_URI": f"mongodb://{host}:{ports.mongo}",
        "MONGODB_DATABASE": "paperplan_sync",
        "SPAPI_ENDPOINT": f"{base}:{ports.spapi}",
        "SPAPI_LWA_ENDPOINT": f"{base}:{ports.spapi}/auth/o2/token",
        "SPAPI_LWA_CLIENT_ID": spapi.DEV_CLIENT_ID,
        "SPAPI_LWA_CLIENT_SECRET": spapi.DEV_CLIENT_SECRET,
        "SPAPI_REFRESH_TOKEN": spapi.DEV_REFRESH_TOKEN,
        "SPAPI_MARKETPLACE_IDS": "ATVPDKIKX0DER",
        "ADS_ENDPOINT": f"{base}:{ports.ads}",
        "ADS_LWA_ENDPOINT": f"{base}:{ports.ads}/auth/o2/token",
        "ADS_LWA_CLIENT_ID": ads.DEV_CLIENT_ID,
        "ADS_LWA_CLIENT_SECRET": ads.DEV_CLIENT_SECRET,
        "ADS_REFRESH_TOKEN": ads.DEV_REFRESH_TOKEN,
        "ADS_PROFILE_ID": ads.DEV_PROFILE_ID,
        "SLACK_BASE_URL": f"{base}:{ports.slack}/api/",
        "SLACK_BOT_TOKEN": slack.DEV_TOKEN,
        "SLACK_CHANNEL": "#airtable",
        "DAGSTER_WEBSERVER_URL": f"{base}:{ports.dagster}",
        # The local Airtable pings the product's api service here (webhook mode, as in production).
        "PAPERPLAN_PUBLIC_URL": f"{base}:{ports.api}",
        "PAPERPLAN_API_PORT": str(ports.api),
        # The stand-ins answer in well under a second and run with 100x Amazon's rates (see `local up`).
        "SPAPI_RATE_LIMIT_SCALE": str(LOCAL_RATE_LIMIT_SCALE),
        "SPAPI_POLL_INITIAL_S": "0.5",
        "ADS_POLL_INITIAL_S": "0.5",
    }
