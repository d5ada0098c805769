"""The Timezone fields hold an IANA name or hours from GMT; an older base whose Timezone is a number field keeps
working, and init-airtable says how to make it text. A bad value is a problem naming the field, with an example."""

from __future__ import annotations

import pytest

from paperplan_sync.config.loader import load_config
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.bootstrap import bootstrap_base, seed_demo_rows
from paperplan_sync.control_plane.schema import TABLE_AUTOMATIONS, TABLE_REPORT_TYPES


def record_id(airtable: AirtableResource, table: str, name: str) -> str:
    return airtable.table(table).first(formula=f"{{Name}}='{name}'")["id"]


def test_names_and_hours_typed_into_the_text_fields(airtable_resource):
    airtable_resource.table(TABLE_REPORT_TYPES).update(
        record_id(airtable_resource, TABLE_REPORT_TYPES, "sales_report"), {"Timezone": "America/Los_Angeles"}
    )
    airtable_resource.table(TABLE_AUTOMATIONS).update(
        record_id(airtable_resource, TABLE_AUTOMATIONS, "Daily reports"), {"Timezone": "Europe/Berlin"}
    )

    config = load_config(airtable_resource)

    assert not config.problems
    assert config.report_type("sales_report").zone.name == "America/Los_Angeles"
    assert config.report_type("fba_inventory").zone.hours == -7  # the demo rows keep "-7"
    daily = next(a for a in config.automations if a.name == "Daily reports")
    assert (daily.zone.name, daily.zone.hours) == ("Europe/Berlin", None)


@pytest.mark.parametrize(
    ("table", "name", "value", "says"),
    [
        (TABLE_REPORT_TYPES, "sales_report", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        (TABLE_REPORT_TYPES, "sales_report", "+15", "less than or equal to 14 (got 15)"),
        (TABLE_REPORT_TYPES, "sales_report", "5.5", "whole hours"),  # a daily partition needs a named zone
        (TABLE_AUTOMATIONS, "Daily reports", "Mars/Olympus", "unknown time zone 'Mars/Olympus'"),
        (TABLE_AUTOMATIONS, "Daily reports", "minus seven", "unknown time zone 'minus seven'"),
    ],
)
def test_a_bad_timezone_is_a_problem_that_shows_a_valid_value(airtable_resource, table, name, value, says):
    rid = record_id(airtable_resource, table, name)
    airtable_resource.table(table).update(rid, {"Timezone": value})

    config = load_config(airtable_resource)

    problems = [p for p in config.problems if p.record_id == rid]
    assert [(p.table, p.field) for p in problems] == [(table, "Timezone")]
    text = str(problems[0])
    assert says in text and "such as America/Los_Angeles" in text and "such as -7" in text, text
    assert len(text) < 300  # what Logs and Slack show stays readable


def test_an_automation_may_sit_at_a_fractional_offset(airtable_resource):
    rid = record_id(airtable_resource, TABLE_AUTOMATIONS, "Daily reports")
    airtable_resource.table(TABLE_AUTOMATIONS).update(rid, {"Timezone": "5.5"})

    daily = next(a for a in load_config(airtable_resource).automations if a.record_id == rid)

    assert daily.zone.hours == 5.5 and daily.zone.label == "GMT+5.5"


def test_an_older_base_with_a_number_timezone_keeps_working_and_is_told_how_to_change_it(start_airtable_server):
    with start_airtable_server(seed=False, rate_limit_per_s=0) as server:
        airtable = AirtableResource(
            api_key=server.api_key, base_id=server.base_id, endpoint_url=server.url, requests_per_second=200
        )
        base = airtable.api.base(airtable.base_id)
        number = {"name": "Timezone", "type": "number", "options": {"precision": 1}}
        base.create_table(TABLE_REPORT_TYPES, [{"name": "Name", "type": "singleLineText"}, number])

        changes = bootstrap_base(airtable)
        seed_demo_rows(airtable)  # the demo rows' "-7" goes into the number field as -7

        (manual,) = [c for c in changes if c.what == "type (manual)"]
        assert manual.table == TABLE_REPORT_TYPES
        assert manual.detail.startswith("Timezone is Number (number), expected Single line text (singleLineText)")
        assert "Edit field, set its type to Single line text" in manual.detail
        sales = airtable.table(TABLE_REPORT_TYPES).first(formula="{Name}='sales_report'")
        assert sales["fields"]["Timezone"] == -7  # the API answers a number
        config = load_config(airtable)
        assert not config.problems and config.report_type("sales_report").zone.hours == -7
