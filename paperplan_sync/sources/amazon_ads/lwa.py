"""Login with Amazon (LWA): refresh token -> short-lived access token, cached until shortly before expiry.

Self-contained on purpose (the SP-API source has its own); the two could share one helper later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from paperplan_sync.sources.amazon_ads.errors import AdsAuthError, AdsUnavailable
from paperplan_sync.sources.amazon_ads.settings import TOKEN_REFRESH_MARGIN_S


@dataclass
class _Token:
    value: str
    expires_at: float  # time.monotonic() deadline


class LwaTokenProvider:
    """Thread-safe cache of one LWA access token. Never puts a secret in an exception or a repr."""

    def __init__(
        self,
        *,
        endpoint: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        send: Callable[..., httpx.Response],
        margin_s: float = TOKEN_REFRESH_MARGIN_S,
    ):
        self._endpoint = endpoint
        self._form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._send = send  # the resource's retrying sender: 429/5xx/network handled there
        self._margin_s = margin_s
        self._token: _Token | None = None
        self._lock = threading.Lock()
        self.grants = 0  # how many times we exchanged the refresh token (for tests/metrics)

    def __repr__(self) -> str:
        return f"LwaTokenProvider(endpoint={self._endpoint!r})"

    def token(self) -> str:
        with self._lock:
            if self._token is None or time.monotonic() >= self._token.expires_at:
                self._token = self._exchange()
            return self._token.value

    def invalidate(self, stale: str | None = None) -> None:
        """Drop the cached token (after a 401). With ``stale``, only if nobody refreshed it meanwhile."""
        with self._lock:
            if self._token is not None and (stale is None or self._token.value == stale):
                self._token = None

    def _exchange(self) -> _Token:
        try:
            resp = self._send("POST", self._endpoint, data=self._form, what="LWA token exchange")
        except AdsUnavailable as exc:
            raise AdsAuthError(f"LWA token endpoint unavailable: {exc}") from None
        if resp.status_code != 200:
            # LWA's error body carries an error code (invalid_grant, invalid_client), never the secrets.
            code = _lwa_error_code(resp)
            raise AdsAuthError(f"LWA token exchange failed: HTTP {resp.status_code} {code}".rstrip())
        try:
            payload = resp.json()
            value = str(payload["access_token"])
            expires_in = float(payload.get("expires_in", 3600))
        except (ValueError, KeyError, TypeError):
            raise AdsAuthError("LWA token endpoint answered without an access_token") from None
        self.grants += 1
        # Refresh early; for very short-lived tokens keep at least half their life.
        lifetime = max(expires_in - self._margin_s, expires_in / 2)
        return _Token(value, time.monotonic() + lifetime)


def _lwa_error_code(resp: httpx.Response) -> str:
    try:
        return str(resp.json().get("error", ""))[:64]
    except (ValueError, AttributeError):
        return ""
