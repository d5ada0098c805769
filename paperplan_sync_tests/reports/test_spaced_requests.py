"""Sales and Traffic through the Reports API (the demo's inactive ``sales_and_traffic_reports_api`` row) under
Amazon's one-createReport-per-15-minutes rule (scaled: 0.9 s at the tests' 1000x): a daily fire of its four
days never fails, stores every day, asks the newest day first and never asks Amazon early."""

from __future__ import annotations

import time

import httpx
import pytest

from paperplan_sync.sources.amazon_sp import reset_buckets
from paperplan_sync.sources.amazon_sp.catalog import SALES_AND_TRAFFIC
from paperplan_sync.sources.base import ReportRequest
from paperplan_sync.storage.rows import current_rows
from paperplan_sync_tests.fixtures.spapi import SPAPI_TEST_SCALE

pytestmark = pytest.mark.slow  # Dagster runs that wait out Amazon's request spacing

FIRE = ("2026-11-14", "2026-11-17")  # a daily fire: the target day (Offset 3) and its 3 re-pull days
DAYS = ["2026-11-14", "2026-11-15", "2026-11-16", "2026-11-17"]
SPACING_S = 900 / SPAPI_TEST_SCALE
REPORTS_API = "sales_and_traffic_reports_api"  # inactive in the demo base; an asset can still be built from it


def stored_days(product) -> dict[str, int]:
    db = product.resources["mongo"].db()
    return {day: len(list(current_rows(db, REPORTS_API, day))) for day in DAYS}


def requested_days(spapi) -> list[str]:
    """The days of the stand-in's Sales and Traffic reports, in the order they were requested."""
    reports = list(spapi.resource().iter_reports([SALES_AND_TRAFFIC]))  # newest first
    return [r["dataStartTime"][:10] for r in reversed(reports)]


def test_a_daily_fire_waits_its_turn_and_stores_every_day(product, spapi, mongo):
    started = time.monotonic()
    assert product.materialize(REPORTS_API, days=FIRE).success
    elapsed = time.monotonic() - started

    stats = spapi.stats()
    assert stats["create_calls"] == {SALES_AND_TRAFFIC: 4}
    assert stats.get("throttled_types", {}) == {}  # the client waited; Amazon never had to refuse
    assert elapsed >= 3 * SPACING_S * 0.95
    rows = stored_days(product)
    assert all(rows[day] > 0 for day in DAYS), rows
    points = {p["date"] for p in mongo.db()["datapoints"].find({"report": REPORTS_API})}
    assert points == set(DAYS)  # per-ASIN datapoints for each day, from its own report
    # The newest day (no data yet) is requested first, the re-pulls after it.
    assert requested_days(spapi)[0] == "2026-11-17"
    assert sorted(requested_days(spapi), reverse=True) == requested_days(spapi)


def test_a_turn_taken_by_another_process_of_the_product_is_waited_for_not_refused(product, spapi):
    # A backfill (another process, its own client) requested Sales and Traffic a moment ago.
    spapi.resource().request_report(ReportRequest(SALES_AND_TRAFFIC, None))
    reset_buckets()  # nothing in this process's memory knows: the shared state does
    spapi.reset_stats()
    started = time.monotonic()

    assert product.materialize(REPORTS_API, days=FIRE).success

    assert time.monotonic() - started >= 4 * SPACING_S * 0.95
    stats = spapi.stats()
    assert stats.get("throttled_types", {}) == {}
    assert stats["create_calls"] == {SALES_AND_TRAFFIC: 4}
    assert all(n > 0 for n in stored_days(product).values())


def test_a_turn_taken_outside_the_product_costs_one_refusal_and_the_advertised_wait(product, spapi):
    body = {"reportType": SALES_AND_TRAFFIC, "marketplaceIds": ["ATVPDKIKX0DER"]}
    assert (
        httpx.post(
            f"{spapi.url}/reports/2021-06-30/reports", json=body, headers={"x-amz-access-token": spapi.access_token()}
        ).status_code
        == 202
    )
    spapi.reset_stats()

    assert product.materialize(REPORTS_API, days=FIRE).success

    stats = spapi.stats()
    assert stats["throttled_types"] == {SALES_AND_TRAFFIC: 1}  # refused once, then 1/rate later: no hammering
    assert stats["create_calls"] == {SALES_AND_TRAFFIC: 4}
    assert all(n > 0 for n in stored_days(product).values())


def test_backfill_runs_of_it_fit_run_monitoring(product):
    policy = product.asset(REPORTS_API).backfill_policy
    assert policy.max_partitions_per_run == 8  # 8 x 15 min = 2 h; 4 h if two runs share the turns: < 6 h
    assert product.asset("sales_report").backfill_policy.max_partitions_per_run == 30
