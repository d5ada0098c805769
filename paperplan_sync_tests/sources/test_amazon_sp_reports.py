"""Requesting and waiting for reports: windows, snapshots, reuse, terminal states, throttling, retries,
sandbox vectors -- the unmodified client against the local stand-in over real HTTP."""

from __future__ import annotations

import time
from datetime import date, datetime, timedelta, timezone

import httpx
import pytest

from paperplan_local.spapi import sandbox
from paperplan_sync.sources.amazon_sp import SPAPIError, day_window
from paperplan_sync.sources.base import ReportFailed, ReportRequest, ReportTimeout
from paperplan_sync.timezones import Zone

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
INVENTORY = "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"
DAY = date(2026, 11, 3)


# --- windows -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset", "start", "end"),
    [
        (-7, "2026-03-08T00:00:00-07:00", "2026-03-08T23:59:59-07:00"),
        (0, "2026-03-08T00:00:00+00:00", "2026-03-08T23:59:59+00:00"),
        (5.5, "2026-03-08T00:00:00+05:30", "2026-03-08T23:59:59+05:30"),
        (-3.5, "2026-03-08T00:00:00-03:30", "2026-03-08T23:59:59-03:30"),
        (9, "2026-03-08T00:00:00+09:00", "2026-03-08T23:59:59+09:00"),
    ],
)
def test_day_window_is_the_local_day(offset, start, end):
    assert day_window(ReportRequest(ORDERS, date(2026, 3, 8), tz=Zone.from_hours(offset, whole=False).tzinfo)) == (
        start,
        end,
    )


def test_day_window_utc_minus_7_reaches_the_server_aligned(spapi, spapi_resource):
    report_id = spapi_resource.request_report(ReportRequest(ORDERS, DAY, tz=Zone.from_hours(-7).tzinfo))
    rep = spapi_resource.get_report(report_id)
    assert datetime.fromisoformat(rep["dataStartTime"]) == datetime(2026, 11, 3, 7, 0, 0, tzinfo=timezone.utc)
    assert datetime.fromisoformat(rep["dataEndTime"]) == datetime(2026, 11, 4, 6, 59, 59, tzinfo=timezone.utc)
    assert rep["marketplaceIds"] == ["ATVPDKIKX0DER"]


def test_rows_of_a_utc_minus_7_day_are_purchased_in_that_local_day(spapi, spapi_resource):
    tz = Zone.from_hours(-7).tzinfo
    _, rows = spapi_resource.fetch(ReportRequest(ORDERS, DAY, tz=tz))
    stamps = [datetime.fromisoformat(r["purchase-date"]).astimezone(tz) for c in rows.chunks() for r in c]
    assert stamps and {s.date() for s in stamps} == {DAY}


def test_snapshot_request_sends_no_data_times(spapi, spapi_resource):
    req = ReportRequest(INVENTORY, None)
    body = spapi_resource._create_body(req)
    assert "dataStartTime" not in body and "dataEndTime" not in body
    report, rows = spapi_resource.fetch(req)
    assert report.status == "DONE"
    inventory = [r for c in rows.chunks() for r in c]
    assert inventory and {"sku", "fnsku", "asin", "afn-fulfillable-quantity"} <= set(rows.columns)


def test_report_options_and_marketplaces_are_sent(spapi):
    res = spapi.resource(marketplace_ids="ATVPDKIKX0DER, A2EUQ1WTGCTBG2")
    req = ReportRequest("GET_SALES_AND_TRAFFIC_REPORT", DAY, options={"dateGranularity": "DAY"})
    body = res._create_body(req)
    assert body["reportOptions"] == {"dateGranularity": "DAY"}
    assert body["marketplaceIds"] == ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]
    rep = res.get_report(res.request_report(req))
    assert rep["marketplaceIds"] == ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"]


# --- reuse of in-flight reports ------------------------------------------------------------------------


def test_identical_in_flight_report_is_reused(spapi, spapi_resource):
    spapi.inject(report_type=ORDERS, slow_queue_s=1.0)
    req = ReportRequest(ORDERS, DAY)
    first = spapi_resource.request_report(req)
    second = spapi_resource.request_report(req)
    assert first == second
    assert spapi.stats()["create_calls"] == {ORDERS: 1}
    # A different day, or a different type, is not "identical".
    other_day = spapi_resource.request_report(ReportRequest(ORDERS, DAY - timedelta(days=1)))
    other_tz = spapi_resource.request_report(ReportRequest(ORDERS, DAY, tz=Zone.from_hours(0).tzinfo))
    assert len({first, other_day, other_tz}) == 3
    assert spapi.stats()["create_calls"] == {ORDERS: 3}


def test_finished_reports_are_not_reused(spapi, spapi_resource):
    req = ReportRequest(ORDERS, DAY)
    first = spapi_resource.request_report(req)
    spapi_resource.wait_for_report(first)
    assert spapi_resource.request_report(req) != first


def test_failed_create_rechecks_for_in_flight_before_posting_again(spapi, spapi_resource):
    spapi.inject(status_5xx=1, operation="createReport")
    report_id = spapi_resource.request_report(ReportRequest(ORDERS, DAY))
    assert report_id
    stats = spapi.stats()
    assert stats["calls"]["createReport"] == 2 and stats["create_calls"] == {ORDERS: 1}
    assert stats["calls"]["getReports"] == 2  # looked again before the second POST


# --- terminal states ----------------------------------------------------------------------------------


def test_done(spapi, spapi_resource):
    report = spapi_resource.wait_for_report(spapi_resource.request_report(ReportRequest(ORDERS, DAY)))
    assert report.status == "DONE" and report.document_id
    assert report.extra["reportType"] == ORDERS


def test_future_day_is_cancelled_and_means_empty(spapi, spapi_resource):
    report, rows = spapi_resource.fetch(ReportRequest(ORDERS, date(2026, 12, 25)))
    assert report.status == "CANCELLED"
    assert list(rows.chunks()) == []


def test_day_before_account_opened_is_cancelled(spapi, spapi_resource):
    report, rows = spapi_resource.fetch(ReportRequest(ORDERS, date(2023, 5, 1)))
    assert report.status == "CANCELLED" and rows.rows_read == 0


def test_fatal_carries_the_error_document_text(spapi, spapi_resource):
    spapi.inject(report_type=INVENTORY, fatal=True, fatal_message="FBA inventory report quota exhausted for today")
    report_id = spapi_resource.request_report(ReportRequest(INVENTORY))
    with pytest.raises(ReportFailed) as err:
        spapi_resource.wait_for_report(report_id)
    assert err.value.api_report_id == report_id
    assert report_id in str(err.value)
    assert "FBA inventory report quota exhausted for today" in str(err.value)


def test_fatal_without_error_document(spapi, spapi_resource):
    spapi.inject(report_type=INVENTORY, fatal=True, fatal_document=False)
    with pytest.raises(ReportFailed, match="FATAL"):
        spapi_resource.fetch(ReportRequest(INVENTORY))


def test_timeout_names_the_report(spapi):
    spapi.inject(slow_queue_s=30)
    res = spapi.resource(poll_timeout_s=0.3)
    report_id = res.request_report(ReportRequest(ORDERS, DAY))
    t0 = time.monotonic()
    with pytest.raises(ReportTimeout) as err:
        res.wait_for_report(report_id)
    assert time.monotonic() - t0 < 2
    assert report_id in str(err.value) and err.value.api_report_id == report_id
    assert "IN_QUEUE" in str(err.value)


def test_polling_backs_off(spapi):
    spapi.inject(slow_queue_s=0.6)
    res = spapi.resource(poll_initial_s=0.05, poll_max_s=0.2)
    res.wait_for_report(res.request_report(ReportRequest(ORDERS, DAY)))
    # 0.05, 0.075, 0.11, 0.17, 0.2, ... -> well under one poll per 50 ms over ~0.65 s
    assert spapi.stats()["calls"]["getReport"] <= 9


# --- throttling and retries -----------------------------------------------------------------------------


def test_429_waits_as_long_as_the_rate_limit_header_says(spapi, spapi_resource):
    report_id = spapi_resource.request_report(ReportRequest(ORDERS, DAY))
    spapi.inject(status_429=2, operation="getReport", rate_limit="4")  # 4 req/s -> ~0.25 s per retry
    t0 = time.monotonic()
    assert spapi_resource.wait_for_report(report_id).status == "DONE"
    elapsed = time.monotonic() - t0
    assert elapsed >= 0.45
    assert spapi.stats()["throttled"]["getReport"] == 2


def test_429_wait_is_bounded_and_retries_are_bounded(spapi):
    res = spapi.resource(max_throttle_retries=3)
    spapi.inject(status_429=100, operation="getReports", rate_limit="1000")
    with pytest.raises(SPAPIError) as err:
        list(res.iter_reports([ORDERS]))
    assert err.value.status == 429 and "throttled" in str(err.value)
    assert spapi.stats()["calls"]["getReports"] == 4


def test_5xx_is_retried_then_succeeds(spapi, spapi_resource):
    report_id = spapi_resource.request_report(ReportRequest(ORDERS, DAY))
    spapi.inject(status_5xx=2, operation="getReport")
    assert spapi_resource.wait_for_report(report_id).status == "DONE"
    assert spapi.stats()["injected_5xx"]["getReport"] == 2


def test_5xx_forever_gives_up_after_bounded_retries(spapi):
    res = spapi.resource(max_retries=2)
    spapi.inject(status_5xx=1000, operation="getReport", code=500)
    with pytest.raises(SPAPIError) as err:
        res.get_report("50000000001")
    assert err.value.status == 500
    assert "gave up after 3 attempt(s)" in str(err.value)
    assert spapi.stats()["calls"]["getReport"] == 3


def test_network_errors_are_retried_then_clear(spapi):
    from paperplan_local.runner import free_port

    dead = f"http://127.0.0.1:{free_port()}"
    res = spapi.resource(endpoint=dead, max_retries=2)  # LWA still works, the API endpoint refuses
    with pytest.raises(SPAPIError, match=r"network error .*gave up after 3"):
        res.get_report("1")


def test_client_paces_itself_with_the_usage_plan(spapi):
    # getReports: 0.0222 req/s, burst 10. At scale 100 that is 2.22 req/s after the burst.
    res = spapi.resource(rate_limit_scale=100.0)
    t0 = time.monotonic()
    for _ in range(12):
        list(res.iter_reports([ORDERS]))
    elapsed = time.monotonic() - t0
    assert 0.7 <= elapsed < 3.0  # two calls beyond the burst, ~0.45 s each
    assert spapi.stats()["throttled"] == {}  # the server never had to say 429


# --- sandbox static vectors --------------------------------------------------------------------------


def test_sandbox_vectors(spapi):
    res = spapi.resource(endpoint=spapi.url + "/sandbox")
    assert res.create_report(sandbox.CREATE_OK_BODY) == "ID323"
    with pytest.raises(SPAPIError) as bad_type:
        res.create_report({**sandbox.CREATE_OK_BODY, "reportType": "BAD_FEE_DISCOUNTS_REPORT"})
    assert bad_type.value.status == 400 and bad_type.value.errors[0]["message"] == "Invalid input"
    with pytest.raises(SPAPIError) as bad_report:
        res.get_report("badReportId1")
    assert bad_report.value.status == 400
    with pytest.raises(SPAPIError) as bad_doc:
        res.get_report_document("badDocumentId1")
    assert bad_doc.value.status == 400
    assert res.get_report("ID323")["processingStatus"] == "IN_PROGRESS"
    doc = res.get_report_document("0356cf79-b8b0-4226-b4b9-0ee058ea5760")
    assert doc["url"].endswith("Report_47700__GET_MERCHANT_LISTINGS_ALL_DATA_.txt")
    reports = list(
        res.iter_reports(
            ["FEE_DISCOUNTS_REPORT", "GET_AFN_INVENTORY_DATA"],
            processing_statuses=["IN_QUEUE", "IN_PROGRESS"],
            max_pages=1,
        )
    )
    assert reports[0]["reportId"] == "ReportId1"


def test_a_range_is_one_report_over_whole_local_days(spapi, spapi_resource):
    req = ReportRequest(ORDERS, DAY - timedelta(days=9), tz=Zone.from_hours(-7).tzinfo, end_day=DAY)
    rep = spapi_resource.get_report(spapi_resource.request_report(req))
    assert rep["dataStartTime"] == f"{DAY - timedelta(days=9)}T07:00:00+00:00"
    assert rep["dataEndTime"] == f"{DAY + timedelta(days=1)}T06:59:59+00:00"


def test_one_in_flight_lookup_serves_every_request_of_a_run(spapi, spapi_resource):
    spapi.inject(report_type=ORDERS, slow_queue_s=1.0)
    ranged = ReportRequest(ORDERS, DAY - timedelta(days=9), end_day=DAY)
    in_flight = spapi_resource.request_report(ranged)
    spapi.reset_stats()
    others = [ReportRequest(ORDERS, DAY - timedelta(days=n)) for n in (20, 21)]

    ids = list(spapi_resource.request_reports([ranged, *others]))

    assert ids[0] == in_flight and len(set(ids)) == 3
    stats = spapi.stats()
    assert stats["calls"]["getReports"] == 1 and stats["create_calls"] == {ORDERS: 2}


# --- Sales and Traffic: one createReport per 15 minutes ---------------------------------------------------


def test_a_sales_and_traffic_429_waits_amazons_15_minutes_not_a_quick_retry():
    """At Amazon's real rate (scale 1): after the type's 429 the client's policy waits 1 / x-amzn-RateLimit-Limit
    = 900 s -- its cap does not cut that short (a 2-minute retry would be refused 7 more times)."""
    from dataclasses import replace

    from paperplan_local.runner import ServerThread
    from paperplan_local.spapi import build_app
    from paperplan_sync.retry import GaveUp, rate_limit_wait
    from paperplan_sync.sources.amazon_sp.settings import RATE_LIMIT_HEADER, USAGE_PLANS
    from paperplan_sync_tests.fixtures.spapi import make_spapi_resource

    body = {
        "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
        "marketplaceIds": ["ATVPDKIKX0DER"],
        "dataStartTime": "2026-11-03T00:00:00-07:00",
        "dataEndTime": "2026-11-03T23:59:59-07:00",
    }
    with ServerThread(build_app(rate_limit_scale=1.0, enable_fault_injection=True)) as srv:
        res = make_spapi_resource(srv.url, rate_limit_scale=1.0)
        assert res.create_report(body)  # takes the 15-minute slot
        slept: list[float] = []
        policy = replace(
            res.policy,
            wait=rate_limit_wait(RATE_LIMIT_HEADER, USAGE_PLANS["createReport"].rate),
            sleep=slept.append,
            throttle_attempts=2,
        )
        headers = {"x-amz-access-token": res.tokens.token()}
        with pytest.raises(GaveUp):  # another process that does not know the slot is taken
            policy.send(
                lambda: httpx.post(srv.url + "/reports/2021-06-30/reports", json=body, headers=headers),
                what="createReport",
            )
        assert slept == [pytest.approx(900, rel=1e-3)]
        stats = httpx.get(srv.url + "/_test/stats").json()
        assert stats["create_calls"] == {"GET_SALES_AND_TRAFFIC_REPORT": 1}
        assert stats["throttled_types"] == {"GET_SALES_AND_TRAFFIC_REPORT": 2}


@pytest.mark.slow
def test_sales_and_traffic_requests_are_paced_by_the_client(spapi, spapi_resource):
    days = [
        ReportRequest("GET_SALES_AND_TRAFFIC_REPORT", DAY - timedelta(days=n), options={"dateGranularity": "DAY"})
        for n in range(3)
    ]
    started = time.monotonic()
    ids = list(spapi_resource.request_reports(days))
    assert len(set(ids)) == 3 and all(isinstance(i, str) for i in ids)
    assert time.monotonic() - started >= 2 * 900 / 1000 * 0.95  # 15 minutes at the tests' 1000x
    assert spapi.stats()["throttled"] == {}  # never asked early
    # Other report types do not queue behind it.
    started = time.monotonic()
    spapi_resource.request_report(ReportRequest(ORDERS, DAY))
    assert time.monotonic() - started < 0.5
