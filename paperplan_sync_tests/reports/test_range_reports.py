"""A run's days as one report per range (issue 13), end to end: local SP-API / Ads -> days in MongoDB and
Airtable, compared with what one report per day stored."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import dagster as dg
import pytest

from paperplan_sync.alerting.alerts import build_alert_sensors
from paperplan_sync.control_plane.schema import TABLE_REPORTS
from paperplan_sync.sources.amazon_sp.catalog import ORDERS_BY_DATE
from paperplan_sync.storage.rows import current_rows
from paperplan_sync.timezones import Zone
from paperplan_sync_tests.fixtures.reports import RANGE_END, RANGE_START

pytestmark = pytest.mark.slow  # Dagster runs of range reports

FIRST, LAST = "2026-11-10", "2026-11-14"  # the SP-API stand-in's clock is pinned to 2026-11-20 in tests


def days(first: str, last: str) -> list[str]:
    start, end = date.fromisoformat(first), date.fromisoformat(last)
    return [(start + timedelta(days=n)).isoformat() for n in range((end - start).days + 1)]


def rows_by_day(product, name: str, keys: list[str]) -> dict[str, list[tuple]]:
    db = product.resources["mongo"].db()
    return {
        day: sorted(
            tuple(sorted((k, v) for k, v in r.items() if not k.startswith("_"))) for r in current_rows(db, name, day)
        )
        for day in keys
    }


def datapoints_by_day(product, name: str) -> list[tuple]:
    db = product.resources["mongo"].db()
    return sorted((p["date"], p["key"], p["metric"], p["value"]) for p in db["datapoints"].find({"report": name}))


def reports_records(airtable_resource, name: str) -> dict[str, dict]:
    records = airtable_resource.table(TABLE_REPORTS).all(formula=f"{{Report Type}}='{name}'")
    return {r["fields"]["Date"][:10]: r["fields"] for r in records}


def test_a_range_report_stores_exactly_what_per_day_reports_stored(product, spapi, mongo):
    keys = days(FIRST, LAST)
    for day in keys:  # before: one report per day
        assert product.materialize("sales_report", day).success
    per_day, per_day_points = rows_by_day(product, "sales_report", keys), datapoints_by_day(product, "sales_report")
    spapi.reset_stats()

    assert product.materialize("sales_report", days=(FIRST, LAST)).success

    assert spapi.stats()["create_calls"] == {ORDERS_BY_DATE: 1}
    assert spapi.stats()["calls"]["getReports"] == 1  # the in-flight lookup runs once per run
    assert rows_by_day(product, "sales_report", keys) == per_day
    assert all(per_day[day] for day in keys)
    assert datapoints_by_day(product, "sales_report") == per_day_points


def test_rows_near_midnight_land_on_their_local_day(product):
    assert product.materialize("sales_report", days=(FIRST, LAST)).success

    db = product.resources["mongo"].db()
    near_midnight = 0
    for day in days(FIRST, LAST):
        for row in current_rows(db, "sales_report", day):
            purchased = datetime.fromisoformat(row["purchase-date"])
            assert purchased.astimezone(Zone.from_hours(-7).tzinfo).date().isoformat() == day
            near_midnight += purchased.astimezone(UTC).date().isoformat() != day  # UTC says the next day
    assert near_midnight > 0  # orders between 00:00 and 07:00 UTC belong to the day before in UTC-7


def test_an_empty_day_inside_the_range_is_still_recorded(product, spapi, airtable_resource, mongo):
    spapi.inject(empty_days=["2026-11-12"], report_type=ORDERS_BY_DATE)  # no order at all that day
    result = product.materialize("sales_report", days=(FIRST, LAST))

    assert result.success
    assert not current_rows(mongo.db(), "sales_report", "2026-11-12")
    records = reports_records(airtable_resource, "sales_report")
    assert set(days(FIRST, LAST)) <= set(records)
    assert records["2026-11-11"].get("Rows", 0) > 0 and records["2026-11-13"].get("Rows", 0) > 0
    loads = mongo.db()["report_loads"].find({"report_name": "sales_report", "report_date": "2026-11-12"})
    assert [load["status"] for load in loads] == ["succeeded"]
    materialized = {m.partition for m in result.asset_materializations_for_node("amazon_sp__sales_report")}
    assert materialized == set(days(FIRST, LAST))


def test_a_range_longer_than_the_api_allows_is_chunked(product, spapi, mongo):
    result = product.materialize("sales_report", days=("2026-09-20", "2026-11-03"))  # 45 days

    assert result.success
    assert spapi.stats()["create_calls"] == {ORDERS_BY_DATE: 2}  # 30 + 15 days
    loaded = mongo.db()["report_loads"].distinct("report_date", {"report_name": "sales_report", "status": "succeeded"})
    assert len(loaded) == 45


def test_an_ads_window_is_one_report(product, ads, mongo):
    before = ads.stats()["reports_created"]
    assert product.materialize("ads_campaigns", days=("2026-10-20", "2026-11-14")).success  # 26 days
    assert ads.stats()["reports_created"] - before == 1
    for day in ("2026-10-20", "2026-11-14"):
        rows = current_rows(mongo.db(), "ads_campaigns", day)
        assert rows and {r["date"] for r in rows} == {day}


def test_a_fatal_range_fails_every_day_it_covers_with_one_alert(product, spapi, airtable_resource, slack):
    spapi.inject(fatal=True, report_type=ORDERS_BY_DATE)
    asset = product.asset("sales_report")
    defs = dg.Definitions(assets=[asset], resources=product.resources)
    # The run names its asset, as scheduled runs do.
    result = defs.resolve_implicit_global_asset_job_def().execute_in_process(
        instance=product.instance,
        tags={RANGE_START: FIRST, RANGE_END: LAST},
        asset_selection=[asset.key],
        raise_on_error=False,
    )
    assert not result.success
    assert spapi.stats()["create_calls"] == {ORDERS_BY_DATE: 1}

    instance = product.instance
    run = instance.get_run_by_id(result.run_id)
    failure = next(
        e.dagster_event
        for e in instance.all_logs(result.run_id)
        if e.dagster_event and e.dagster_event.event_type == dg.DagsterEventType.RUN_FAILURE
    )
    [sensor] = [s for s in build_alert_sensors(product.config) if s.name == "report_failure_alerts"]
    context = dg.build_run_status_sensor_context(
        sensor_name=sensor.name,
        dagster_instance=instance,
        dagster_run=run,
        dagster_event=failure,
        resources={k: product.resources[k] for k in ("airtable", "mongo", "slack")},
    ).for_run_failure()
    sensor(context)

    messages = [m for m in slack.messages() if "sales_report" in m["text"]]
    assert len(messages) == 1
    records = reports_records(airtable_resource, "sales_report")
    assert all(records[day].get("Fail") for day in days(FIRST, LAST))
