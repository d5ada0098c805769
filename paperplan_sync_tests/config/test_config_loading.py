"""Configuration from the local Airtable: typed rows, bad rows reported and skipped, cache fallback."""

from __future__ import annotations

import time

import pytest

from paperplan_sync.config.loader import load_config
from paperplan_sync.control_plane.schema import TABLE_AUTOMATIONS, TABLE_REPORT_TYPES


def test_demo_base_loads_every_report_type_and_automation(airtable_resource):
    config = load_config(airtable_resource)

    assert config.origin == "airtable" and not config.problems
    sales = config.report_type("sales_report")
    assert (sales.active, sales.offset_days, sales.repeat_days, sales.add_to_datapoints, sales.zone.hours) == (
        True,
        1,
        21,
        True,
        -7,
    )
    assert sales.report_type_id == "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
    assert config.report_type("fba_inventory").real_time
    assert not config.report_type("returns_report").active
    assert {a.run for a in config.automations} == {"Daily", "Weekly", "Interval"}
    daily = next(a for a in config.automations if a.name == "Daily reports")
    assert daily.report_types == ("sales_report", "sales_and_traffic", "ads_campaigns")


BAD_REPORT_TYPES = [
    (
        {"Name": "neg_offset", "Status": "Active", "Report Type Id": "X", "Offset": -1},
        "Offset",
        "greater than or equal to 0",
    ),
    ({"Name": "no_type_id", "Status": "Active"}, "Report Type Id", "at least 1 character"),
    ({"Name": "sales_report", "Status": "Active", "Report Type Id": "X"}, "Name", "duplicate report name"),
    ({"Name": "Bad Name!", "Status": "Active", "Report Type Id": "X"}, "Name", "should match pattern"),
    (
        {"Name": "bad_options", "Status": "Active", "Report Type Id": "X", "Report Options": "{nope"},
        "Report Options",
        "not valid JSON",
    ),
    (
        {"Name": "to_airtable", "Status": "Active", "Report Type Id": "X", "Destination": ["Airtable"]},
        "Airtable Table",
        "set Airtable Table",
    ),
]


def test_each_bad_report_type_row_is_reported_with_table_record_and_field_and_skipped(airtable_resource):
    table = airtable_resource.table(TABLE_REPORT_TYPES)
    created = {
        row["Name"]: table.create(row, typecast=True)["id"]
        for row, _, _ in BAD_REPORT_TYPES
        if row["Name"] != "sales_report"
    }
    duplicate_id = table.create(BAD_REPORT_TYPES[2][0])["id"]

    config = load_config(airtable_resource)

    problems = {p.record_id: p for p in config.problems}
    for row, field, message in BAD_REPORT_TYPES:
        record_id = duplicate_id if row["Name"] == "sales_report" else created[row["Name"]]
        problem = problems[record_id]
        assert (problem.table, problem.field) == (TABLE_REPORT_TYPES, field)
        assert message in problem.message
        assert record_id in str(problem) and field in str(problem)
    # The good rows still load, the first sales_report wins over its duplicate.
    assert {rt.name for rt in config.report_types} >= {"sales_report", "fba_inventory", "merchant_listings"}
    assert config.report_type("sales_report").record_id != duplicate_id


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"Name": "hourly", "Run": "Hourly", "Time": "06:00"}, "Run", "Daily, Weekly or Interval"),
        ({"Name": "late", "Run": "Daily", "Time": "25:00"}, "Time", "24h time HH:MM"),
        ({"Name": "sloppy", "Run": "Daily", "Time": "6pm"}, "Time", "24h time HH:MM"),
        ({"Name": "weekly", "Run": "Weekly", "Time": "07:00"}, "Weekday", "needs a Weekday"),
        ({"Name": "too_often", "Run": "Interval", "Time": "00:01"}, "Time", "at least 00:05"),
        ({"Name": "far_east", "Run": "Daily", "Time": "07:00", "Timezone": 15}, "Timezone", "less than or equal to 14"),
    ],
)
def test_a_bad_automation_row_is_reported_and_the_rest_keep_running(airtable_resource, fields, field, message):
    record = airtable_resource.table(TABLE_AUTOMATIONS).create(fields, typecast=True)

    config = load_config(airtable_resource)

    [problem] = config.problems
    assert (problem.table, problem.record_id, problem.field) == (TABLE_AUTOMATIONS, record["id"], field)
    assert message in problem.message
    assert len(config.automations) == 4  # the demo automations are untouched


def test_an_automation_linking_an_invalid_report_type_runs_the_valid_ones(airtable_resource):
    bad = airtable_resource.table(TABLE_REPORT_TYPES).create({"Name": "broken", "Status": "Active"})
    daily = airtable_resource.table(TABLE_AUTOMATIONS).first(formula="{Name}='Daily reports'")
    airtable_resource.table(TABLE_AUTOMATIONS).update(
        daily["id"], {"Report Types": daily["fields"]["Report Types"] + [bad["id"]]}
    )

    config = load_config(airtable_resource)

    automation = next(a for a in config.automations if a.name == "Daily reports")
    assert automation.report_types == ("sales_report", "sales_and_traffic", "ads_campaigns")
    assert any(
        p.table == TABLE_AUTOMATIONS and p.field == "Report Types" and bad["id"] in p.message for p in config.problems
    )


def test_airtable_down_falls_back_to_the_last_good_configuration(airtable, airtable_resource):
    good = load_config(airtable_resource)
    airtable.inject(status=503, count=100)

    started = time.monotonic()
    config = load_config(airtable_resource)

    assert config.origin == "cache" and "503" in config.unavailable_reason
    assert [rt.name for rt in config.report_types] == [rt.name for rt in good.report_types]
    assert config.fetched_at == good.fetched_at
    assert time.monotonic() - started < 10  # loading never waits out long retries


def test_rate_limited_airtable_falls_back_to_the_cache_quickly(airtable, airtable_resource):
    load_config(airtable_resource)
    airtable.inject(status=429, count=100)

    config = load_config(airtable_resource)

    assert config.origin == "cache"


def test_no_cache_and_airtable_down_loads_an_empty_configuration_that_says_why(airtable, airtable_resource):
    airtable.inject(status=503, count=100)

    config = load_config(airtable_resource)

    assert config.origin == "none" and not config.report_types
    assert "503" in config.unavailable_reason


def test_wrong_api_key_is_reported_not_crashed(airtable, airtable_resource):
    config = load_config(airtable_resource.model_copy(update={"api_key": "patWrong"}))

    assert config.origin == "none" and "401" in config.unavailable_reason
