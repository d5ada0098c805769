"""Empty answers and stale datapoints through the real report asset (local SP-API, Airtable, SecantusDB)."""

from __future__ import annotations

import pytest

from paperplan_sync.control_plane.records import airtable_time
from paperplan_sync.control_plane.schema import TABLE_REPORTS
from paperplan_sync.storage.rows import current_rows

pytestmark = pytest.mark.slow  # Dagster runs of the whole product

DAY = "2026-11-15"  # the SP-API stand-in's clock is pinned to 2026-11-20 in tests
ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"


def record(airtable_resource, name: str, day: str) -> dict:
    [found] = airtable_resource.table(TABLE_REPORTS).all(
        formula=f"AND({{Report Type}}='{name}', {{Date}}=DATETIME_PARSE('{day}'))"
    )
    return found["fields"]


def logs(airtable_resource) -> list[str]:
    return [r["fields"]["Summary"] for r in airtable_resource.table("Logs").all()]


def day_keys(mongo) -> set[str]:
    return {p["key"] for p in mongo.db()["datapoints"].find({"report": "sales_report", "date": DAY})}


@pytest.mark.parametrize("empty", [{"cancelled": True}, {"rows": 0}], ids=["CANCELLED", "no rows"])
def test_an_empty_repull_keeps_the_days_rows_and_marks_the_record(product, spapi, mongo, airtable_resource, empty):
    product.materialize("sales_report", DAY)
    good = record(airtable_resource, "sales_report", DAY)
    rows = current_rows(mongo.db(), "sales_report", DAY)

    repulled_at = airtable_time()
    spapi.inject(report_type=ORDERS, **empty)
    assert product.materialize("sales_report", DAY).success

    assert current_rows(mongo.db(), "sales_report", DAY) == rows
    after = record(airtable_resource, "sales_report", DAY)
    assert after["Note"] == f"re-pull returned no data; kept {len(rows)} rows"
    assert (after["Mongo Id"], after["Rows"]) == (good["Mongo Id"], len(rows))
    assert good["Last Updated"] <= after["Last Updated"] < repulled_at  # when the kept rows were loaded
    assert not after.get("Fail")
    assert f"Report sales_report {DAY}: re-pull returned no data; kept {len(rows)} rows" in logs(airtable_resource)


def test_a_first_pull_that_is_empty_is_failure_scenario_2(product, spapi, airtable_resource):
    spapi.inject(report_type=ORDERS, cancelled=True)
    result = product.materialize("sales_report", DAY, raise_on_error=False)

    assert not result.success  # Notify On Fail: the run fails, so the failure alert (one) follows
    fields = record(airtable_resource, "sales_report", DAY)
    assert fields["Fail"] and fields["Fail Reason"] == "the API returned an empty report (no data)"
    assert not fields.get("Last Updated") and not fields.get("Mongo Id")


def test_a_type_marked_empty_is_ok_takes_an_empty_day_as_a_normal_day(product, spapi, mongo, airtable_resource):
    product.materialize("sales_report", DAY)
    table = airtable_resource.table("Report Types")
    table.update(table.first(formula="{Name}='sales_report'")["id"], {"Empty Is OK": True})
    product.reload_config()

    spapi.inject(report_type=ORDERS, cancelled=True)
    assert product.materialize("sales_report", DAY).success

    assert current_rows(mongo.db(), "sales_report", DAY) == []
    fields = record(airtable_resource, "sales_report", DAY)
    assert fields["Rows"] == 0 and fields["Mongo Id"] and not fields.get("Fail") and not fields.get("Note")


def test_a_repull_replaces_the_days_datapoints(product, spapi, mongo):
    product.materialize("sales_report", DAY)
    before = day_keys(mongo)

    spapi.inject(report_type=ORDERS, rows=3)  # most SKUs of the day are gone from the re-pull
    product.materialize("sales_report", DAY)

    skus = {r["sku"] for r in current_rows(mongo.db(), "sales_report", DAY) if r["order-status"] != "Cancelled"}
    after = day_keys(mongo)
    assert after == skus and len(before) > len(after)


def test_an_empty_range_report_keeps_every_day_it_covers(product, spapi, mongo, airtable_resource):
    days = ("2026-11-10", "2026-11-12")
    product.materialize("sales_report", days=days)  # one report for the three days, split into days
    before = {d: current_rows(mongo.db(), "sales_report", d) for d in ("2026-11-10", "2026-11-11", "2026-11-12")}

    spapi.inject(report_type=ORDERS, cancelled=True)
    assert product.materialize("sales_report", days=days).success

    for day, rows in before.items():
        assert rows and current_rows(mongo.db(), "sales_report", day) == rows
        assert (
            record(airtable_resource, "sales_report", day)["Note"] == f"re-pull returned no data; kept {len(rows)} rows"
        )
