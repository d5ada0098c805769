"""Airtable's Logs table keeps the last N days; MongoDB keeps the whole history; a check with nothing to
prune costs no Airtable call."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import requests

from paperplan_sync.control_plane.records import log_record
from paperplan_sync.control_plane.retention import prune_logs
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.storage import logs


def airtable_calls(airtable) -> int:
    return requests.get(f"{airtable.url}/_test/stats", timeout=5).json()["requests"]


def test_old_logs_leave_airtable_10_a_request_and_stay_in_mongodb(airtable, airtable_resource, mongo):
    now = datetime.now(UTC)
    db = mongo.db()
    writer = AirtableWriter(db, airtable_resource)
    for age_days in (45, 40, 35, 31, 2, 1):
        fields = log_record(f"written {age_days} days ago", now=now - timedelta(days=age_days))
        writer.log(fields)
        db[logs.LOGS].update_one(
            {"fields.Summary": fields["Summary"]}, {"$set": {"at": now - timedelta(days=age_days)}}
        )
    writer.flush()
    table = airtable_resource.table("Logs")
    before = len(table.all())

    assert prune_logs(airtable_resource, db, keep_days=30, now=now) == 4

    left = [r["fields"]["Summary"] for r in table.all()]
    assert len(left) == before - 4 and "written 2 days ago" in left and "written 31 days ago" not in left
    assert db[logs.LOGS].count_documents({}) == 6  # the whole history

    calls = airtable_calls(airtable)
    assert prune_logs(airtable_resource, db, keep_days=30, now=now + timedelta(hours=6)) == 0
    assert airtable_calls(airtable) == calls  # nothing aged out since: no call
