"""Login with Amazon (LWA), shared by the SP-API and Ads sources: refresh token -> short-lived access token.

Tokens are cached at module level, keyed by a hash of (endpoint, client id, refresh token) -- never by the
secrets themselves -- because Dagster builds a new resource object per run: one token serves every run in
the process until shortly before it expires. What differs between the sources comes in as parameters:
``post`` sends the form with the source's own retries (and raises the source's error once they are spent),
``refused`` turns an LWA refusal into the source's own exception.
"""

from __future__ import annotations

import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # only for annotations: the settings modules import this one and stay light
    import httpx

DEFAULT_LWA_ENDPOINT = "https://api.amazon.com/auth/o2/token"  # North America; EU/FE have their own hosts
DEFAULT_EXPIRES_IN_S = 3600.0  # LWA access tokens live an hour; assumed when the answer omits expires_in
_ERROR_MAX_CHARS = 64
_DESCRIPTION_MAX_CHARS = 200

Post = Callable[[str, dict[str, str]], "httpx.Response"]  # (token URL, form) -> final response


@dataclass(frozen=True)
class LwaCredentials:
    """Where and with what to exchange; the secrets stay out of the repr."""

    endpoint: str
    client_id: str
    client_secret: str = field(repr=False)
    refresh_token: str = field(repr=False)

    @property
    def cache_key(self) -> str:
        # A hash, so the cache (and anything that dumps it) never holds the refresh token itself.
        return hashlib.sha256(f"{self.endpoint}\0{self.client_id}\0{self.refresh_token}".encode()).hexdigest()


@dataclass(frozen=True)
class LwaRefusal:
    """Why LWA gave no token: its HTTP status and OAuth error code (invalid_grant, invalid_client, ...)."""

    status: int
    error: str
    description: str = ""

    @property
    def message(self) -> str:
        if self.status == 200:
            return "LWA token endpoint answered HTTP 200 without an access_token"
        text = f"LWA token exchange refused: HTTP {self.status} {self.error}"
        return f"{text}: {self.description}" if self.description else text


@dataclass(frozen=True)
class _Token:
    value: str
    refresh_at: float  # time.monotonic() deadline, refresh margin already taken off


_TOKENS: dict[str, _Token] = {}
_KEY_LOCKS: dict[str, threading.Lock] = {}
_LOCK = threading.Lock()  # guards the two dicts' membership; exchanges run under the per-key lock
_clock = time.monotonic  # module-level so tests can move time forward


def clear_token_cache() -> None:
    """Forget every cached access token (tests, or after rotating credentials)."""
    with _LOCK:
        _TOKENS.clear()


def _key_lock(key: str) -> threading.Lock:
    with _LOCK:
        return _KEY_LOCKS.setdefault(key, threading.Lock())


def refresh_after(expires_in: float, margin_s: float) -> float:
    """Seconds a fresh token is served: ``margin_s`` short of its life so no call carries a dying token,
    but at least half its life so a very short-lived token is not exchanged on every call."""
    return max(expires_in - margin_s, expires_in / 2)


class LwaTokenProvider:
    """Hands out a valid access token, exchanging the refresh token only when needed.

    Thread-safe: one exchange per credentials however many threads (or provider objects) ask at once.
    The form holds the secrets; it never appears in a repr or an error message.
    """

    def __init__(
        self, credentials: LwaCredentials, *, post: Post, refused: Callable[[LwaRefusal], Exception], margin_s: float
    ):
        self.endpoint = credentials.endpoint
        self._form = {
            "grant_type": "refresh_token",
            "refresh_token": credentials.refresh_token,
            "client_id": credentials.client_id,
            "client_secret": credentials.client_secret,
        }
        # Longest first, so masking one secret cannot break up another that contains it.
        secrets = (credentials.client_secret, credentials.refresh_token)
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)
        self._key = credentials.cache_key
        self._post, self._refused, self._margin_s = post, refused, margin_s
        self.grants = 0  # exchanges made by this provider (tests / metrics); the cache is shared

    def __repr__(self) -> str:
        return f"{type(self).__name__}(endpoint={self.endpoint!r})"

    def _cached(self) -> str | None:
        cached = _TOKENS.get(self._key)
        return cached.value if cached is not None and _clock() < cached.refresh_at else None

    def token(self) -> str:
        value = self._cached()
        if value is not None:
            return value
        with _key_lock(self._key):
            value = self._cached()  # another thread may have exchanged while we waited for the lock
            if value is not None:
                return value
            value, expires_in = self._exchange()
            _TOKENS[self._key] = _Token(value, _clock() + refresh_after(expires_in, self._margin_s))
            self.grants += 1
            return value

    def invalidate(self, stale: str) -> None:
        """Drop ``stale`` (refused by the API as expired/revoked) unless someone already replaced it."""
        with _key_lock(self._key):  # not mid-exchange: compare-and-drop sees the newest token
            cached = _TOKENS.get(self._key)
            if cached is not None and cached.value == stale:
                del _TOKENS[self._key]

    def _exchange(self) -> tuple[str, float]:
        resp = self._post(self.endpoint, dict(self._form))
        try:
            body = resp.json()
        except ValueError:
            body = None
        body = body if isinstance(body, dict) else {}
        value = body.get("access_token")
        if resp.status_code != 200 or not isinstance(value, str) or not value:
            raise self._refused(
                LwaRefusal(
                    resp.status_code,
                    self._scrub(body.get("error") or "unknown_error", _ERROR_MAX_CHARS),
                    self._scrub(body.get("error_description") or "", _DESCRIPTION_MAX_CHARS),
                )
            )
        try:
            expires_in = float(body.get("expires_in", DEFAULT_EXPIRES_IN_S))
        except (TypeError, ValueError):
            expires_in = DEFAULT_EXPIRES_IN_S
        return value, expires_in

    def _scrub(self, text: object, limit: int) -> str:
        """LWA's error fields carry codes, not secrets; make sure of it before they reach a message."""
        text = str(text)
        for secret in self._secrets:  # before cutting, so no prefix of a secret survives
            text = text.replace(secret, "***")
        return text[:limit]
