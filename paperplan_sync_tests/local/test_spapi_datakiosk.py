"""Data Kiosk in the SP-API stand-in, spoken to with raw HTTP (no client code): the query lifecycle, Amazon's
refusals, paging, rate limits -- and agreement with the stand-in's own Reports-API Sales & Traffic reports,
per ASIN per day (units, revenue, sessions, page views)."""

from __future__ import annotations

import gzip
import json
import time
from collections.abc import Iterator
from datetime import date, timedelta

import httpx
import pytest

from paperplan_local.runner import ServerThread
from paperplan_local.spapi import DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN, build_app
from paperplan_local.spapi.datakiosk import state_of

DK = "/dataKiosk/2023-11-15"
REPORTS = "/reports/2021-06-30"
MARKET = "ATVPDKIKX0DER"
TODAY = date(2026, 11, 20)
DAYS = [date(2026, 11, 2), date(2026, 11, 3), date(2026, 11, 4)]
DATASET = "analytics_salesAndTraffic_2024_04_24"


def by_date_query(start: date, end: date, fields: str = "startDate sales{unitsOrdered} traffic{sessions}") -> str:
    args = f'startDate:"{start}" endDate:"{end}" aggregateBy:DAY marketplaceIds:["{MARKET}"]'
    return f"query{{{DATASET}{{salesAndTrafficByDate({args}){{{fields}}}}}}}"


def trends_query(start: date, end: date, asins: list[str]) -> str:
    listed = ",".join(json.dumps(a) for a in asins)
    args = (
        f'startDate:"{start}" endDate:"{end}" asinAggregation:CHILD dateAggregation:DAY '
        f'filters:[{{marketplaceId:"{MARKET}" asins:[{listed}]}}]'
    )
    fields = "startDate endDate childAsin sales{unitsOrdered orderedProductSales{amount}} traffic{sessions pageViews}"
    return f"query{{{DATASET}{{salesAndTrafficTrends({args}){{{fields}}}}}}}"


def by_asin_query(start: date, end: date) -> str:
    args = f'startDate:"{start}" endDate:"{end}" aggregateBy:CHILD marketplaceIds:["{MARKET}"]'
    return f"query{{{DATASET}{{salesAndTrafficByAsin({args}){{childAsin sales{{unitsOrdered}}}}}}}}"


def make_client(app) -> Iterator[httpx.Client]:
    with ServerThread(app) as srv:
        form = {
            "grant_type": "refresh_token",
            "refresh_token": DEV_REFRESH_TOKEN,
            "client_id": DEV_CLIENT_ID,
            "client_secret": DEV_CLIENT_SECRET,
        }
        token = httpx.post(srv.url + "/auth/o2/token", data=form).json()["access_token"]
        with httpx.Client(base_url=srv.url, headers={"x-amz-access-token": token}, timeout=30) as client:
            yield client


@pytest.fixture(scope="module")
def app():
    return build_app(
        seed=7,
        rate_limit_scale=1e6,
        processing_delay_s=0.2,
        enable_fault_injection=True,
        today=lambda: TODAY,
    )


@pytest.fixture(scope="module")
def api(app):
    yield from make_client(app)


@pytest.fixture(autouse=True)
def clean(api):
    api.post("/_test/reset")


def create(api: httpx.Client, query: str, **extra) -> str:
    response = api.post(f"{DK}/queries", json={"query": query, **extra})
    assert response.status_code == 202, response.text
    return response.json()["queryId"]


def wait(api: httpx.Client, query_id: str, timeout: float = 30) -> dict:
    deadline = time.monotonic() + timeout
    while True:
        body = api.get(f"{DK}/queries/{query_id}").json()
        if body["processingStatus"] in ("DONE", "FATAL", "CANCELLED") or time.monotonic() > deadline:
            return body
        time.sleep(0.05)


def document(api: httpx.Client, document_id: str) -> httpx.Response:
    located = api.get(f"{DK}/documents/{document_id}")
    assert located.status_code == 200 and located.json()["documentId"] == document_id
    return httpx.get(located.json()["documentUrl"])  # presigned: no token


def run(api: httpx.Client, query: str) -> list[dict]:
    done = wait(api, create(api, query))
    assert done["processingStatus"] == "DONE"
    if "dataDocumentId" not in done:
        return []
    return [json.loads(line) for line in document(api, done["dataDocumentId"]).text.splitlines()]


def _gunzip_json(content: bytes) -> dict:
    return json.loads(gzip.decompress(content)) if content[:2] == b"\x1f\x8b" else json.loads(content)


def sales_and_traffic_report(api: httpx.Client, day: date) -> dict:
    body = {
        "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
        "marketplaceIds": [MARKET],
        "dataStartTime": f"{day}T00:00:00-07:00",
        "dataEndTime": f"{day}T23:59:59-07:00",
        "reportOptions": {"dateGranularity": "DAY", "asinGranularity": "CHILD"},
    }
    created = api.post(f"{REPORTS}/reports", json=body)
    assert created.status_code == 202, created.text
    report_id = created.json()["reportId"]
    deadline = time.monotonic() + 30
    while (report := api.get(f"{REPORTS}/reports/{report_id}").json())["processingStatus"] != "DONE":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    located = api.get(f"{REPORTS}/documents/{report['reportDocumentId']}").json()
    return _gunzip_json(httpx.get(located["url"]).content)


# --- agreement with the Reports API ---------------------------------------------------------------------------


def test_trends_agree_with_the_sales_and_traffic_reports_per_asin_per_day(api):
    asins = sorted(r["childAsin"] for r in run(api, by_asin_query(DAYS[0], DAYS[-1])))
    assert len(asins) > 30  # the catalogue needs two trends queries of at most 30 ASINs
    kiosk = {}
    for i in range(0, len(asins), 30):
        for r in run(api, trends_query(DAYS[0], DAYS[-1], asins[i : i + 30])):
            assert r["startDate"] == r["endDate"]
            kiosk[(r["startDate"], r["childAsin"])] = (
                r["sales"]["unitsOrdered"],
                r["sales"]["orderedProductSales"]["amount"],
                r["traffic"]["sessions"],
                r["traffic"]["pageViews"],
            )
    reports = {}
    for day in DAYS:
        doc = sales_and_traffic_report(api, day)
        for e in doc["salesAndTrafficByAsin"]:
            reports[(day.isoformat(), e["childAsin"])] = (
                e["salesByAsin"]["unitsOrdered"],
                e["salesByAsin"]["orderedProductSales"]["amount"],
                e["trafficByAsin"]["sessions"],
                e["trafficByAsin"]["pageViews"],
            )
    assert len(reports) > 3 * 20
    assert kiosk == reports


def test_by_date_agrees_with_the_sales_and_traffic_reports(api):
    sales = "sales{unitsOrdered orderedProductSales{amount currencyCode}}"
    fields = f"startDate endDate marketplaceId {sales} traffic{{sessions pageViews}}"
    kiosk = {r["startDate"]: r for r in run(api, by_date_query(DAYS[0], DAYS[-1], fields))}
    assert sorted(kiosk) == [d.isoformat() for d in DAYS]
    for day in DAYS:
        (entry,) = sales_and_traffic_report(api, day)["salesAndTrafficByDate"]
        row = kiosk[day.isoformat()]
        assert row["endDate"] == row["startDate"] and row["marketplaceId"] == MARKET
        assert row["sales"]["unitsOrdered"] == entry["salesByDate"]["unitsOrdered"]
        assert row["sales"]["orderedProductSales"] == entry["salesByDate"]["orderedProductSales"]
        assert row["traffic"] == {k: entry["trafficByDate"][k] for k in ("sessions", "pageViews")}


# --- the lifecycle ---------------------------------------------------------------------------------------------


def test_query_goes_through_amazons_statuses_and_serves_only_the_selected_fields(api):
    query = by_date_query(DAYS[0], DAYS[0], "startDate day: endDate traffic{sessions}")
    query_id = create(api, query)
    first = api.get(f"{DK}/queries/{query_id}")
    assert first.status_code == 200 and first.headers["x-amzn-RateLimit-Limit"] == f"{2.0 * 1e6:g}"
    assert first.json()["processingStatus"] in ("IN_QUEUE", "IN_PROGRESS")
    assert first.json()["query"] == query and first.json()["createdTime"].endswith("Z")
    done = wait(api, query_id)
    assert done["processingStatus"] == "DONE" and "processingEndTime" in done and "errorDocumentId" not in done
    download = document(api, done["dataDocumentId"])
    assert download.headers["content-encoding"] == "gzip"  # Amazon names the compression in Content-Encoding
    (line,) = download.text.splitlines()
    record = json.loads(line)  # the figures themselves agree with the Reports API (test below)
    assert record == {
        "startDate": "2026-11-02",
        "day": "2026-11-02",
        "traffic": {"sessions": record["traffic"]["sessions"]},
    }
    assert isinstance(record["traffic"]["sessions"], int) and record["traffic"]["sessions"] > 0


def test_no_data_is_done_without_a_document(api):
    future = TODAY + timedelta(days=3)
    assert "dataDocumentId" not in wait(api, create(api, by_date_query(future, future + timedelta(days=2))))
    nobody = wait(api, create(api, trends_query(DAYS[0], DAYS[-1], ["B0NOSUCHASIN"])))
    assert nobody["processingStatus"] == "DONE" and "dataDocumentId" not in nobody


def test_a_fatal_query_has_an_error_document(api):
    api.post("/_test/datakiosk/faults", json={"fatal": 1, "message": "Data for this range is temporarily unavailable."})
    failed = wait(api, create(api, by_date_query(DAYS[0], DAYS[0])))
    assert failed["processingStatus"] == "FATAL" and "dataDocumentId" not in failed
    error = document(api, failed["errorDocumentId"]).json()
    assert error == {"errorMessage": "Data for this range is temporarily unavailable."}
    assert wait(api, create(api, by_date_query(DAYS[0], DAYS[0])))["processingStatus"] == "DONE"  # one fault only


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("query { analytics_salesAndTraffic_2024_04_24 { ", "Invalid GraphQL syntax"),
        (by_date_query(DAYS[0], DAYS[0], "startDate units"), "Cannot query field 'units'"),
        (by_date_query(DAYS[0], DAYS[0]).replace(f' marketplaceIds:["{MARKET}"]', ""), "'marketplaceIds'"),
        (by_date_query(DAYS[0], DAYS[0]).replace("aggregateBy:DAY", "aggregateBy:HOUR"), "HOUR"),
        (by_date_query(DAYS[1], DAYS[0]), "is after endDate"),
        (by_date_query(date(2024, 11, 19), DAYS[0]), "more than 2 years ago"),
        (by_date_query(DAYS[0], DAYS[0]).replace(DATASET, "analytics_salesAndTraffic_2023_11_15"), "Cannot query"),
        (trends_query(DAYS[0], DAYS[0], [f"B0{n:08d}" for n in range(31)]), "up to 30 ASINs"),
        (trends_query(DAYS[0], DAYS[0], ["B0X"]).replace("asins:", "sku:"), "asins"),
        ("query($d: Date!){" + by_date_query(DAYS[0], DAYS[0])[6:].replace(f'"{DAYS[0]}"', "$d", 1), "$d"),
        (by_date_query(DAYS[0], DAYS[0], " ".join(["startDate"] * 900)), "the limit is 8000"),
    ],
)
def test_malformed_queries_get_amazons_400(api, query, message):
    refused = api.post(f"{DK}/queries", json={"query": query})
    assert refused.status_code == 400
    (error,) = refused.json()["errors"]
    assert error["code"] == "InvalidInput" and message in error["message"], error


def test_two_years_back_is_the_earliest_start_and_whitespace_does_not_count(api):
    padded = by_date_query(date(2024, 11, 20), date(2024, 11, 20), "startDate" + " " * 9000)
    assert api.post(f"{DK}/queries", json={"query": padded}).status_code == 202


def test_in_flight_limit_duplicates_and_cancel(app, api):
    dk = state_of(app.state.spapi)
    app.state.spapi.processing_delay_s = 30.0  # nothing finishes during this test
    try:
        first = create(api, by_date_query(DAYS[0], DAYS[0]))
        again = api.post(f"{DK}/queries", json={"query": by_date_query(DAYS[0], DAYS[0])})
        assert again.status_code == 400 and "identical query" in again.json()["errors"][0]["message"]
        for n in range(1, dk.max_non_terminal):
            create(api, by_date_query(DAYS[0], DAYS[n]))
        refused = api.post(f"{DK}/queries", json={"query": by_date_query(DAYS[1], DAYS[1])})
        assert refused.status_code == 400 and "Too many queries in progress" in refused.json()["errors"][0]["message"]
        assert api.delete(f"{DK}/queries/{first}").status_code == 200
        assert api.delete(f"{DK}/queries/{first}").status_code == 200  # cancelling a CANCELLED query: no-op
        assert wait(api, first)["processingStatus"] == "CANCELLED"
        create(api, by_date_query(DAYS[1], DAYS[1]))  # a slot is free again
    finally:
        app.state.spapi.processing_delay_s = 0.2


def test_cancel_rules_and_unknown_ids(api):
    done = wait(api, create(api, by_date_query(DAYS[0], DAYS[0])))
    refused = api.delete(f"{DK}/queries/{done['queryId']}")
    assert refused.status_code == 400 and "non-terminal" in refused.json()["errors"][0]["message"]
    for path in (f"{DK}/queries/123", f"{DK}/documents/amzn1.tortuga.4.na.nope"):
        missing = api.get(path)
        assert missing.status_code == 404 and missing.json()["errors"][0]["code"] == "NotFound"
    assert api.delete(f"{DK}/queries/123").status_code == 404


def test_get_queries_filters_and_pages(api):
    ids = [wait(api, create(api, by_date_query(DAYS[0], d)))["queryId"] for d in DAYS]
    page = api.get(f"{DK}/queries", params={"pageSize": 2, "processingStatuses": "DONE"}).json()
    assert [q["queryId"] for q in page["queries"]] == ids[::-1][:2]  # newest first
    token = page["pagination"]["nextToken"]
    rest = api.get(f"{DK}/queries", params={"pageSize": 2, "processingStatuses": "DONE", "paginationToken": token})
    assert [q["queryId"] for q in rest.json()["queries"]] == ids[:1] and "pagination" not in rest.json()
    assert api.get(f"{DK}/queries", params={"processingStatuses": "FATAL"}).json() == {"queries": []}
    bad = api.get(f"{DK}/queries", params={"processingStatuses": "INVALID_STATUS,DONE"})
    assert bad.status_code == 400 and "processingStatuses" in bad.json()["errors"][0]["message"]


def test_a_long_result_is_paged_through_create_query(app, api):
    dk = state_of(app.state.spapi)
    query = trends_query(DAYS[0], DAYS[-1], _asins(api)[:30])
    everything = run(api, query)
    dk.page_lines = 25
    try:
        pages, token = [], None
        while True:
            done = wait(api, create(api, query, **({"paginationToken": token} if token else {})))
            pages += [json.loads(x) for x in document(api, done["dataDocumentId"]).text.splitlines()]
            token = done.get("pagination", {}).get("nextToken")
            if token is None:
                break
    finally:
        dk.page_lines = 200_000
    assert len(everything) > 50 and pages == everything
    stranger = api.post(f"{DK}/queries", json={"query": by_date_query(DAYS[0], DAYS[0]), "paginationToken": "x"})
    assert stranger.status_code == 400


def _asins(api: httpx.Client) -> list[str]:
    return sorted(r["childAsin"] for r in run(api, by_asin_query(DAYS[0], DAYS[-1])))


def test_rate_limits_at_scale_one():
    app = build_app(seed=7, rate_limit_scale=1.0, processing_delay_s=0.0, today=lambda: TODAY)
    for api in make_client(app):
        state_of(app.state.spapi).max_non_terminal = 100
        answers = [api.post(f"{DK}/queries", json={"query": by_date_query(DAYS[0], d)}) for d in _dates(16)]
        assert [a.status_code for a in answers] == [202] * 15 + [429]  # burst 15, then 0.0167/s
        assert answers[-1].headers["x-amzn-RateLimit-Limit"] == "0.0167"
        assert answers[-1].json()["errors"][0]["code"] == "QuotaExceeded"
        assert answers[0].headers["x-amzn-RateLimit-Limit"] == "0.0167"


def _dates(n: int) -> list[date]:
    return [DAYS[0] + timedelta(days=k) for k in range(n)]
