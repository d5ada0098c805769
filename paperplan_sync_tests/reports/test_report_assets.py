"""Report assets end to end: local SP-API -> MongoDB + Airtable Reports record + datapoints."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime

import pytest

from paperplan_sync.control_plane.schema import TABLE_REPORTS
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.reports.partitions import parse_day, repeat_window_closed
from paperplan_sync.storage.rows import LATEST
from paperplan_sync.storage.rows import current_rows as stored_rows

pytestmark = pytest.mark.slow  # Dagster runs of the whole product, a 30-day backfill among them

DAY = "2026-11-15"  # the SP-API stand-in's clock is pinned to 2026-11-20 in tests


def reports_record(airtable_resource, name: str, day: str) -> dict:
    records = airtable_resource.table(TABLE_REPORTS).all(
        formula=f"AND({{Report Type}}='{name}', {{Date}}=DATETIME_PARSE('{day}'))"
    )
    assert len(records) == 1, records
    return records[0]["fields"]


def current_rows(product, name: str, day: str | None) -> list[dict]:
    return stored_rows(product.resources["mongo"].db(), name, day or LATEST)


def test_a_sales_report_partition_lands_in_mongodb_airtable_and_datapoints(product, airtable_resource):
    result = product.materialize("sales_report", DAY)

    [materialization] = result.asset_materializations_for_node("amazon_sp__sales_report")
    meta = {k: v.value for k, v in materialization.metadata.items()}
    rows = current_rows(product, "sales_report", DAY)
    assert meta["rows"] == len(rows) > 0
    assert {"amazon-order-id", "order-status", "sku"} <= set(rows[0])

    record = reports_record(airtable_resource, "sales_report", DAY)
    assert record["Mongo Id"] == meta["load_id"] and record["Rows"] == len(rows)
    assert record.get("Last Updated") and not record.get("Fail")
    # "Update Repeated" marks the last scheduled re-pull: set once the 21-day window of DAY has closed, which
    # depends on today's date (the stand-in's clock is pinned, the product's is not).
    sales_report = product.config.report_type("sales_report")
    window_closed = repeat_window_closed(sales_report, parse_day(DAY), datetime.now(UTC))
    assert bool(record.get("Update Repeated")) == window_closed

    points = list(product.resources["mongo"].db()["datapoints"].find({"report": "sales_report", "date": DAY}))
    assert {p["metric"] for p in points} == {"units_ordered", "ordered_revenue"}
    assert all(c.passed for c in result.get_asset_check_evaluations())


def test_rematerializing_a_day_replaces_its_rows_and_picks_up_status_changes(product, spapi, mongo):
    statuses = []
    for today in (date(2026, 11, 16), date(2026, 11, 25), date(2026, 12, 10)):
        spapi.set_today(today)
        product.materialize("sales_report", DAY)
        rows = current_rows(product, "sales_report", DAY)
        statuses.append((len(rows), Counter(r["order-status"] for r in rows)))

    counts = {n for n, _ in statuses}
    assert len(counts) == 1  # same orders each time: replaced, never duplicated
    assert statuses[0][1]["Pending"] > statuses[-1][1]["Pending"]  # pending orders shipped or cancelled since
    assert mongo.db()["sales_report"].count_documents({"_report_date": DAY}) == counts.pop()


def test_a_failing_load_keeps_the_previous_good_rows(product, spapi, airtable_resource):
    product.materialize("sales_report", DAY)
    before = sorted(r["amazon-order-id"] + r["sku"] for r in current_rows(product, "sales_report", DAY))

    spapi.inject(fatal=True, report_type="GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL")
    result = product.materialize("sales_report", DAY, raise_on_error=False)

    assert not result.success
    after = sorted(r["amazon-order-id"] + r["sku"] for r in current_rows(product, "sales_report", DAY))
    assert after == before
    assert reports_record(airtable_resource, "sales_report", DAY)["Mongo Id"]  # still the good load's id


def test_a_real_time_report_keeps_the_latest_state_and_a_dated_snapshot(product, mongo):
    result = product.materialize("fba_inventory")

    assert result.success
    latest = current_rows(product, "fba_inventory", None)
    assert latest and {"sku", "afn-fulfillable-quantity"} <= set(latest[0])
    history = mongo.db()["fba_inventory"].distinct("_report_date")
    assert len(history) >= 1


def test_an_airtable_destination_type_upserts_its_rows_by_key(product, airtable_resource):
    product.materialize("merchant_listings")
    product.materialize("merchant_listings")

    listings = airtable_resource.table("Listings").all()
    skus = [r["fields"]["seller-sku"] for r in listings]
    assert skus and len(skus) == len(set(skus)) == len(current_rows(product, "merchant_listings", None))
    assert isinstance(listings[0]["fields"].get("price"), float | int)


def test_airtable_down_during_a_load_keeps_the_writes_and_flushes_them_later(
    product, airtable, airtable_resource, mongo
):
    airtable.inject(status=503, count=10_000)

    result = product.materialize("sales_report", DAY)

    assert result.success  # the data load does not fail because Airtable is down
    assert mongo.db()["outbox"].count_documents({}) >= 1
    airtable.clear_faults()
    flushed = AirtableWriter(mongo.db(), airtable_resource).flush()  # as the outbox sensor does a minute later
    assert flushed.sent >= 1 and not flushed.stopped_by
    assert reports_record(airtable_resource, "sales_report", DAY)["Rows"] > 0


def test_a_30_day_backfill_runs_once_and_stores_each_day_as_its_own_report(product, mongo):
    result = product.materialize("sales_report", days=("2026-10-15", "2026-11-13"))

    assert result.success
    loaded = mongo.db()["report_loads"].distinct("report_date", {"report_name": "sales_report", "status": "succeeded"})
    assert len(loaded) == 30
    assert len(result.asset_materializations_for_node("amazon_sp__sales_report")) == 30


@pytest.mark.parametrize(
    ("name", "metrics"),
    [
        ("sales_and_traffic", {"units_ordered", "ordered_revenue", "sessions", "page_views"}),
        ("ads_campaigns", set()),  # Add to Datapoints is off for it in the demo base
    ],
)
def test_the_other_demo_report_types_materialize(product, mongo, name, metrics):
    assert product.materialize(name, DAY).success
    assert {p["metric"] for p in mongo.db()["datapoints"].find({"report": name, "date": DAY})} == metrics
