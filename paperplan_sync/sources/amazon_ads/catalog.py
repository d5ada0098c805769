"""The Amazon Ads report types this product knows: one ``ReportKind`` each, and their document format.

A type id missing here is requested with the ``columns`` and ``groupBy`` options of its Report Types row
(report_config) and parsed as Ads JSON, one day at a time.
"""

from __future__ import annotations

from paperplan_sync.sources.catalog import DatapointMapping, ReportKind, by_id

from .settings import MAX_RANGE_DAYS, SP_CAMPAIGNS

NAME = "amazon_ads"

ADS_JSON = "ads_json"  # GZIP_JSON: one JSON array of row objects

KINDS: dict[str, ReportKind] = by_id(
    # Reporting v3: up to 31 days per report with timeUnit DAILY, one row per campaign and day.
    ReportKind(
        SP_CAMPAIGNS.report_type_id,
        NAME,
        ADS_JSON,
        date_column="date",
        max_range_days=MAX_RANGE_DAYS,
        row_key=("date", "campaignId"),
        columns=SP_CAMPAIGNS.columns,
        datapoints=DatapointMapping(
            key_field="campaignId", metrics={"ad_cost": "cost", "ad_sales_7d": "sales7d", "ad_clicks": "clicks"}
        ),
    ),
)
