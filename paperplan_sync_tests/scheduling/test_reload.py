"""Report Types edits reload the code location: every field that shapes assets or sensors counts, and a
reload request that failed is asked again at the next tick."""

from __future__ import annotations

import dataclasses

import dagster as dg
import pytest

from paperplan_local.runner import free_port
from paperplan_sync.config.loader import load_config
from paperplan_sync.reports.factory import build_report_jobs
from paperplan_sync.scheduling.scheduler import asset_signature, build_scheduler_sensor
from paperplan_sync.storage import logs


@pytest.mark.parametrize(
    "change",
    [
        {"notify_on_fail": False},
        {"add_to_datapoints": False},
        {"destinations": ("MongoDB", "Airtable")},
        {"report_options": {"x": "1"}},
        {"offset_days": 2},
        {"description": "new"},
    ],
)
def test_every_report_type_field_counts_as_a_change(airtable_resource, change):
    config = load_config(airtable_resource)
    sales = config.report_type("sales_report")
    edited = dataclasses.replace(
        config, report_types=tuple(sales.model_copy(update=change) if rt is sales else rt for rt in config.report_types)
    )

    assert asset_signature(edited) != asset_signature(config)


@pytest.mark.slow
def test_a_failed_reload_request_is_asked_again_at_the_next_tick(airtable, airtable_resource, mongo, slack):
    loaded = load_config(airtable_resource)
    sensor = build_scheduler_sensor(loaded, build_report_jobs(loaded))
    record = airtable.table("Report Types").first(formula="{Name}='sales_report'")
    airtable.client_edit(
        "Report Types", "update", record_id=record["id"], fields={"Notify On Fail": False}
    ).raise_for_status()
    no_webserver = slack.resource(webserver_url=f"http://127.0.0.1:{free_port()}")
    resources = {"airtable": airtable_resource, "mongo": mongo, "slack": no_webserver}

    cursor = None
    with dg.instance_for_test() as instance:
        for _ in range(2):
            result = sensor(dg.build_sensor_context(instance=instance, cursor=cursor, resources=resources))
            cursor = result.cursor

    asked = [
        d["fields"]["Summary"]
        for d in mongo.db()[logs.LOGS].find({"fields.Summary": {"$regex": "^Report Types changed"}})
    ]
    assert len(asked) == 2 and all("reload request failed" in s for s in asked)
