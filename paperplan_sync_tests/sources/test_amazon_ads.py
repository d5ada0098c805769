"""AmazonAdsReportsResource against the local Ads server over real HTTP (no mocks of our own code)."""

from __future__ import annotations

import gzip
import json
import time
from datetime import date, timedelta

import dagster as dg
import pytest

from paperplan_local.ads import build_app
from paperplan_local.runner import ServerThread
from paperplan_sync.config.models import ReportType
from paperplan_sync.reports.load import plan_chunks
from paperplan_sync.resources import source_resource
from paperplan_sync.sources.amazon_ads import (
    AdsAuthError,
    AdsReportParseError,
    AdsUnavailable,
    AmazonAdsReportsResource,
)
from paperplan_sync.sources.amazon_ads.parsing import gunzip_if_needed, iter_json_array
from paperplan_sync.sources.amazon_ads.report_config import duplicate_report_id, report_mismatch
from paperplan_sync.sources.amazon_ads.settings import SP_CAMPAIGNS
from paperplan_sync.sources.base import ReportFailed, ReportRequest, ReportTimeout
from paperplan_sync.sources.lwa import clear_token_cache
from paperplan_sync_tests.fixtures.ads import ADS_TEST_SEED, ADS_TEST_TODAY, AdsServer, build_ads_resource

DAY = ADS_TEST_TODAY - timedelta(days=1)


def _req(day: date = DAY, **options: str) -> ReportRequest:
    return ReportRequest(report_type_id="spCampaigns", day=day, options=options)


def _all_rows(resource: AmazonAdsReportsResource, request: ReportRequest):
    report, stream = resource.fetch(request)
    rows = [row for chunk in stream.chunks() for row in chunk]
    return report, stream, rows


def _totals(rows, *keys):
    return {k: round(sum(r[k] for r in rows), 2) for k in keys}


# --- the happy path ---------------------------------------------------------------------------


def test_fetch_one_day_gives_campaign_rows_with_the_preset_columns(ads_resource):
    report, stream, rows = _all_rows(ads_resource, _req())

    assert report.status == "DONE" and report.extra["url"] and report.extra["startDate"] == DAY.isoformat()
    assert 5 <= len(rows) <= 20
    assert stream.columns == list(SP_CAMPAIGNS.columns)
    assert all(list(row) == list(SP_CAMPAIGNS.columns) for row in rows)
    assert {row["date"] for row in rows} == {DAY.isoformat()}
    assert len({row["campaignId"] for row in rows}) == len(rows)
    assert all(isinstance(r["impressions"], int) and isinstance(r["cost"], float) for r in rows)
    assert stream.quarantined == [] and stream.rows_read == len(rows)
    # Deterministic: the same day on the same clock gives the same rows.
    assert _all_rows(ads_resource, _req())[2] == rows


def test_rows_come_in_bounded_chunks(ads):
    resource = build_ads_resource(ads, chunk_rows=3)
    report, stream = resource.fetch(_req())
    chunks = list(stream.chunks())
    assert len(chunks) > 1 and all(1 <= len(c) <= 3 for c in chunks)


def test_options_override_columns_and_time_unit(ads_resource):
    _, stream, rows = _all_rows(ads_resource, _req(columns="campaignId, cost"))
    assert stream.columns == ["date", "campaignId", "cost"]  # DAILY needs the date, so it is added
    assert all(set(r) == {"date", "campaignId", "cost"} for r in rows)

    report, stream, rows = _all_rows(ads_resource, _req(columns='["campaignId","cost","sales7d"]', timeUnit="SUMMARY"))
    assert report.extra["timeUnit"] == "SUMMARY" and rows
    assert all(set(r) == {"campaignId", "cost", "sales7d"} for r in rows)

    with pytest.raises(ValueError, match="unknown Amazon Ads report option"):
        ads_resource.request_report(_req(colums="cost"))


def test_a_day_without_activity_is_zero_rows_not_an_error(ads_resource):
    report, stream, rows = _all_rows(ads_resource, _req(ADS_TEST_TODAY + timedelta(days=3)))
    assert report.status == "DONE" and rows == [] and stream.quarantined == []


def test_real_time_request_is_refused_clearly(ads_resource):
    with pytest.raises(ValueError, match="no real-time"):
        ads_resource.request_report(ReportRequest(report_type_id="spCampaigns", day=None))


# --- auth ---------------------------------------------------------------------------------------


def test_token_is_cached_and_refreshed_once_after_a_401(ads, ads_resource):
    clear_token_cache()  # the cache is process-wide: an earlier test's token would otherwise serve this one
    before = ads.stats()["token_grants"]
    _all_rows(ads_resource, _req())
    _all_rows(ads_resource, _req(DAY - timedelta(days=1)))
    assert ads_resource.token_grants == 1
    assert ads.stats()["token_grants"] - before == 1

    ads.inject(revoke_tokens=True)  # e.g. the token was revoked before it expired
    _all_rows(ads_resource, _req(DAY - timedelta(days=2)))
    assert ads_resource.token_grants == 2


def test_bad_credentials_fail_without_leaking_secrets(ads):
    resource = build_ads_resource(ads, refresh_token="Atzr|not-the-right-one-SECRET")
    with pytest.raises(AdsAuthError) as info:
        resource.request_report(_req())
    assert "invalid_grant" in str(info.value)
    assert "SECRET" not in str(info.value)
    assert "SECRET" not in repr(resource) and ads.client_secret not in repr(build_ads_resource(ads))


# --- report lifecycle -------------------------------------------------------------------------


def test_duplicate_request_reuses_the_pending_report(ads, ads_resource):
    ads.inject(processing_delay_s=0.6)
    first = ads_resource.request_report(_req())
    second = ads_resource.request_report(_req())  # answered 425 by the server
    assert second == first
    assert ads.stats()["duplicates"] == 1 and ads.stats()["reports_created"] == 1
    ready = ads_resource.wait_for_report(second)
    rows = [r for c in ads_resource.report_rows(ready, _req()).chunks() for r in c]
    assert rows


def test_a_long_window_is_requested_as_reports_of_at_most_31_days(ads, ads_resource):
    """The real path: reports/load plans the ranges, the source requests them; each report holds its days."""
    start = date(2026, 9, 20)
    days = [start + timedelta(days=n) for n in range(41)]
    ads_campaigns = ReportType(
        record_id="recAds", name="ads_campaigns", active=True, source="amazon_ads", report_type_id="spCampaigns"
    )
    chunks = plan_chunks(ads_campaigns, days)
    assert [len(chunk.days) for chunk in chunks] == [31, 10]

    ids = list(ads_resource.request_reports([chunk.request for chunk in chunks]))
    assert all(isinstance(i, str) for i in ids) and ads.stats()["reports_created"] == 2
    first = ads_resource.wait_for_report(ids[0])
    rows = [r for c in ads_resource.report_rows(first, chunks[0].request).chunks() for r in c]
    assert {r["date"] for r in rows} == {d.isoformat() for d in chunks[0].days}

    # One report over 32 days is refused before any request reaches Amazon.
    with pytest.raises(ValueError, match="at most 31 days"):
        ads_resource.request_report(ReportRequest("spCampaigns", day=start, end_day=days[31]))
    assert ads.stats()["reports_created"] == 2


def test_failed_report_raises_report_failed_with_the_reason(ads, ads_resource):
    ads.inject(fail=True, failure_reason="Internal error while generating the report")
    with pytest.raises(ReportFailed) as info:
        ads_resource.fetch(_req())
    assert "Internal error while generating" in str(info.value)
    assert info.value.api_report_id and info.value.api_report_id in str(info.value)
    assert not isinstance(info.value, ReportTimeout)


def test_timeout_names_the_report(ads):
    ads.inject(processing_delay_s=60)
    resource = build_ads_resource(ads, poll_timeout_s=0.3)
    report_id = resource.request_report(_req())
    started = time.monotonic()
    with pytest.raises(ReportTimeout) as info:
        resource.wait_for_report(report_id)
    assert time.monotonic() - started < 2
    assert report_id in str(info.value) and info.value.api_report_id == report_id


@pytest.mark.parametrize("fault", ["status_429", "status_5xx"])
def test_throttling_and_server_errors_are_retried(ads, ads_resource, fault):
    ads.inject(**{fault: 2, "retry_after": 0})
    _, _, rows = _all_rows(ads_resource, _req())
    assert rows
    assert ads.stats()["injected_429" if fault == "status_429" else "injected_5xx"] == 2


def test_retries_are_bounded(ads):
    ads.inject(status_5xx=50)
    resource = build_ads_resource(ads, max_retries=2)
    with pytest.raises(AdsUnavailable, match="HTTP 503 after 3 attempts"):
        resource.request_report(_req())


def test_slow_answers_time_out_per_call_and_are_retried_boundedly(ads):
    ads.inject(slow_s=0.3)
    resource = build_ads_resource(ads, http_timeout_s=0.1, max_retries=1)
    with pytest.raises(AdsUnavailable, match="ReadTimeout after 2 attempts"):
        resource.request_report(_req())


def test_unknown_report_id_fails_clearly(ads_resource):
    with pytest.raises(ReportFailed, match="not found"):
        ads_resource.wait_for_report("00000000-0000-0000-0000-000000000000")


# --- download and parsing -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def short_ttl_ads():
    """A second server whose download URLs live 0.3 s."""
    app = build_app(seed=ADS_TEST_SEED, processing_delay_s=0.05, document_ttl_s=0.3, today=lambda: ADS_TEST_TODAY)
    with ServerThread(app) as thread:
        server = AdsServer(url=thread.url)
        yield server
        server.close()


def test_expired_download_url_is_re_signed(short_ttl_ads):
    resource = build_ads_resource(short_ttl_ads)
    ready = resource.wait_for_report(resource.request_report(_req()))
    time.sleep(0.4)
    assert short_ttl_ads.http.get(ready.extra["url"]).status_code == 403  # the URL we were given has expired
    rows = [r for c in resource.report_rows(ready, _req()).chunks() for r in c]
    assert rows


def test_non_object_rows_are_quarantined_with_their_position(ads, ads_resource):
    _, _, clean = _all_rows(ads_resource, _req(DAY - timedelta(days=3)))
    ads.inject(non_object_rows=True)
    _, stream, rows = _all_rows(ads_resource, _req(DAY - timedelta(days=4)))
    assert len(rows) == len(clean) and all(isinstance(r, dict) for r in rows)
    assert [q.line for q in stream.quarantined] == [2, 4, 6, 8]
    assert [q.raw for q in stream.quarantined] == ["null", '"corrupt-row"', "[1, 2, 3]", "42"]
    assert all("not a JSON object" in q.reason for q in stream.quarantined)


def test_restated_conversions_grow_as_the_server_clock_moves(ads, ads_resource):
    day = ADS_TEST_TODAY - timedelta(days=10)
    seen = []
    for age in (1, 5, 20, 28, 40):
        ads.set_today(day + timedelta(days=age))
        _, _, rows = _all_rows(ads_resource, _req(day))
        seen.append(_totals(rows, "impressions", "clicks", "cost", "purchases7d", "sales7d"))
    sales = [s["sales7d"] for s in seen]
    assert sales[0] < sales[1] < sales[2] < sales[3]  # restating for 28 days...
    assert sales[3] == sales[4]  # ...then settled
    assert seen[0]["purchases7d"] <= seen[2]["purchases7d"] <= seen[3]["purchases7d"]
    assert {(s["impressions"], s["clicks"], s["cost"]) for s in seen} == {
        (seen[0]["impressions"], seen[0]["clicks"], seen[0]["cost"])
    }


def test_json_array_parser_handles_any_chunking():
    document = '[ {"a": 1, "b": "x,]y"}, 12345, null , {"c": [1, 2]}, "s", true ]'
    expected = [{"a": 1, "b": "x,]y"}, 12345, None, {"c": [1, 2]}, "s", True]
    data = document.encode()
    assert list(iter_json_array([data])) == expected
    assert list(iter_json_array(data[i : i + 1] for i in range(len(data)))) == expected  # one byte at a time
    packed = gzip.compress(json.dumps(expected).encode())
    pieces = [packed[i : i + 7] for i in range(0, len(packed), 7)]
    assert list(iter_json_array(gunzip_if_needed(pieces))) == expected
    assert list(iter_json_array(gunzip_if_needed([b""]))) == []
    bom = b"\xef\xbb\xbf" + data
    assert list(iter_json_array(bom[i : i + 1] for i in range(len(bom)))) == expected
    for broken in ('[{"a": 1}, {"b": ', '{"a": 1}', "[1 2]", "[1,]", "[1] 2", '["\xff"]'):
        with pytest.raises(AdsReportParseError):
            list(iter_json_array([broken.encode("latin-1")]))


def test_duplicate_answer_parsing_and_matching():
    assert duplicate_report_id(
        '{"code":"425","detail":"The Request is a duplicate of : 9553f2aa-1b2c-4d5e-8f90-a1b2c3d4e5f6"}'
    ) == ("9553f2aa-1b2c-4d5e-8f90-a1b2c3d4e5f6")
    assert duplicate_report_id('{"code":"425","detail":"Too early"}') is None
    body = {
        "startDate": "2026-11-01",
        "endDate": "2026-11-01",
        "configuration": {"reportTypeId": "spCampaigns", "timeUnit": "DAILY", "columns": ["a", "b"]},
    }
    same = {**body, "configuration": {**body["configuration"], "columns": ["b", "a"]}}
    other = {**body, "configuration": {**body["configuration"], "timeUnit": "SUMMARY"}}
    assert report_mismatch(same, body) is None
    assert report_mismatch(other, body) == "configuration.timeUnit"


# --- as a Dagster resource ------------------------------------------------------------------------


def test_works_as_a_dagster_resource_wired_from_the_environment(ads, monkeypatch):
    for key, value in {
        "ADS_LWA_CLIENT_ID": ads.client_id,
        "ADS_LWA_CLIENT_SECRET": ads.client_secret,
        "ADS_REFRESH_TOKEN": ads.refresh_token,
        "ADS_PROFILE_ID": ads.profile_id,
        "ADS_ENDPOINT": ads.url,
        "ADS_LWA_ENDPOINT": ads.lwa_endpoint,
    }.items():
        monkeypatch.setenv(key, value)

    @dg.asset
    def ads_campaigns_day(amazon_ads: AmazonAdsReportsResource) -> int:
        _, stream = amazon_ads.fetch(_req())
        return sum(len(chunk) for chunk in stream.chunks())

    monkeypatch.setenv("ADS_POLL_INITIAL_S", "0.05")
    resource = source_resource("amazon_ads").model_copy(update={"poll_max_s": 0.2})  # the production wiring
    result = dg.materialize([ads_campaigns_day], resources={"amazon_ads": resource})
    assert result.success and result.output_for_node("ads_campaigns_day") > 0
    assert ads.client_secret not in repr(resource)
