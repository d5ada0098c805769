"""The shared LWA token provider (``sources.lwa``) against the local SP-API stand-in's token endpoint."""

from __future__ import annotations

import threading
import time

import httpx
import pytest

from paperplan_sync.sources import lwa
from paperplan_sync.sources.amazon_ads import AdsAuthError, AmazonAdsReportsResource
from paperplan_sync.sources.amazon_sp import AmazonSPReportsResource, LWAAuthError
from paperplan_sync.sources.lwa import LwaCredentials, LwaRefusal, LwaTokenProvider, refresh_after

MARGIN_S = 60.0


class Refused(Exception):
    """The error a source would raise; here it just keeps the refusal for the asserts."""

    def __init__(self, refusal: LwaRefusal):
        super().__init__(refusal.message)
        self.refusal = refusal


@pytest.fixture
def http():
    with httpx.Client(timeout=10) as client:
        yield client


def _provider(spapi, http: httpx.Client, *, delay_s: float = 0.0, **creds: str) -> LwaTokenProvider:
    def post(url: str, form: dict[str, str]) -> httpx.Response:
        time.sleep(delay_s)  # widens the window in which concurrent callers would race
        return http.post(url, data=form)

    credentials = LwaCredentials(
        endpoint=spapi.url + "/auth/o2/token",
        client_id=creds.get("client_id", spapi.client_id),
        client_secret=creds.get("client_secret", spapi.client_secret),
        refresh_token=creds.get("refresh_token", spapi.refresh_token),
    )
    return LwaTokenProvider(credentials, post=post, refused=Refused, margin_s=MARGIN_S)


def _exchanges(spapi) -> int:
    return spapi.stats()["lwa"]["calls"]


def test_cache_is_shared_by_providers_with_the_same_credentials(spapi, http):
    first, second = _provider(spapi, http), _provider(spapi, http)
    token = first.token()
    assert token.startswith("Atza|")
    assert second.token() == token and first.token() == token
    assert _exchanges(spapi) == 1
    assert (first.grants, second.grants) == (1, 0)
    # Other credentials never get this token: the key covers the refresh token.
    with pytest.raises(Refused):
        _provider(spapi, http, refresh_token="Atzr|another-one").token()


def test_one_exchange_however_many_threads_ask(spapi, http):
    providers = [_provider(spapi, http, delay_s=0.05) for _ in range(8)]
    start = threading.Barrier(len(providers))
    tokens: list[str] = []

    def ask(provider: LwaTokenProvider) -> None:
        start.wait()
        tokens.append(provider.token())

    threads = [threading.Thread(target=ask, args=(p,)) for p in providers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
    assert len(tokens) == len(providers) and len(set(tokens)) == 1
    assert _exchanges(spapi) == 1
    assert sum(p.grants for p in providers) == 1


def test_invalidate_drops_only_the_stale_token(spapi, http):
    provider, other = _provider(spapi, http), _provider(spapi, http)
    stale = provider.token()
    provider.invalidate("Atza|not-the-cached-one")
    assert provider.token() == stale and _exchanges(spapi) == 1

    provider.invalidate(stale)  # the API refused it: the next caller exchanges again
    fresh = other.token()
    assert fresh != stale and _exchanges(spapi) == 2

    provider.invalidate(stale)  # a late thread with the old token must not throw the new one away
    assert provider.token() == fresh and _exchanges(spapi) == 2


def test_token_is_refreshed_margin_s_before_it_expires(spapi, http, monkeypatch):
    now = [1000.0]
    monkeypatch.setattr(lwa, "_clock", lambda: now[0])
    provider = _provider(spapi, http)
    first = provider.token()  # the stand-in says expires_in=3600
    now[0] += 3600 - MARGIN_S - 1
    assert provider.token() == first and _exchanges(spapi) == 1
    now[0] += 2  # inside the margin: still valid at Amazon, but too close to use
    assert provider.token() != first and _exchanges(spapi) == 2


def test_short_lived_tokens_keep_half_their_life():
    assert refresh_after(3600, MARGIN_S) == 3600 - MARGIN_S
    assert refresh_after(100, MARGIN_S) == 50  # not 40: a tiny lifetime must not mean an exchange per call


def test_refusal_names_lwa_status_and_code_without_secrets(spapi, http):
    provider = _provider(spapi, http, client_secret="wrong-secret-value-123")
    with pytest.raises(Refused) as err:
        provider.token()
    text = str(err.value)
    assert err.value.refusal.status == 401 and err.value.refusal.error == "invalid_client"
    assert text.startswith("LWA token exchange refused: HTTP 401 invalid_client")
    assert "wrong-secret-value-123" not in text + repr(provider)
    assert spapi.refresh_token not in text + repr(provider)
    credentials = LwaCredentials("http://lwa.invalid/token", "id", "wrong-secret-value-123", spapi.refresh_token)
    assert "wrong-secret-value-123" not in repr(credentials) and spapi.refresh_token not in repr(credentials)
    assert spapi.refresh_token not in credentials.cache_key
    assert lwa._TOKENS == {}  # a refusal caches nothing


def test_secrets_echoed_by_the_endpoint_are_scrubbed():
    secret = "echoed-secret-456"

    def post(url: str, form: dict[str, str]) -> httpx.Response:
        return httpx.Response(400, json={"error": "invalid_grant", "error_description": f"bad token {secret}"})

    credentials = LwaCredentials("http://lwa.invalid/token", "id", client_secret="s", refresh_token=secret)
    provider = LwaTokenProvider(credentials, post=post, refused=Refused, margin_s=MARGIN_S)
    with pytest.raises(Refused) as err:
        provider.token()
    assert secret not in str(err.value) and "bad token ***" in str(err.value)


def test_each_source_raises_its_own_error_with_one_message(spapi):
    """One provider, built by the shared skeleton (sources.http) for every source: only the error differs."""
    common = {
        "client_id": spapi.client_id,
        "client_secret": "nope",
        "refresh_token": spapi.refresh_token,
        "endpoint": spapi.url,
        "lwa_endpoint": spapi.url + "/auth/o2/token",
        "max_retries": 0,
    }
    sp = AmazonSPReportsResource(**common)
    with pytest.raises(LWAAuthError) as sp_err:
        sp.tokens.token()
    assert sp_err.value.status == 401 and sp_err.value.code == "invalid_client"

    ads = AmazonAdsReportsResource(**common, profile_id="1")
    with pytest.raises(AdsAuthError) as ads_err:
        ads.tokens.token()
    assert str(ads_err.value) == str(sp_err.value)  # one message, whichever source asks
    assert "nope" not in repr(sp) + repr(ads) + repr(sp.tokens) + repr(ads.tokens)
    sp.close()
    ads.close()
