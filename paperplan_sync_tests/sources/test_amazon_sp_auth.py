"""LWA token exchange, caching and refresh -- against the local stand-in over real HTTP."""

from __future__ import annotations

from datetime import date

import pytest

from paperplan_sync.sources.amazon_sp import LWAAuthError, SPAPIError
from paperplan_sync.sources.base import ReportRequest

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"


def test_one_token_exchange_serves_many_requests(spapi, spapi_resource):
    for day in (date(2026, 11, 1), date(2026, 11, 2), date(2026, 11, 3)):
        report, rows = spapi_resource.fetch(ReportRequest(ORDERS, day))
        assert report.status == "DONE"
        assert sum(len(c) for c in rows.chunks()) > 0
    stats = spapi.stats()
    assert stats["lwa"]["calls"] == 1
    assert stats["calls"]["createReport"] == 3
    assert stats["calls"]["getReportDocument"] == 3


def test_token_cache_is_shared_by_resource_instances(spapi):
    # Dagster builds a new resource object per run: the token must survive that.
    for _ in range(3):
        res = spapi.resource()
        list(res.iter_reports([ORDERS]))
        res.close()
    assert spapi.stats()["lwa"]["calls"] == 1


def test_expired_token_403_is_refreshed_once(spapi, spapi_resource):
    list(spapi_resource.iter_reports([ORDERS]))
    spapi.inject(expire_tokens=True)  # every issued token now answers "has expired"
    list(spapi_resource.iter_reports([ORDERS]))
    stats = spapi.stats()
    assert stats["lwa"]["calls"] == 2
    assert stats["calls"]["getReports"] == 3  # ok, 403 expired, ok after refresh


def test_lwa_5xx_is_retried(spapi, spapi_resource):
    spapi.inject(status_5xx=2, operation="lwa")
    list(spapi_resource.iter_reports([ORDERS]))
    assert spapi.stats()["lwa"]["calls"] == 3


def test_bad_client_secret_is_a_clear_error_without_the_secret(spapi):
    res = spapi.resource(client_secret="wrong-secret-value-123")
    with pytest.raises(LWAAuthError) as err:
        list(res.iter_reports([ORDERS]))
    assert err.value.status == 401
    assert "invalid_client" in str(err.value)
    assert "wrong-secret-value-123" not in str(err.value)
    assert "wrong-secret-value-123" not in repr(res)


def test_bad_refresh_token_is_invalid_grant(spapi):
    res = spapi.resource(refresh_token="Atzr|not-the-right-one")
    with pytest.raises(LWAAuthError) as err:
        list(res.iter_reports([ORDERS]))
    assert err.value.status == 400 and "invalid_grant" in str(err.value)
    assert "not-the-right-one" not in str(err.value)


def test_secrets_never_in_repr(spapi_resource, spapi):
    text = repr(spapi_resource) + str(spapi_resource)
    for secret in (spapi.client_id, spapi.client_secret, spapi.refresh_token):
        assert secret not in text
    assert repr(spapi_resource.tokens).count(spapi.client_secret) == 0


def test_token_still_rejected_after_refresh_fails_clearly(spapi, spapi_resource):
    spapi.inject(status_403_expired=5, operation="getReports")
    with pytest.raises(SPAPIError) as err:
        list(spapi_resource.iter_reports([ORDERS]))
    assert err.value.status == 403 and "expired" in str(err.value)
    stats = spapi.stats()
    assert stats["calls"]["getReports"] == 2  # the first try and one retry after one refresh, no more
    assert stats["lwa"]["calls"] == 2


def test_sp_api_error_carries_amazon_error_codes(spapi, spapi_resource):
    with pytest.raises(SPAPIError) as err:
        spapi_resource.get_report("badReportId1")
    assert err.value.status == 400
    assert err.value.code == "InvalidInput"
