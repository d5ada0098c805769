"""The demo's Sales & Traffic through Data Kiosk (issue 20), end to end in Dagster: local SP-API stand-in ->
days in MongoDB and Airtable. Per ASIN per day it stores what the Reports-API path stores; a daily fire is
one range (its by-ASIN query and one trends query per 30 ASINs, whatever the number of days); a FATAL query
fails its days with Amazon's error text in the alert; an empty answer is today's empty report."""

from __future__ import annotations

import json
from datetime import date, timedelta

import dagster as dg
import httpx
import pytest

from paperplan_sync.alerting.alerts import build_alert_sensors
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.schema import TABLE_REPORTS
from paperplan_sync.storage.rows import current_rows
from paperplan_sync_tests.fixtures.reports import RANGE_END, RANGE_START

pytestmark = pytest.mark.slow  # Dagster runs of the whole product

FIRE = ("2026-11-14", "2026-11-17")  # a daily fire: the target day (Offset 3) and its 3 re-pull days
DAYS = ["2026-11-14", "2026-11-15", "2026-11-16", "2026-11-17"]
DATA_KIOSK, REPORTS_API = "sales_and_traffic", "sales_and_traffic_reports_api"
METRICS = {"units_ordered", "ordered_revenue", "sessions", "page_views"}


def datapoints(mongo, name: str) -> dict[tuple[str, str, str], float]:
    return {
        (p["date"], p["key"], p["metric"]): round(float(p["value"]), 2)
        for p in mongo.db()["datapoints"].find({"report": name})
    }


def reports_records(airtable_resource, name: str) -> dict[str, dict]:
    found = airtable_resource.table(TABLE_REPORTS).all(formula=f"{{Report Type}}='{name}'")
    return {r["fields"]["Date"][:10]: r["fields"] for r in found}


def test_per_asin_per_day_data_kiosk_stores_what_the_reports_api_stores(product, spapi, mongo):
    assert product.materialize(REPORTS_API, days=FIRE).success  # 4 reports, one per day
    spapi.reset_stats()

    assert product.materialize(DATA_KIOSK, days=FIRE).success

    assert spapi.stats()["calls"]["createQuery"] == 3  # the seller's ASINs, then 35 ASINs in 2 trends queries
    assert spapi.stats()["create_calls"] == {}  # no Reports-API request
    kiosk, reports = datapoints(mongo, DATA_KIOSK), datapoints(mongo, REPORTS_API)
    assert {metric for _, _, metric in kiosk} == METRICS
    assert {day for day, _, _ in kiosk} == set(DAYS)
    assert kiosk == reports  # the same units, revenue, sessions and page views per ASIN per day
    for day in DAYS:
        rows = current_rows(mongo.db(), DATA_KIOSK, day)
        assert rows and {r["date"] for r in rows} == {day} and len({r["childAsin"] for r in rows}) == len(rows)


def test_a_longer_range_is_still_one_query_per_30_asins(product, spapi):
    first = date.fromisoformat(FIRE[1]) - timedelta(days=29)
    assert product.materialize(DATA_KIOSK, days=(first.isoformat(), FIRE[1])).success  # 30 days
    assert spapi.stats()["calls"]["createQuery"] == 3


def test_a_fatal_query_fails_its_days_with_amazons_error_text_in_the_alert(product, spapi, airtable_resource, slack):
    text = "Internal processing error: the dataset is temporarily unavailable for this selling partner."
    httpx.post(f"{spapi.url}/_test/datakiosk/faults", json={"fatal": 1, "message": text}).raise_for_status()
    asset = product.asset(DATA_KIOSK)
    defs = dg.Definitions(assets=[asset], resources=product.resources)
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=product.instance,
        tags={RANGE_START: FIRE[0], RANGE_END: FIRE[1]},
        asset_selection=[asset.key],
        raise_on_error=False,
    )
    assert not result.success

    alert_on_failure(product, result.run_id)

    [message] = [m for m in slack.messages() if DATA_KIOSK in m["text"]]
    assert "FATAL" in message["text"]  # the notification line (150 characters) ...
    assert text in json.dumps(message.get("blocks"))  # ... and the reason block quotes Amazon's text whole
    failed = reports_records(airtable_resource, DATA_KIOSK)
    assert all(failed[day].get("Fail") for day in DAYS)
    assert text in failed[DAYS[0]]["Fail Reason"]


def alert_on_failure(product, run_id: str) -> None:
    """What the daemon does after a failed run: the failure sensor posts to Slack and marks the days."""
    instance = product.instance
    failure = next(
        e.dagster_event
        for e in instance.all_logs(run_id)
        if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE
    )
    [sensor] = [s for s in build_alert_sensors(product.config) if s.name == "report_failure_alerts"]
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_instance=instance,
        dagster_run=instance.get_run_by_id(run_id),
        dagster_event=failure,
        resources={k: product.resources[k] for k in ("airtable", "mongo", "slack")},
    ).for_run_failure()
    sensor(context)


def test_an_empty_answer_is_handled_as_an_empty_report(product, spapi, airtable_resource, mongo):
    spapi.set_today(date.fromisoformat(FIRE[0]) - timedelta(days=1))  # none of the days has data yet

    result = product.materialize(DATA_KIOSK, days=FIRE, raise_on_error=False)

    # Notify On Fail is on for the demo row: an empty answer for days without rows fails them, as for any report.
    assert not result.success
    empty = reports_records(airtable_resource, DATA_KIOSK)
    assert {day: empty[day].get("Fail Reason") for day in DAYS} == dict.fromkeys(DAYS, records.EMPTY_REASON)
    assert all(not current_rows(mongo.db(), DATA_KIOSK, day) for day in DAYS)
    assert spapi.stats()["calls"]["createQuery"] == 1 and spapi.stats()["calls"].get("getDocument", 0) == 0
