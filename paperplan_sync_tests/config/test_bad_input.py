"""Bad input from the base gets one clear message and changes nothing else: names with quotes, braces or a
formula, a huge Report Options value, Time 25:00, Timezone +15, a link to a deleted report type, a field
renamed in the base. Against the local Airtable, through the product's own loader and scheduler tick."""

from __future__ import annotations

import json

import dagster as dg
import pytest
import requests

from paperplan_sync.config.loader import load_config
from paperplan_sync.control_plane.schema import TABLE_AUTOMATIONS, TABLE_REPORT_TYPES
from paperplan_sync.ops.doctor import schema_differences
from paperplan_sync.reports.factory import build_report_jobs
from paperplan_sync.scheduling.plan import automation_summary, config_changes
from paperplan_sync.scheduling.scheduler import build_scheduler_sensor
from paperplan_sync.storage import logs

INJECTIONS = ["x' OR TRUE() OR '", "{Name}", 'a "quoted" }{ name', "=SUM({Fail})"]


def record_id(airtable, table: str, name: str) -> str:
    return next(r["id"] for r in airtable.table(table).all() if r["fields"].get("Name") == name)


def tick(airtable_resource, mongo, slack, cursor: str | None = None):
    config = load_config(airtable_resource)
    sensor = build_scheduler_sensor(config, build_report_jobs(config))
    resources = {"airtable": airtable_resource, "mongo": mongo, "slack": slack.resource()}
    with dg.instance_for_test() as instance:
        return sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))


@pytest.mark.slow
def test_an_automation_named_like_a_formula_is_only_a_name(airtable, airtable_resource, mongo, slack):
    name = " ".join(INJECTIONS)  # every trick at once: one scheduler tick pair is slow enough
    first = tick(airtable_resource, mongo, slack)
    airtable.table(TABLE_AUTOMATIONS).update(record_id(airtable, TABLE_AUTOMATIONS, "Weekly listings"), {"Name": name})

    tick(airtable_resource, mongo, slack, first.cursor)

    config = load_config(airtable_resource)
    assert name in {a.name for a in config.automations} and not config.problems
    summaries = [d["fields"]["Summary"] for d in mongo.db()[logs.LOGS].find({"fields.Event": "config change"})]
    assert summaries == [f"Automation '{name}' changed: Name Weekly listings -> {name}"]  # as typed, no more
    assert len(load_config(airtable_resource).report_types) == len(config.report_types)  # nothing else moved


@pytest.mark.parametrize("name", INJECTIONS)
def test_a_report_type_named_like_a_formula_is_refused_and_the_others_run(airtable, airtable_resource, name):
    airtable.table(TABLE_REPORT_TYPES).create({"Name": name, "Status": "Active", "Report Type Id": "X"})

    config = load_config(airtable_resource)

    (problem,) = config.problems
    assert (problem.table, problem.field) == (TABLE_REPORT_TYPES, "Name") and "should match pattern" in problem.message
    assert "sales_report" in {rt.name for rt in config.active_report_types}


def test_a_megabyte_of_report_options_is_refused_by_airtable_and_a_long_one_by_the_product(airtable, airtable_resource):
    table = airtable.table(TABLE_REPORT_TYPES)
    sales = record_id(airtable, TABLE_REPORT_TYPES, "sales_report")
    answer = requests.patch(
        f"{airtable.url}/v0/{airtable.base_id}/{TABLE_REPORT_TYPES}/{sales}",
        json={"fields": {"Report Options": "x=" + "y" * 1_000_000}},
        headers={"Authorization": f"Bearer {airtable.api_key}"},
        timeout=30,
    )
    assert answer.status_code == 422 and "at most 100,000" in answer.json()["error"]["message"]
    table.update(sales, {"Report Options": "x=" + "y" * 50_000})

    config = load_config(airtable_resource)

    problem, linked = config.problems  # the row, and the automation that now runs the others without it
    assert (linked.table, linked.field) == (TABLE_AUTOMATIONS, "Report Types") and "runs the others" in linked.message
    assert problem.field == "Report Options" and "50,002 characters long, at most 10,000" in problem.message
    assert len(str(problem)) < 300  # what Logs and Slack show stays readable
    assert "sales_report" not in {rt.name for rt in config.report_types}
    assert "fba_inventory" in {rt.name for rt in config.report_types}


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"Time": "25:00"}, "Time", "must be a 24h time HH:MM such as 06:30, got '25:00'"),
        ({"Timezone": 15}, "Timezone", "less than or equal to 14 (got 15)"),
        ({"Timezone": "+15"}, "Timezone", "less than or equal to 14 (got 15)"),
    ],
)
def test_an_impossible_time_or_timezone_names_its_field_and_the_other_automations_run(
    airtable, airtable_resource, fields, field, message
):
    daily = record_id(airtable, TABLE_AUTOMATIONS, "Daily reports")
    airtable.table(TABLE_AUTOMATIONS).update(daily, fields, typecast=True)

    config = load_config(airtable_resource)

    (problem,) = config.problems
    assert (problem.table, problem.record_id, problem.field) == (TABLE_AUTOMATIONS, daily, field)
    assert message in problem.message
    assert {a.name for a in config.automations} == {"Weekly listings", "Inventory every 2 hours", "Returns (paused)"}


def test_a_deleted_report_type_leaves_its_automations_running_the_others(airtable, airtable_resource):
    before = {a.record_id: automation_summary(a) for a in load_config(airtable_resource).automations}
    airtable.table(TABLE_REPORT_TYPES).delete(record_id(airtable, TABLE_REPORT_TYPES, "sales_and_traffic"))

    config = load_config(airtable_resource)

    assert not config.problems  # Airtable removes the links to a deleted record
    daily = next(a for a in config.automations if a.name == "Daily reports")
    assert daily.report_types == ("sales_report", "ads_campaigns")
    (line,) = config_changes(before, {a.record_id: automation_summary(a) for a in config.automations})
    assert line == (
        "Automation 'Daily reports' changed: Report Types sales_report, sales_and_traffic, ads_campaigns -> "
        "sales_report, ads_campaigns"
    )


def test_a_field_renamed_in_the_base_keeps_the_last_good_table_and_says_so_once(airtable, airtable_resource):
    good = load_config(airtable_resource)
    base = airtable.api().base(airtable.base_id)
    automations = next(t for t in base.schema().tables if t.name == TABLE_AUTOMATIONS)
    time_field = next(f for f in automations.fields if f.name == "Time")
    answer = requests.patch(
        f"{airtable.url}/v0/meta/bases/{airtable.base_id}/tables/{automations.id}/fields/{time_field.id}",
        json={"name": "Start time"},
        headers={"Authorization": f"Bearer {airtable.api_key}"},
        timeout=10,
    )
    answer.raise_for_status()

    config = load_config(airtable_resource)

    (problem,) = config.problems
    assert (problem.table, problem.field) == (TABLE_AUTOMATIONS, "Time")
    assert "renamed or deleted in the base" in problem.message and "copy read at" in problem.message
    assert config.automations == good.automations  # the schedules keep running as they were
    assert "Automations.Time missing" in schema_differences(airtable_resource)
    assert json.loads(config.snapshot_json)["tables"][TABLE_AUTOMATIONS][0]["fields"].get("Time")
