"""Days that load but are wrong, end to end in process: the SP-API stand-in answers with a fraction of the
rows, a renamed column or a marketplace missing; the checks catch each with its message in the asset check,
the Reports record's Check field and Slack; a clean month raises nothing."""

from __future__ import annotations

import re

import pytest

from paperplan_sync.control_plane.schema import TABLE_REPORTS

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
HISTORY = ("2026-10-10", "2026-11-13")  # 5 weeks: the same weekday 1..4 weeks back is stored for DAY
DAY = "2026-11-14"  # the stand-in's clock is 2026-11-20 in tests
US_AND_CANADA = "ATVPDKIKX0DER,A2EUQ1WTGCTBG2"
# Reconciliation knows GET_SALES_AND_TRAFFIC_REPORT: the demo's inactive Reports-API row (its active
# sales_and_traffic comes from Data Kiosk).
REPORTS_API_TRAFFIC = "sales_and_traffic_reports_api"


def check_field(airtable_resource, name: str, day: str) -> str:
    [record] = airtable_resource.table(TABLE_REPORTS).all(
        formula=f"AND({{Report Type}}='{name}', {{Date}}=DATETIME_PARSE('{day}'))"
    )
    return record["fields"].get("Check", "")


def evaluations(result, day: str | None = None) -> dict[str, object]:
    return {e.check_name: e for e in result.get_asset_check_evaluations() if day is None or e.partition == day}


def failed(result) -> list[tuple[str | None, str, str | None]]:
    return [(e.partition, e.check_name, e.description) for e in result.get_asset_check_evaluations() if not e.passed]


@pytest.fixture
def with_history(product):
    assert not failed(product.materialize("sales_report", days=HISTORY))
    return product


@pytest.mark.slow  # weeks of history loaded first (Dagster runs of many partitions)
def test_a_clean_month_of_demo_data_raises_no_check(with_history, slack, airtable_resource):
    product = with_history
    sales = product.materialize("sales_report", DAY)
    traffic = product.materialize(REPORTS_API_TRAFFIC, days=("2026-11-12", DAY))

    assert not failed(sales) and not failed(traffic)
    assert evaluations(sales, DAY)["volume"].description is None  # judged, not skipped: 4 weeks are stored
    reconciled = evaluations(traffic, DAY)["reconciliation"]
    assert reconciled.passed and reconciled.description is None  # both reports compared, within tolerance
    assert reconciled.metadata["order_report_units"].value == reconciled.metadata["sales_and_traffic_units"].value
    assert check_field(airtable_resource, "sales_report", DAY) == "OK"
    assert check_field(airtable_resource, "sales_report", "2026-10-20") == "OK"
    assert slack.messages() == []


@pytest.mark.slow  # weeks of history loaded first (Dagster runs of many partitions)
def test_a_day_with_a_fraction_of_its_rows_warns_then_fails_and_alerts_once(
    with_history, spapi, slack, airtable_resource
):
    product = with_history
    spapi.inject(report_type=ORDERS, keep_fraction=0.4, fault_days=[DAY])
    warned = product.materialize("sales_report", DAY)
    [(_, check, text)] = failed(warned)
    assert check == "volume" and re.fullmatch(r"\d+ rows, usually \d+–\d+", text)
    assert check_field(airtable_resource, "sales_report", DAY).startswith("Warning: volume: ")
    assert slack.messages() == []  # a warning is for the Reports table, not for Slack

    spapi.clear_faults()
    spapi.inject(report_type=ORDERS, keep_fraction=0.1, fault_days=[DAY])
    result = product.materialize("sales_report", DAY)
    product.materialize("sales_report", DAY)  # the same failure again: no second message
    checks = evaluations(result, DAY)
    usual = text.split(" rows")[1]  # the same weeks of history as before: ", usually A–B"

    volume, shrink = checks["volume"], checks["repull_shrink"]
    assert not volume.passed and volume.severity.value == "ERROR" and volume.description.endswith(usual)
    assert not shrink.passed and shrink.metadata["vanished"].value > 0  # what the re-pull lost, with examples
    assert len(shrink.metadata["examples"].value) == 10
    rows = volume.metadata["rows"].value
    assert check_field(airtable_resource, "sales_report", DAY).startswith(f"Failed: volume: {rows} rows, usually")
    [message] = [m["text"] for m in slack.messages()]
    assert message.startswith(f"sales_report {DAY}: {rows} rows{usual}; re-pull returned {rows} rows, ")


def test_a_renamed_column_is_caught_without_any_history(product, spapi, slack, airtable_resource):
    spapi.inject(report_type=ORDERS, rename_columns={"item-price": "item_price"})

    result = product.materialize("sales_report", DAY)

    assert result.success  # the load stands: a check never blocks it
    completeness = evaluations(result, DAY)["completeness"]
    assert not completeness.passed and completeness.description == "column item-price missing (new: item_price)"
    assert check_field(airtable_resource, "sales_report", DAY) == (
        "Failed: completeness: column item-price missing (new: item_price)"
    )
    assert [m["text"] for m in slack.messages()] == [f"sales_report {DAY}: column item-price missing (new: item_price)"]


def test_a_marketplace_that_drops_out_is_caught(product, spapi, slack, airtable_resource):
    product.resources["amazon_sp"] = spapi.resource(marketplace_ids=US_AND_CANADA)
    assert not failed(product.materialize("sales_report", days=("2026-11-07", "2026-11-13")))
    spapi.inject(report_type=ORDERS, drop_marketplaces=["A2EUQ1WTGCTBG2"], fault_days=[DAY])

    result = product.materialize("sales_report", DAY)

    completeness = evaluations(result, DAY)["completeness"]
    assert not completeness.passed and completeness.description == "marketplace Amazon.ca absent"
    assert check_field(airtable_resource, "sales_report", DAY) == "Failed: completeness: marketplace Amazon.ca absent"
    assert [m["text"] for m in slack.messages()] == [f"sales_report {DAY}: marketplace Amazon.ca absent"]


def test_an_order_report_short_of_sales_and_traffic_fails_reconciliation_naming_both(product, spapi, slack):
    assert not failed(product.materialize(REPORTS_API_TRAFFIC, DAY))
    spapi.inject(report_type=ORDERS, keep_fraction=0.7)

    result = product.materialize("sales_report", DAY)

    recon = evaluations(result, DAY)["reconciliation"]
    meta = {k: v.value for k, v in recon.metadata.items()}
    assert not recon.passed and meta["order_report_revenue"] < 0.85 * meta["sales_and_traffic_revenue"]
    assert f"order report {meta['order_report_revenue']:,.2f} USD" in recon.description
    assert f"Sales & Traffic {meta['sales_and_traffic_revenue']:,.2f} USD" in recon.description
    assert len(slack.messages()) == 1


def test_without_notify_on_fail_a_failed_check_shows_in_reports_only(product, spapi, slack, airtable_resource):
    table = airtable_resource.table("Report Types")
    [rt] = table.all(formula="{Name}='sales_report'")
    table.update(rt["id"], {"Notify On Fail": False})
    product.reload_config()
    spapi.inject(report_type=ORDERS, rename_columns={"sku": "seller-sku"})

    product.materialize("sales_report", DAY)

    assert check_field(airtable_resource, "sales_report", DAY).startswith("Failed: completeness: column sku missing")
    assert slack.messages() == []


def test_each_day_carries_its_figures_for_the_plots(product):
    one = product.materialize("sales_report", DAY)
    several = product.materialize("sales_report", days=("2026-11-10", "2026-11-12"))

    [materialization] = one.asset_materializations_for_node("amazon_sp__sales_report")
    assert {"day_rows", "day_revenue", "day_units"} <= set(materialization.metadata)
    observed = several.asset_observations_for_node("amazon_sp__sales_report")
    assert sorted(o.partition for o in observed) == ["2026-11-10", "2026-11-11", "2026-11-12"]
    assert all(o.metadata["day_revenue"].value > 0 for o in observed)
    per_day = {e.partition for e in several.get_asset_check_evaluations() if e.check_name == "volume"}
    assert {"2026-11-10", "2026-11-11", "2026-11-12"} <= per_day  # the Checks tab shows each partition
