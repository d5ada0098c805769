"""Login with Amazon (LWA): refresh token -> access token, cached per credentials for the whole process.

The cache is module-level (keyed by a hash, never by the secrets themselves) because Dagster builds a new
resource object per run: one token serves every run in the process until ~60 s before it expires.
"""

from __future__ import annotations

import hashlib
import threading
import time
from dataclasses import dataclass

import httpx

from .errors import LWAAuthError
from .ratelimit import backoff_delay
from .settings import RETRYABLE_STATUS, TOKEN_REFRESH_MARGIN_S

OPERATION = "lwaTokenExchange"


@dataclass
class _CachedToken:
    value: str
    expires_at: float  # time.monotonic() deadline, margin already applied


_CACHE: dict[str, _CachedToken] = {}
_KEY_LOCKS: dict[str, threading.Lock] = {}
_CACHE_LOCK = threading.Lock()


def clear_token_cache() -> None:
    """Forget every cached access token (tests, or after rotating credentials)."""
    with _CACHE_LOCK:
        _CACHE.clear()


class LWATokenProvider:
    """Hands out a valid access token, exchanging the refresh token only when needed."""

    def __init__(
        self,
        http: httpx.Client,
        *,
        lwa_endpoint: str,
        client_id: str,
        client_secret: str,
        refresh_token: str,
        max_retries: int = 3,
        backoff_s: float = 1.0,
        backoff_max_s: float = 30.0,
    ):
        self._http = http
        self._endpoint = lwa_endpoint
        self._form = {
            "grant_type": "refresh_token",
            "refresh_token": refresh_token,
            "client_id": client_id,
            "client_secret": client_secret,
        }
        self._key = hashlib.sha256(f"{lwa_endpoint}\0{client_id}\0{refresh_token}".encode()).hexdigest()
        self._max_retries, self._backoff_s, self._backoff_max_s = max_retries, backoff_s, backoff_max_s

    def __repr__(self) -> str:  # the form holds secrets: never show it
        return f"LWATokenProvider(endpoint={self._endpoint!r})"

    def token(self) -> str:
        cached = _CACHE.get(self._key)
        if cached and cached.expires_at > time.monotonic():
            return cached.value
        with _CACHE_LOCK:
            key_lock = _KEY_LOCKS.setdefault(self._key, threading.Lock())
        with key_lock:  # one exchange per credentials, however many threads ask at once
            cached = _CACHE.get(self._key)
            if cached and cached.expires_at > time.monotonic():
                return cached.value
            value, expires_in = self._exchange()
            _CACHE[self._key] = _CachedToken(value, time.monotonic() + max(0.0, expires_in - TOKEN_REFRESH_MARGIN_S))
            return value

    def invalidate(self, token: str) -> None:
        """Drop ``token`` if it is still the cached one (another thread may already have refreshed it)."""
        with _CACHE_LOCK:
            cached = _CACHE.get(self._key)
            if cached and cached.value == token:
                del _CACHE[self._key]

    def _exchange(self) -> tuple[str, float]:
        last: str = ""
        for attempt in range(self._max_retries + 1):
            if attempt:
                time.sleep(backoff_delay(attempt - 1, self._backoff_s, self._backoff_max_s))
            try:
                resp = self._http.post(self._endpoint, data=self._form, headers={"Accept": "application/json"})
            except httpx.TransportError as exc:
                last = f"network error: {type(exc).__name__}"
                continue
            if resp.status_code in RETRYABLE_STATUS or resp.status_code == 429:
                last = f"HTTP {resp.status_code}"
                continue
            try:
                body = resp.json()
            except ValueError:
                body = {}
            if resp.status_code != 200 or "access_token" not in body:
                error = body.get("error", "unknown_error")
                desc = body.get("error_description", "")
                raise LWAAuthError(
                    f"LWA token exchange refused: HTTP {resp.status_code} {error}: {desc}",
                    operation=OPERATION,
                    status=resp.status_code,
                    errors=[{"code": error, "message": desc}],
                )
            return body["access_token"], float(body.get("expires_in", 3600))
        raise LWAAuthError(
            f"LWA token exchange failed after {self._max_retries + 1} attempts: {last}", operation=OPERATION
        )
