"""The local Airtable's monthly call quota, per-endpoint request counts and the empty-key upsert."""

from __future__ import annotations

import time

import httpx
import pytest
import requests
from pyairtable import Table

from paperplan_local.up import _stand_in_argv
from paperplan_sync_tests.fixtures.airtable import LocalAirtable

BILLING = "PUBLIC_API_BILLING_LIMIT_EXCEEDED"


def get(airtable: LocalAirtable, path: str) -> httpx.Response:
    return httpx.get(
        f"{airtable.url}/v0/{airtable.base_id}/{path}", headers={"Authorization": f"Bearer {airtable.api_key}"}
    )


def test_past_the_monthly_quota_calls_slow_to_two_a_second(start_airtable_server):
    airtable = start_airtable_server(rate_limit_per_s=0, monthly_quota=3)
    assert [get(airtable, "Automations").status_code for _ in range(3)] == [200] * 3
    burst = [get(airtable, "Automations") for _ in range(5)]
    refused = [r for r in burst if r.status_code == 429]
    assert 1 <= 5 - len(refused) <= 2  # the bucket holds 2 calls
    assert refused[0].json() == {
        "errors": [
            {
                "error": BILLING,
                "message": (
                    "API billing plan limit exceeded. "
                    "You've reached the maximum number of requests allowed for this month."
                ),
            }
        ]
    }
    time.sleep(0.6)
    assert get(airtable, "Automations").status_code == 200  # 2 a second still get through

    stats = airtable.stats()
    assert stats["month"]["cap"] == 3 and stats["month"]["over_cap"] is True
    assert stats["month"]["calls"] == 3 + (5 - len(refused)) + 1
    assert stats["quota_limited"] == len(refused) == stats["responses_429"]


def test_a_zero_over_quota_rate_refuses_every_call(start_airtable_server):
    airtable = start_airtable_server(rate_limit_per_s=0, monthly_quota=1, over_quota_rate_per_s=0)
    assert get(airtable, "Logs").status_code == 200
    time.sleep(0.6)
    assert [get(airtable, "Logs").status_code for _ in range(3)] == [429] * 3


def test_the_count_starts_again_next_month(start_airtable_server):
    airtable = start_airtable_server(rate_limit_per_s=0, monthly_quota=1, over_quota_rate_per_s=0)
    get(airtable, "Logs")
    assert get(airtable, "Logs").status_code == 429
    first_month = airtable.stats()["month"]["month"]
    airtable.advance_clock(32 * 24 * 3600)
    assert get(airtable, "Logs").status_code == 200
    month = airtable.stats()["month"]
    assert month["month"] != first_month and month["calls"] == 1


def test_the_months_count_survives_a_restart(start_airtable_server, tmp_path):
    first = start_airtable_server(state_dir=tmp_path, rate_limit_per_s=0)
    for _ in range(4):
        get(first, "Report Types")
    first.stop()
    second = start_airtable_server(state_dir=tmp_path, rate_limit_per_s=0, monthly_quota=10)
    assert second.stats()["month"]["calls"] == 4


def test_stats_count_requests_by_endpoint(airtable: LocalAirtable):
    airtable.table("Report Types").all()
    reports = airtable.table("Reports")
    record = reports.create({"Name": "r1"})
    reports.update(record["id"], {"Name": "r2"})
    reports.batch_update([{"id": record["id"], "fields": {"Name": "r3"}}])
    base = airtable.api().base(airtable.base_id)
    base.schema()
    hook = base.add_webhook(None, {"options": {"filters": {"dataTypes": ["tableData"]}}})
    list(base.webhook(hook.id).payloads())
    airtable.inject(status=429, count=1)
    with pytest.raises(requests.HTTPError, match="429"):
        airtable.table("Logs", retry_strategy=None).all()

    stats = airtable.stats()
    by = stats["by_endpoint"]
    assert by["GET Report Types"] == 1
    assert by["POST Reports"] == 1 and by["PATCH Reports/record"] == 1 and by["PATCH Reports"] == 1
    assert by["GET meta/tables"] == 1 and by["POST webhooks"] == 1 and by["GET webhooks/payloads"] == 1
    assert by["GET webhooks"] >= 1 and by["GET Logs"] == 1
    assert stats["requests"] == sum(by.values())
    assert stats["responses_429"] == 1 and stats["month"] == {**stats["month"], "cap": None, "over_cap": False}
    assert stats["month"]["calls"] == stats["requests"] - 1  # the injected 429 was never served

    cleared = airtable.clear_stats()
    assert cleared["requests"] == 0 and cleared["by_endpoint"] == {} and cleared["month"]["calls"] > 0


def test_an_upsert_with_an_empty_merge_key_creates_a_record(airtable: LocalAirtable):
    reports: Table = airtable.table("Reports")
    before = len(reports.all())
    first = reports.batch_upsert([{"fields": {"Name": "", "Report Type": "sales"}}], key_fields=["Name"])
    second = reports.batch_upsert([{"fields": {"Name": None, "Report Type": "sales"}}], key_fields=["Name"])
    assert len(first["createdRecords"]) == 1 and len(second["createdRecords"]) == 1
    assert len(reports.all()) == before + 2
    absent = httpx.patch(
        f"{airtable.url}/v0/{airtable.base_id}/Reports",
        headers={"Authorization": f"Bearer {airtable.api_key}"},
        json={"performUpsert": {"fieldsToMergeOn": ["Name"]}, "records": [{"fields": {"Report Type": "x"}}]},
    )
    assert absent.status_code == 422  # a merge key left out altogether is refused


def test_local_up_passes_the_monthly_quota_to_the_airtable_stand_in(tmp_path):
    argv = _stand_in_argv("airtable", 5010, tmp_path, airtable_monthly_quota=100000)
    assert argv[argv.index("--monthly-quota") + 1] == "100000"
    assert "--monthly-quota" not in _stand_in_argv("airtable", 5010, tmp_path)
    assert "--monthly-quota" not in _stand_in_argv("slack", 5011, tmp_path, airtable_monthly_quota=5)
