"""The local SP-API stand-in itself, spoken to with raw HTTP (no client code): LWA, auth errors, the report
lifecycle, getReports filters and paging, presigned documents, rate limits, sandbox vectors, determinism."""

from __future__ import annotations

import gzip
import time
from datetime import date, timedelta
from urllib.parse import parse_qs, urlparse

import httpx
import pytest

from paperplan_local.runner import ServerThread
from paperplan_local.spapi import DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN, build_app, data

API = "/reports/2021-06-30"
ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
LISTINGS = "GET_MERCHANT_LISTINGS_ALL_DATA"
MARKET = ["ATVPDKIKX0DER"]
TODAY = date(2026, 11, 20)


def token_for(url: str, **overrides: str) -> httpx.Response:
    form = {
        "grant_type": "refresh_token",
        "refresh_token": DEV_REFRESH_TOKEN,
        "client_id": DEV_CLIENT_ID,
        "client_secret": DEV_CLIENT_SECRET,
        **overrides,
    }
    return httpx.post(url + "/auth/o2/token", data=form)


def order_body(day: date, offset: str = "-07:00") -> dict:
    return {
        "reportType": ORDERS,
        "marketplaceIds": MARKET,
        "dataStartTime": f"{day}T00:00:00{offset}",
        "dataEndTime": f"{day}T23:59:59{offset}",
    }


@pytest.fixture(scope="module")
def server():
    """A private stand-in: a slower processing delay, short-lived document URLs, a fixed clock."""
    app = build_app(
        seed=7,
        rate_limit_scale=1000.0,
        processing_delay_s=0.4,
        document_ttl_s=1.0,
        enable_fault_injection=True,
        today=lambda: TODAY,
    )
    with ServerThread(app) as srv:
        yield srv


@pytest.fixture(scope="module")
def api(server):
    client = httpx.Client(
        base_url=server.url, headers={"x-amz-access-token": token_for(server.url).json()["access_token"]}
    )
    yield client
    client.close()


# --- LWA and auth -----------------------------------------------------------------------------------------


def test_lwa_token_exchange_like_amazon(server):
    ok = token_for(server.url)
    assert ok.status_code == 200
    body = ok.json()
    assert body["token_type"] == "bearer" and body["expires_in"] == 3600 and body["access_token"].startswith("Atza|")
    bad_client = token_for(server.url, client_secret="nope")
    assert bad_client.status_code == 401 and bad_client.json()["error"] == "invalid_client"
    bad_grant = token_for(server.url, refresh_token="Atzr|nope")
    assert bad_grant.status_code == 400 and bad_grant.json()["error"] == "invalid_grant"
    bad_type = token_for(server.url, grant_type="authorization_code")
    assert bad_type.status_code == 400 and bad_type.json()["error"] == "unsupported_grant_type"


def test_access_token_required(server):
    missing = httpx.get(server.url + f"{API}/reports/1")
    assert missing.status_code == 403
    err = missing.json()["errors"][0]
    assert err["code"] == "Unauthorized" and err["message"] == "Access to requested resource is denied."
    assert err["details"] == "Access token is missing in the request header."
    forged = httpx.get(server.url + f"{API}/reports/1", headers={"x-amz-access-token": "Atza|forged"})
    assert forged.status_code == 403 and "revoked, malformed or invalid" in forged.json()["errors"][0]["details"]


def test_expired_access_token(server):
    token = token_for(server.url).json()["access_token"]
    httpx.post(server.url + "/_test/faults", json={"expire_tokens": True}).raise_for_status()
    resp = httpx.get(server.url + f"{API}/reports/1", headers={"x-amz-access-token": token})
    assert resp.status_code == 403
    assert resp.json()["errors"][0]["details"] == "The access token you provided has expired."
    httpx.delete(server.url + "/_test/faults")


# --- report lifecycle -------------------------------------------------------------------------------------


def test_report_progresses_in_queue_in_progress_done(api):
    created = api.post(f"{API}/reports", json=order_body(date(2026, 11, 2)))
    assert created.status_code == 202
    assert created.headers["x-amzn-RateLimit-Limit"] == "16.7"  # 0.0167 x rate_limit_scale
    report_id = created.json()["reportId"]
    seen = []
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        rep = api.get(f"{API}/reports/{report_id}")
        assert rep.headers["x-amzn-RateLimit-Limit"] == "2000"
        status = rep.json()["processingStatus"]
        if not seen or seen[-1] != status:
            seen.append(status)
        if status == "DONE":
            break
        time.sleep(0.05)
    assert seen == ["IN_QUEUE", "IN_PROGRESS", "DONE"]
    body = rep.json()
    assert body["dataStartTime"] == "2026-11-02T07:00:00+00:00" and body["dataEndTime"] == "2026-11-03T06:59:59+00:00"
    assert body["reportDocumentId"].startswith("amzn1.spdoc.")


def test_create_validation(api):
    assert (
        api.post(
            f"{API}/reports", json={"reportType": "BAD_FEE_DISCOUNTS_REPORT", "marketplaceIds": MARKET}
        ).status_code
        == 400
    )
    assert api.post(f"{API}/reports", json={"reportType": ORDERS}).status_code == 400
    assert (
        api.post(
            f"{API}/reports", json={**order_body(date(2026, 11, 2)), "dataEndTime": "2026-11-01T00:00:00Z"}
        ).status_code
        == 400
    )
    assert api.post(f"{API}/reports", content=b"{", headers={"content-type": "application/json"}).status_code == 400
    assert api.get(f"{API}/reports/badReportId1").status_code == 400
    assert api.get(f"{API}/documents/badDocumentId1").status_code == 400
    assert api.get(f"{API}/reports/999").status_code == 404


def test_cancel_only_in_queue(api):
    httpx.post(str(api.base_url) + "/_test/faults", json={"slow_queue_s": 30}).raise_for_status()
    report_id = api.post(f"{API}/reports", json=order_body(date(2026, 10, 1))).json()["reportId"]
    httpx.delete(str(api.base_url) + "/_test/faults").raise_for_status()
    assert api.delete(f"{API}/reports/{report_id}").status_code == 200
    assert api.get(f"{API}/reports/{report_id}").json()["processingStatus"] == "CANCELLED"
    other = api.post(f"{API}/reports", json=order_body(date(2026, 10, 2))).json()["reportId"]
    time.sleep(0.5)
    assert api.delete(f"{API}/reports/{other}").status_code == 400


def test_no_data_windows_are_cancelled(api):
    future = api.post(f"{API}/reports", json=order_body(TODAY + timedelta(days=3))).json()["reportId"]
    ancient = api.post(f"{API}/reports", json=order_body(date(2023, 2, 1))).json()["reportId"]
    time.sleep(0.45)
    for report_id in (future, ancient):
        body = api.get(f"{API}/reports/{report_id}").json()
        assert body["processingStatus"] == "CANCELLED" and "reportDocumentId" not in body


def test_get_reports_filters_and_pages(api):
    base = str(api.base_url)
    httpx.post(base + "/_test/reset").raise_for_status()
    httpx.post(base + "/_test/faults", json={"slow_queue_s": 30}).raise_for_status()  # all stay IN_QUEUE
    ids = [api.post(f"{API}/reports", json=order_body(date(2026, 9, d))).json()["reportId"] for d in range(1, 6)]
    httpx.delete(base + "/_test/faults").raise_for_status()
    first = api.get(f"{API}/reports", params={"reportTypes": ORDERS, "pageSize": 2})
    assert first.status_code == 200
    page = first.json()
    assert [r["reportId"] for r in page["reports"]] == ids[::-1][:2]  # newest first
    assert api.get(f"{API}/reports", params={"nextToken": page["nextToken"], "pageSize": 2}).status_code == 400
    seen = [r["reportId"] for r in page["reports"]]
    token = page["nextToken"]
    while token:
        page = api.get(f"{API}/reports", params={"nextToken": token}).json()
        seen += [r["reportId"] for r in page["reports"]]
        token = page.get("nextToken")
    assert seen == ids[::-1]

    def by_status(statuses: str) -> list[str]:
        params = {"reportTypes": ORDERS, "processingStatuses": statuses, "pageSize": 100}
        return [r["reportId"] for r in api.get(f"{API}/reports", params=params).json()["reports"]]

    assert by_status("IN_QUEUE,IN_PROGRESS") == ids[::-1] and by_status("DONE") == []
    assert api.get(f"{API}/reports", params={"reportTypes": LISTINGS}).json()["reports"] == []
    assert api.get(f"{API}/reports").status_code == 400
    assert (
        api.get(f"{API}/reports", params={"reportTypes": ORDERS, "processingStatuses": "BAD_VALUE"}).status_code == 400
    )
    future = (TODAY + timedelta(days=400)).isoformat() + "T00:00:00Z"
    assert api.get(f"{API}/reports", params={"reportTypes": ORDERS, "createdSince": future}).json()["reports"] == []


# --- documents --------------------------------------------------------------------------------------------


def _done_document(api, body: dict) -> dict:
    report_id = api.post(f"{API}/reports", json=body).json()["reportId"]
    deadline = time.monotonic() + 10
    while (rep := api.get(f"{API}/reports/{report_id}").json())["processingStatus"] != "DONE":
        assert time.monotonic() < deadline, rep
        time.sleep(0.05)
    return api.get(f"{API}/documents/{rep['reportDocumentId']}").json()


@pytest.mark.slow
def test_presigned_document_needs_no_auth_and_expires(api):
    doc = _done_document(api, order_body(date(2026, 11, 5)))
    assert doc["compressionAlgorithm"] == "GZIP"
    query = parse_qs(urlparse(doc["url"]).query)
    assert {"X-Amz-Expires", "X-Amz-Signature", "X-Amz-Date", "X-Amz-Algorithm"} <= set(query)
    resp = httpx.get(doc["url"])  # no x-amz-access-token
    assert resp.status_code == 200
    text = gzip.decompress(resp.content).decode("cp1252")
    assert text.splitlines()[0].split("\t") == data.ORDER_COLUMNS
    tampered = doc["url"].replace(query["X-Amz-Signature"][0], "0" * 64)
    assert httpx.get(tampered).status_code == 403
    time.sleep(1.1)  # document_ttl_s=1.0
    expired = httpx.get(doc["url"])
    assert expired.status_code == 403
    assert "<Code>AccessDenied</Code>" in expired.text and "Request has expired" in expired.text


@pytest.mark.slow
def test_flat_files_are_cp1252_and_streamed(api):
    httpx.post(str(api.base_url) + "/_test/faults", json={"report_type": ORDERS, "rows": 30_000}).raise_for_status()
    try:
        doc = _done_document(api, order_body(date(2026, 11, 6)))
    finally:
        httpx.delete(str(api.base_url) + "/_test/faults")
    with httpx.stream("GET", doc["url"]) as resp:
        assert "content-length" not in resp.headers  # generated on the fly, never built whole
        raw = b"".join(resp.iter_raw())
    text = gzip.decompress(raw)
    assert text.count(b"\n") == 30_001
    listing = gzip.decompress(
        httpx.get(_done_document(api, {"reportType": LISTINGS, "marketplaceIds": MARKET})["url"]).content
    )
    assert b"Caf\xe9 Planner 2026 \x96 Weekly" in listing  # windows-1252 bytes, as Amazon serves them


@pytest.mark.slow
def test_rate_limits_like_amazon():
    # Amazon's own rates (scale 1). getReportDocument: 0.0167 req/s, burst 15 -> the 16th call is throttled.
    with ServerThread(build_app(rate_limit_scale=1.0)) as srv:
        headers = {"x-amz-access-token": token_for(srv.url).json()["access_token"]}
        codes = [httpx.get(srv.url + f"{API}/documents/no-such-doc", headers=headers).status_code for _ in range(16)]
        assert codes == [404] * 15 + [429]
        throttled = httpx.get(srv.url + f"{API}/documents/no-such-doc", headers=headers)
        assert throttled.status_code == 429
        assert throttled.headers["x-amzn-RateLimit-Limit"] == "0.0167"
        assert throttled.json()["errors"][0]["code"] == "QuotaExceeded"
        # Buckets are per operation: getReport (2/s, burst 15) is untouched.
        assert httpx.get(srv.url + f"{API}/reports/1", headers=headers).headers["x-amzn-RateLimit-Limit"] == "2"


def traffic_body(day: date) -> dict:
    return {
        "reportType": "GET_SALES_AND_TRAFFIC_REPORT",
        "marketplaceIds": MARKET,
        "reportOptions": {"dateGranularity": "DAY"},
        "dataStartTime": f"{day}T00:00:00-07:00",
        "dataEndTime": f"{day}T23:59:59-07:00",
    }


def test_sales_and_traffic_once_per_15_minutes_like_amazon():
    # Since 2026-04-24: one Sales and Traffic createReport per 15 minutes (96 a day); other types unaffected.
    with ServerThread(build_app(rate_limit_scale=1.0, enable_fault_injection=True)) as srv:
        headers = {"x-amz-access-token": token_for(srv.url).json()["access_token"]}
        first = httpx.post(srv.url + f"{API}/reports", json=traffic_body(TODAY), headers=headers)
        assert first.status_code == 202
        second = httpx.post(srv.url + f"{API}/reports", json=traffic_body(TODAY - timedelta(days=1)), headers=headers)
        assert second.status_code == 429
        assert second.json() == {
            "errors": [
                {
                    "code": "QuotaExceeded",
                    "details": "",
                    "message": "You exceeded your quota for the requested resource.",
                }
            ]
        }
        assert 1 / float(second.headers["x-amzn-RateLimit-Limit"]) == pytest.approx(900, rel=1e-3)
        assert httpx.post(srv.url + f"{API}/reports", json=order_body(TODAY), headers=headers).status_code == 202
        stats = httpx.get(srv.url + "/_test/stats").json()
        assert stats["create_calls"] == {"GET_SALES_AND_TRAFFIC_REPORT": 1, ORDERS: 1}
        assert stats["throttled_types"] == {"GET_SALES_AND_TRAFFIC_REPORT": 1}


def test_sales_and_traffic_spacing_follows_the_rate_limit_scale(server, api):
    httpx.post(server.url + "/_test/reset")  # scale 1000: one per 0.9 s
    assert api.post(f"{API}/reports", json=traffic_body(TODAY)).status_code == 202
    refused = api.post(f"{API}/reports", json=traffic_body(TODAY))
    assert refused.status_code == 429 and refused.headers["x-amzn-RateLimit-Limit"] == f"{1000 / 900:g}"
    time.sleep(0.95)
    assert api.post(f"{API}/reports", json=traffic_body(TODAY)).status_code == 202


def test_injected_faults(server, api):
    httpx.post(server.url + "/_test/faults", json={"status_5xx": 1, "operation": "getReport", "code": 500})
    httpx.post(server.url + "/_test/faults", json={"status_429": 1, "operation": "getReport", "rate_limit": "0.5"})
    assert api.get(f"{API}/reports/1").status_code == 500
    limited = api.get(f"{API}/reports/1")
    assert limited.status_code == 429 and limited.headers["x-amzn-RateLimit-Limit"] == "0.5"
    assert api.get(f"{API}/reports/1").status_code == 404
    assert httpx.post(server.url + "/_test/faults", json={"no_such_fault": 1}).status_code == 400
    stats = httpx.get(server.url + "/_test/stats").json()
    assert stats["injected_5xx"]["getReport"] >= 1 and stats["throttled"]["getReport"] >= 1


def test_test_endpoints_are_404_when_fault_injection_is_off():
    with ServerThread(build_app()) as srv:
        assert httpx.post(srv.url + "/_test/faults", json={"status_5xx": 1}).status_code == 404
        assert httpx.get(srv.url + "/_test/stats").status_code == 404


# --- sandbox --------------------------------------------------------------------------------------------


def test_sandbox_static_vectors(server, api):
    sb = "/sandbox" + API
    ok = api.post(
        f"{sb}/reports",
        json={
            "reportType": "GET_MERCHANT_LISTINGS_ALL_DATA",
            "dataStartTime": "2024-03-10T20:11:24.000Z",
            "marketplaceIds": ["A1PA6795UKMFR9", "ATVPDKIKX0DER"],
        },
    )
    assert ok.status_code == 202 and ok.json() == {"reportId": "ID323"}
    bad = api.post(
        f"{sb}/reports",
        json={
            "reportType": "BAD_FEE_DISCOUNTS_REPORT",
            "dataStartTime": "2024-03-10T20:11:24.000Z",
            "marketplaceIds": ["A1PA6795UKMFR9", "ATVPDKIKX0DER"],
        },
    )
    assert bad.status_code == 400
    assert bad.json() == {"errors": [{"code": "400", "message": "Invalid input", "details": "Invalid input"}]}
    assert api.get(f"{sb}/reports/badReportId1").status_code == 400
    assert api.get(f"{sb}/documents/badDocumentId1").status_code == 400
    assert api.get(f"{sb}/reports/ID323").json()["reportId"] == "ReportId1"
    listed = api.get(
        f"{sb}/reports",
        params={
            "reportTypes": "FEE_DISCOUNTS_REPORT,GET_AFN_INVENTORY_DATA",
            "processingStatuses": "IN_QUEUE,IN_PROGRESS",
        },
    )
    assert listed.status_code == 200 and listed.json()["reports"][0]["reportId"] == "ReportId1"
    assert api.delete(f"{sb}/reports/ID").status_code == 200


# --- data ---------------------------------------------------------------------------------------------


def test_data_is_deterministic_and_seeded():
    day = date(2026, 6, 1)
    assert data.orders_on(3, day) == data.orders_on(3, day)
    assert data.orders_on(3, day) != data.orders_on(4, day)
    assert 50 <= len({o.order_id for o in data.orders_on(3, day)}) <= 300


def test_order_statuses_settle_within_21_days():
    from datetime import UTC, datetime

    items = data.orders_on(0, date(2026, 6, 1))
    at = lambda d: datetime(2026, 6, d, 23, 59, 59, tzinfo=UTC)  # noqa: E731
    day1 = [i.status_at(at(1))[0] for i in items]
    day30 = [i.status_at(datetime(2026, 6, 30, tzinfo=UTC))[0] for i in items]
    assert "Pending" in day1
    assert set(day30) <= {"Shipped", "Cancelled"} and "Cancelled" in day30 and "Shipped" in day30


def test_inventory_changes_day_to_day():
    a = list(data.inventory(0, date(2026, 6, 1)))
    b = list(data.inventory(0, date(2026, 6, 2)))
    assert [r[0] for r in a] == [r[0] for r in b]  # same SKUs
    assert a != b and a == list(data.inventory(0, date(2026, 6, 1)))


def test_flat_file_downloads_name_their_charset_as_amazon_does(api):
    orders = httpx.get(_done_document(api, order_body(date(2026, 11, 5)))["url"])
    assert orders.headers["content-type"] == "text/plain; charset=Cp1252"
    inventory = {"reportType": "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA", "marketplaceIds": MARKET}
    assert httpx.get(_done_document(api, inventory)["url"]).headers["content-type"] == "text/plain; charset=UTF-8"
