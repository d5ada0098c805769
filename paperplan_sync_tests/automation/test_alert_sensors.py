"""The freshness alert and the heartbeat, evaluated as the daemon evaluates them (real sensors, real stand-ins)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import dagster as dg

from paperplan_sync.automation.alerts import build_alert_sensors
from paperplan_sync.config.loader import load_config


def sensor(config, name: str) -> dg.SensorDefinition:
    return next(s for s in build_alert_sensors(config) if s.name == name)


def test_a_notify_on_fail_report_with_nothing_for_24_hours_alerts_once(airtable_resource, mongo, slack):
    config = load_config(airtable_resource)
    freshness = sensor(config, "report_freshness")
    resources = {"airtable": airtable_resource, "mongo": mongo, "slack": slack.resource()}
    long_ago = (datetime.now(UTC) - timedelta(hours=25)).isoformat()
    cursor = json.dumps({"first_seen": {rt.name: long_ago for rt in config.active_report_types}, "alerted": []})

    with dg.instance_for_test() as instance:
        first = dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources)
        freshness(first)
        second = dg.build_sensor_context(instance=instance, cursor=first.cursor, resources=resources)
        freshness(second)

    texts = [m["text"] for m in slack.messages()]
    stale = sorted(t.split()[1] for t in texts)
    # Daily, Notify On Fail types only: not fba_inventory (real-time) nor merchant_listings (no notify).
    assert stale == ["ads_campaigns", "sales_and_traffic", "sales_report"]
    assert all("no report in the last 24 hours" in t for t in texts)
    logged = [r["fields"]["Summary"] for r in airtable_resource.table("Logs").all()]
    assert len([s for s in logged if "no report in the last 24 hours" in s]) == 3


def test_the_heartbeat_sets_alive_and_timestamp(airtable_resource, mongo):
    heartbeat = sensor(load_config(airtable_resource), "heartbeat")
    with dg.instance_for_test() as instance:
        heartbeat(dg.build_sensor_context(instance=instance, resources={"airtable": airtable_resource, "mongo": mongo}))

    [overview] = airtable_resource.table("Overview").all()
    assert overview["fields"]["Alive"] == 1
    stamp = datetime.fromisoformat(overview["fields"]["Timestamp"].replace("Z", "+00:00"))
    assert datetime.now(UTC) - stamp < timedelta(minutes=1)
