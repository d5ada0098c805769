"""Ads side of Login with Amazon: the shared provider (``sources.lwa``) with the Ads sender and errors.

The token cache itself is shared by every resource in the process (see ``sources.lwa``); this module adds
only what is Ads-specific: posting through the resource's retrying sender (429 / 5xx / network handled
there) and reporting every failure to get a token as ``AdsAuthError``.
"""

from __future__ import annotations

from collections.abc import Callable

import httpx

from paperplan_sync.sources import lwa
from paperplan_sync.sources.amazon_ads.errors import AdsAuthError, AdsUnavailable
from paperplan_sync.sources.amazon_ads.settings import TOKEN_REFRESH_MARGIN_S


class LwaTokenProvider(lwa.LwaTokenProvider):
    """The shared LWA token provider, posting through ``send`` (the resource's ``_send``)."""

    def __init__(
        self,
        credentials: lwa.LwaCredentials,
        *,
        send: Callable[..., httpx.Response],
        margin_s: float = TOKEN_REFRESH_MARGIN_S,
    ):
        super().__init__(
            credentials, post=self._post, refused=lambda refusal: AdsAuthError(refusal.message), margin_s=margin_s
        )
        self._send = send

    def _post(self, url: str, form: dict[str, str]) -> httpx.Response:
        try:
            return self._send("POST", url, data=form, what="LWA token exchange")
        except AdsUnavailable as exc:
            raise AdsAuthError(f"LWA token endpoint unavailable: {exc}") from None
