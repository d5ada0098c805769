"""The local Ads server over real HTTP, speaking the Ads reporting v3 / LWA protocol directly."""

from __future__ import annotations

import gzip
import json
import time
from datetime import date, timedelta

import httpx
import pytest

from paperplan_local.ads import build_app, data
from paperplan_local.runner import ServerThread
from paperplan_sync_tests.fixtures.ads import ADS_TEST_SEED, ADS_TEST_TODAY, AdsServer

CREATE = "application/vnd.createasyncreportrequest.v3+json"
DAY = ADS_TEST_TODAY - timedelta(days=2)


def _token(server: AdsServer) -> str:
    resp = server.http.post(
        server.lwa_endpoint,
        data={
            "grant_type": "refresh_token",
            "refresh_token": server.refresh_token,
            "client_id": server.client_id,
            "client_secret": server.client_secret,
        },
    )
    assert resp.status_code == 200, resp.text
    return resp.json()["access_token"]


def _headers(server: AdsServer, token: str | None, **extra: str) -> dict[str, str]:
    headers = {
        "Amazon-Advertising-API-ClientId": server.client_id,
        "Amazon-Advertising-API-Scope": server.profile_id,
        "Content-Type": CREATE,
        **extra,
    }
    if token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def _body(start: date = DAY, end: date | None = None, **config) -> dict:
    return {
        "name": "test",
        "startDate": start.isoformat(),
        "endDate": (end or start).isoformat(),
        "configuration": {
            "adProduct": "SPONSORED_PRODUCTS",
            "groupBy": ["campaign"],
            "reportTypeId": "spCampaigns",
            "columns": ["date", "campaignId", "impressions", "clicks", "cost", "purchases7d", "sales7d"],
            "timeUnit": "DAILY",
            "format": "GZIP_JSON",
            **config,
        },
    }


def _create(server: AdsServer, token: str | None, body, **headers: str) -> httpx.Response:
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    return server.http.post("/reporting/reports", content=content, headers=_headers(server, token, **headers))


def _poll_until_done(server: AdsServer, token: str, report_id: str, timeout: float = 5.0) -> tuple[dict, list[str]]:
    seen, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        report = server.http.get(f"/reporting/reports/{report_id}", headers=_headers(server, token)).json()
        if not seen or seen[-1] != report["status"]:
            seen.append(report["status"])
        if report["status"] in ("COMPLETED", "FAILED"):
            return report, seen
        time.sleep(0.02)
    raise AssertionError(f"report {report_id} stuck in {seen}")


def _download(server: AdsServer, url: str) -> list:
    resp = server.http.get(url)  # presigned: no auth headers
    assert resp.status_code == 200, resp.text
    return json.loads(gzip.decompress(resp.content))


def test_lwa_token_endpoint(ads):
    assert _token(ads).startswith("Atza|")
    form = {"grant_type": "refresh_token", "refresh_token": ads.refresh_token, "client_id": ads.client_id}
    bad_client = ads.http.post(ads.lwa_endpoint, data={**form, "client_secret": "wrong"})
    assert (bad_client.status_code, bad_client.json()["error"]) == (401, "invalid_client")
    bad_grant = ads.http.post(ads.lwa_endpoint, data={**form, "client_secret": ads.client_secret, "refresh_token": "x"})
    assert (bad_grant.status_code, bad_grant.json()["error"]) == (400, "invalid_grant")


def test_report_lifecycle_and_gzip_json_document(ads):
    token = _token(ads)
    created = _create(ads, token, _body())
    assert created.status_code == 200 and created.json()["status"] == "PENDING"
    report, seen = _poll_until_done(ads, token, created.json()["reportId"])
    assert seen == ["PENDING", "PROCESSING", "COMPLETED"]
    assert report["url"] and report["urlExpiresAt"] and report["fileSize"] > 0 and report["failureReason"] is None
    assert "/reports-download/" in report["url"]

    resp = ads.http.get(report["url"])
    assert len(resp.content) == report["fileSize"]
    rows = json.loads(gzip.decompress(resp.content))
    assert rows and all(list(r) == _body()["configuration"]["columns"] for r in rows)
    assert {r["date"] for r in rows} == {DAY.isoformat()}


def test_auth_and_validation_errors(ads):
    token = _token(ads)
    assert _create(ads, None, _body()).status_code == 401
    assert _create(ads, "Atza|forged", _body()).status_code == 401
    assert _create(ads, token, _body(), **{"Amazon-Advertising-API-Scope": "999"}).status_code == 401
    assert _create(ads, token, _body(), **{"Content-Type": "application/json"}).status_code == 400
    assert _create(ads, token, b"{not json").status_code == 400
    assert _create(ads, token, {"startDate": "2026-11-01"}).status_code == 400
    bad_column = _create(ads, token, _body(columns=["campaignId", "revenue"]))
    assert bad_column.status_code == 400 and "revenue" in bad_column.json()["detail"]
    assert _create(ads, token, _body(timeUnit="SUMMARY")).status_code == 400  # `date` under SUMMARY
    start = ADS_TEST_TODAY - timedelta(days=60)
    too_long = _create(ads, token, _body(start, start + timedelta(days=31)))
    assert too_long.status_code == 400 and "31 days" in too_long.json()["detail"]
    assert _create(ads, token, _body(start, start + timedelta(days=30))).status_code == 200
    assert _create(ads, token, _body(ADS_TEST_TODAY - timedelta(days=120))).status_code == 400  # retention


def test_identical_pending_request_answers_425_with_its_id(ads):
    token = _token(ads)
    first = _create(ads, token, _body()).json()["reportId"]
    # Same request with the columns in another order is still the same report.
    body = _body()
    body["configuration"]["columns"] = list(reversed(body["configuration"]["columns"]))
    duplicate = _create(ads, token, body)
    assert duplicate.status_code == 425
    assert duplicate.json()["detail"] == f"The Request is a duplicate of : {first}"
    assert _create(ads, token, _body(DAY - timedelta(days=1))).status_code == 200  # another day is not
    _poll_until_done(ads, token, first)
    assert _create(ads, token, _body()).status_code == 200  # once finished, a new one may be made


def test_faults(ads):
    token = _token(ads)
    ads.inject(status_429=1, retry_after=3, status_5xx=1)
    throttled = _create(ads, token, _body())
    assert throttled.status_code == 429 and throttled.headers["Retry-After"] == "3"
    assert _create(ads, token, _body()).status_code == 503
    ok = _create(ads, token, _body())
    assert ok.status_code == 200

    ads.inject(fail=True, failure_reason="boom")
    report, _ = _poll_until_done(ads, token, _create(ads, token, _body(DAY - timedelta(days=1))).json()["reportId"])
    assert (report["status"], report["failureReason"], report["url"]) == ("FAILED", "boom", None)

    ads.inject(revoke_tokens=True)
    assert _create(ads, token, _body(DAY - timedelta(days=3))).status_code == 401
    assert ads.http.post("/_test/faults", json={"nope": 1}).status_code == 400


def test_fault_injection_is_absent_unless_enabled():
    with ServerThread(build_app(processing_delay_s=0.05)) as thread, httpx.Client(base_url=thread.url) as http:
        for method in ("GET", "POST", "DELETE"):
            assert http.request(method, "/_test/faults", json={"fail": True}).status_code == 404
        assert http.post("/_test/clock", json={"today": "2026-01-01"}).status_code == 404
        assert http.get("/healthz").json() == {"ok": True}


def test_download_urls_expire_and_are_re_signed_on_each_status_call():
    with ServerThread(build_app(processing_delay_s=0.05, document_ttl_s=0.3, today=lambda: ADS_TEST_TODAY)) as thread:
        server = AdsServer(url=thread.url)
        token = _token(server)
        report, _ = _poll_until_done(server, token, _create(server, token, _body()).json()["reportId"])
        assert _download(server, report["url"])
        tampered = report["url"].replace("Signature=", "Signature=0")
        assert server.http.get(tampered).status_code == 403
        time.sleep(0.4)
        expired = server.http.get(report["url"])
        assert expired.status_code == 403 and "<Code>AccessDenied</Code>" in expired.text
        assert "Request has expired" in expired.text
        fresh, _ = _poll_until_done(server, token, report["reportId"])
        assert fresh["url"] != report["url"] and _download(server, fresh["url"])
        server.close()


def test_data_is_deterministic_per_seed_and_restates_for_28_days(ads):
    columns = ["date", "campaignId", "impressions", "clicks", "cost", "purchases7d", "sales7d"]
    rows = data.report_rows(ADS_TEST_SEED, start=DAY, end=DAY, time_unit="DAILY", columns=columns, today=ADS_TEST_TODAY)
    assert 5 <= len(rows) <= 20
    assert rows == data.report_rows(
        ADS_TEST_SEED, start=DAY, end=DAY, time_unit="DAILY", columns=columns, today=ADS_TEST_TODAY
    )
    assert rows != data.report_rows(
        ADS_TEST_SEED + 1, start=DAY, end=DAY, time_unit="DAILY", columns=columns, today=ADS_TEST_TODAY
    )
    shares = [data.maturity(age) for age in range(0, 29)]
    assert all(a < b for a, b in zip(shares, shares[1:], strict=False))  # grows every day for 28 days...
    assert shares[-1] == data.maturity(90) == 1.0  # ...then is final

    # Over HTTP: moving the server clock forward restates the same day's sales upwards.
    token = _token(ads)
    sales = []
    for age in (2, 15):
        ads.set_today(DAY + timedelta(days=age))
        report, _ = _poll_until_done(ads, token, _create(ads, token, _body()).json()["reportId"])
        sales.append(sum(r["sales7d"] for r in _download(ads, report["url"])))
    assert sales[0] < sales[1]


def test_summary_report_has_one_row_per_campaign(ads):
    token = _token(ads)
    start = DAY - timedelta(days=6)
    body = _body(start, DAY, timeUnit="SUMMARY", columns=["startDate", "endDate", "campaignId", "cost", "sales7d"])
    report, _ = _poll_until_done(ads, token, _create(ads, token, body).json()["reportId"])
    rows = _download(ads, report["url"])
    assert len({r["campaignId"] for r in rows}) == len(rows)
    assert {(r["startDate"], r["endDate"]) for r in rows} == {(start.isoformat(), DAY.isoformat())}


@pytest.mark.parametrize("path", ["/reporting/reports/unknown-id"])
def test_unknown_report_is_404(ads, path):
    resp = ads.http.get(path, headers=_headers(ads, _token(ads)))
    assert resp.status_code == 404
