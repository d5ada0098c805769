"""A write Airtable keeps refusing is set aside after 5 refusals: announced once (Slack + Logs), listed by
`doctor`, and the writes behind it keep flowing."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import dagster as dg
import pytest

from paperplan_sync.alerting.alerts import build_alert_sensors
from paperplan_sync.config.models import SyncConfig
from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.schema import TABLE_LOGS, TABLE_REPORTS
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.ops.doctor import run_doctor
from paperplan_sync.storage import outbox


@pytest.mark.slow
def test_a_refused_write_is_set_aside_after_five_refusals_and_announced_once(mongo, airtable_resource, slack):
    db = mongo.db()
    writer = AirtableWriter(db, airtable_resource)
    bad = records.report_failure(
        report_name="sales_report", report_date="2026-11-20", real_time=False, reason="x", run_url=None
    )
    writer.upsert(TABLE_REPORTS, {**bad, "Colour": "red"}, records.REPORT_KEY_FIELDS)  # a field renamed in Airtable
    writer.log(records.log_record("behind the refused write"))

    now = datetime.now(UTC)
    results = [writer.flush(now=now + timedelta(hours=2 * n)) for n in range(5)]  # each past the last backoff
    assert [r.dead for r in results] == [0, 0, 0, 0, 1]
    summaries = [r["fields"]["Summary"] for r in airtable_resource.table(TABLE_LOGS).all()]
    assert "behind the refused write" in summaries  # sent on the first flush, alone, while the bad one waits
    [dead] = outbox.dead_letters(db)
    assert dead["attempts"] == 5 and "UNKNOWN_FIELD_NAME" in dead["last_error"]
    assert writer.flush(now=now + timedelta(days=1)).failed == 0  # set aside: not sent again

    sensor = next(s for s in build_alert_sensors(SyncConfig()) if s.name == "airtable_outbox")
    resources = {"airtable": airtable_resource, "mongo": mongo, "slack": slack.resource()}
    with dg.instance_for_test() as instance:
        for _ in range(2):
            sensor(dg.build_sensor_context(instance=instance, resources=resources))
    [message] = [m["text"] for m in slack.messages()]
    assert message.startswith("Airtable refused a write to Reports 5 times; it is set aside (field Colour: 422: ")
    assert "UNKNOWN_FIELD_NAME" in message
    logged = [
        r["fields"] for r in airtable_resource.table(TABLE_LOGS).all() if r["fields"].get("Event") == "write set aside"
    ]
    assert [f["Summary"] for f in logged] == [message[:250]]

    doctor = {f.name: f for f in run_doctor({"mongo": mongo})}["Airtable dead letters"]
    assert not doctor.ok and "1 Airtable write(s) set aside: Reports (Colour)" in doctor.detail


def test_one_refused_record_does_not_hold_back_the_others_of_its_request(mongo, airtable_resource):
    writer = AirtableWriter(mongo.db(), airtable_resource)
    for day in ("2026-11-18", "2026-11-19", "2026-11-20"):
        fields = records.report_failure(
            report_name="sales_report", report_date=day, real_time=False, reason="x", run_url=None
        )
        writer.report({**fields, "Colour": "red"} if day == "2026-11-19" else fields)
    result = writer.flush()
    assert (result.sent, result.failed) == (2, 1)
    days = sorted(r["fields"]["Date"] for r in airtable_resource.table(TABLE_REPORTS).all())
    assert days == ["2026-11-18", "2026-11-20"]
