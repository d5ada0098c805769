"""The Data Kiosk source against the SP-API stand-in over real HTTP: a range is one query whatever its length,
an identical query in flight is awaited and never sent again, a createQuery answered 5xx is looked for
before it is sent again, FATAL fails with Amazon's error document text, DONE without a document is an empty
answer, and the same environment variables as the Reports API source."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from paperplan_local.runner import ServerThread
from paperplan_local.spapi import build_app
from paperplan_sync.sources import registry
from paperplan_sync.sources.amazon_datakiosk import AmazonDataKioskResource, queries
from paperplan_sync.sources.amazon_datakiosk.client import NO_DATA
from paperplan_sync.sources.amazon_datakiosk.settings import BY_ASIN_DAILY, BY_DATE
from paperplan_sync.sources.base import ReportFailed, ReportRequest
from paperplan_sync_tests.fixtures.spapi import SPAPI_TEST_SCALE, SPAPI_TEST_TODAY, SpapiStandIn, client_fields

FIRST, LAST = date(2026, 11, 14), date(2026, 11, 17)  # a daily fire: the target day and its 3 re-pull days
MARKETS = ["ATVPDKIKX0DER"]


def fire(type_id: str, first: date = FIRST, last: date = LAST) -> ReportRequest:
    return ReportRequest(type_id, first, end_day=last)


def calls(spapi: SpapiStandIn, operation: str) -> int:
    return spapi.stats()["calls"].get(operation, 0)


def rows_of(resource: AmazonDataKioskResource, request: ReportRequest) -> list[dict]:
    ready, stream = resource.fetch(request)
    return [row for chunk in stream.chunks() for row in chunk]


@pytest.fixture
def dk(spapi: SpapiStandIn) -> Iterator[AmazonDataKioskResource]:
    resource = spapi.datakiosk_resource()
    try:
        yield resource
    finally:
        resource.close()


@pytest.fixture(scope="module")
def slow_spapi() -> Iterator[SpapiStandIn]:
    """A stand-in whose queries stay in flight for a while (2 s), so a second request meets the first."""
    app = build_app(seed=0, rate_limit_scale=SPAPI_TEST_SCALE, enable_fault_injection=True, processing_delay_s=2.0)
    with ServerThread(app) as server:
        handle = SpapiStandIn(server.url)
        handle.set_today(SPAPI_TEST_TODAY)
        yield handle
        handle.http.close()


def test_the_same_environment_variables_as_the_reports_api_source():
    dk, sp = registry.get("amazon_datakiosk"), registry.get("amazon_sp")
    assert dk.env_secrets == sp.env_secrets
    assert dk.env_settings == sp.env_settings
    assert dk.env_numbers == sp.env_numbers


@pytest.mark.parametrize(("type_id", "queries_per_range"), [(BY_DATE, 1), (BY_ASIN_DAILY, 3)])
def test_a_range_is_one_query_whatever_its_length(spapi, dk, type_id, queries_per_range):
    # by ASIN: one query finds the seller's 35 ASINs over the range, then one per 30 of them (2); by date: 1.
    for first in (FIRST, LAST - timedelta(days=59)):  # the daily fire's 4 days, then 60 days
        spapi.reset_stats()
        rows = rows_of(dk, fire(type_id, first))
        assert calls(spapi, "createQuery") == queries_per_range
        assert {row["date"] for row in rows} == {
            (first + timedelta(days=n)).isoformat() for n in range((LAST - first).days + 1)
        }


def test_the_by_asin_daily_rows_are_one_per_asin_per_day(dk):
    rows = rows_of(dk, fire(BY_ASIN_DAILY))
    keys = [(row["date"], row["childAsin"]) for row in rows]
    assert len(keys) == len(set(keys)) and len({asin for _, asin in keys}) == 35
    assert {"sales_unitsOrdered", "sales_orderedProductSales_amount", "traffic_sessions", "traffic_pageViews"} <= set(
        rows[0]
    )


def test_an_identical_query_in_flight_is_awaited_not_sent_again(slow_spapi):
    slow_spapi.reset()
    slow_spapi.set_today(SPAPI_TEST_TODAY)
    dk = AmazonDataKioskResource(**client_fields(slow_spapi.url))
    elsewhere = dk.create_query(queries.by_date_query(FIRST, LAST, MARKETS))  # another run, a moment ago
    slow_spapi.reset_stats()

    api_id = dk.request_report(fire(BY_DATE))

    assert api_id == elsewhere
    assert calls(slow_spapi, "createQuery") == 0
    ready = dk.wait_for_report(api_id)
    assert ready.status == "DONE" and len(ready.extra["documents"]) == 1
    dk.close()


def test_a_run_asking_twice_for_the_same_range_sends_one_query(slow_spapi):
    slow_spapi.reset()
    slow_spapi.set_today(SPAPI_TEST_TODAY)
    dk = AmazonDataKioskResource(**client_fields(slow_spapi.url))

    ids = list(dk.request_reports([fire(BY_DATE), fire(BY_DATE)]))

    assert ids[0] == ids[1] and calls(slow_spapi, "createQuery") == 1
    dk.close()


def test_a_create_answered_5xx_is_looked_for_before_it_is_sent_again(spapi, dk):
    spapi.inject(status_5xx=1, operation="createQuery")

    rows = rows_of(dk, fire(BY_DATE))

    assert len(rows) == 4
    assert calls(spapi, "createQuery") == 2  # the refused try, then the one Amazon accepted
    assert calls(spapi, "getQueries") == 2  # the run's lookup, then the look before sending again


def test_a_fatal_query_fails_with_amazons_error_document_text(spapi, dk):
    text = "Query processing failed: the marketplace ATVPDKIKX0DER is not enabled for this seller."
    httpx.post(f"{spapi.url}/_test/datakiosk/faults", json={"fatal": 1, "message": text}).raise_for_status()

    api_id = dk.request_report(fire(BY_DATE))
    with pytest.raises(ReportFailed) as failed:
        dk.wait_for_report(api_id)

    assert text in str(failed.value) and "FATAL" in str(failed.value)
    assert failed.value.api_report_id == api_id


def test_done_without_a_document_is_an_empty_answer(spapi, dk):
    spapi.set_today(FIRST - timedelta(days=1))  # the fire's days have no data yet

    ready, stream = dk.fetch(fire(BY_DATE))

    assert ready.status == "CANCELLED" and list(stream.chunks()) == []
    assert calls(spapi, "createQuery") == 1 and calls(spapi, "getDocument") == 0


def test_no_asin_with_data_is_an_empty_answer_without_trends_queries(spapi, dk):
    spapi.set_today(FIRST - timedelta(days=1))

    ready, stream = dk.fetch(fire(BY_ASIN_DAILY))

    assert (ready.api_report_id, ready.status) == (NO_DATA, "CANCELLED")
    assert list(stream.chunks()) == []
    assert calls(spapi, "createQuery") == 1  # the by-ASIN query that found no ASIN


def test_days_older_than_two_years_are_refused_before_any_query(spapi, dk):
    with pytest.raises(ReportFailed, match="two-year window"):
        dk.request_report(fire(BY_DATE, date(2020, 1, 1), date(2020, 1, 4)))
    assert calls(spapi, "createQuery") == 0


def test_a_paged_result_is_followed_to_its_last_page(spapi, dk):
    # Pages of 50 records: the 35 ASINs fit one; 30 ASINs x 4 days = 120 records are 3 pages; 5 x 4 one.
    httpx.post(f"{spapi.url}/_test/datakiosk/faults", json={"fatal": 0, "page_lines": 50}).raise_for_status()

    rows = rows_of(dk, fire(BY_ASIN_DAILY))

    assert len(rows) == 4 * 35 and len({(row["date"], row["childAsin"]) for row in rows}) == 4 * 35
    assert calls(spapi, "createQuery") == 1 + 3 + 1
    assert calls(spapi, "getDocument") == 1 + 3 + 1
