"""After downtime: the last 7 days of missed fires run in one run per report type; older due days get a
Reports record that shows in Failed Reports (Fail checked, Last Updated empty)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from paperplan_sync.config.loader import load_config
from paperplan_sync.reports.factory import build_report_jobs
from paperplan_sync.scheduling.scheduler import build_scheduler_sensor


@pytest.mark.slow
def test_twenty_days_down_catches_up_a_week_in_one_run_each_and_records_the_older_days(airtable_resource, mongo, slack):
    config = load_config(airtable_resource)
    sensor = build_scheduler_sensor(config, build_report_jobs(config))
    cursor = json.dumps({"after": (datetime.now(UTC) - timedelta(days=20)).isoformat()})
    resources = {"airtable": airtable_resource, "mongo": mongo, "slack": slack.resource()}
    with dg.instance_for_test() as instance:
        result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))

    per_report: dict[str, int] = {}
    for request in result.run_requests:
        per_report[request.tags["paperplan/report"]] = per_report.get(request.tags["paperplan/report"], 0) + 1
    # Daily types: one run each for all their caught-up days; the snapshots (2-hourly, weekly): one run each.
    assert per_report == {
        "sales_report": 1,
        "sales_and_traffic": 1,
        "ads_campaigns": 1,
        "fba_inventory": 1,
        "merchant_listings": 1,
    }

    failed = airtable_resource.table("Reports").all(formula="{Fail}")
    # sales_and_traffic re-pulls only 3 days: fires 8-20 days ago pulled days the catch-up run does not cover.
    assert failed and {r["fields"]["Report Type"] for r in failed} == {"sales_and_traffic"}
    assert all(not r["fields"].get("Last Updated") and "not run" in r["fields"]["Fail Reason"] for r in failed)
    caught_up = next(r for r in result.run_requests if r.tags["paperplan/report"] == "sales_and_traffic")
    first_caught_up = caught_up.tags["dagster/asset_partition_range_start"]
    assert max(r["fields"]["Date"] for r in failed) < first_caught_up
