"""What every Selling Partner API source shares (Reports 2021-06-30, Data Kiosk 2023-11-15): one LWA app and
refresh token under the same environment variables, the regional endpoint, the ``x-amz-access-token`` header,
a 403 naming the access token as the refusal worth one refresh, the ``errors`` array of an answer and the rate
Amazon applied (``x-amzn-RateLimit-Limit``). ``SpApiSource`` is the ``ApiSource`` with those pieces; each
SP-API source extends it, so no source imports another.
"""

from __future__ import annotations

from typing import Any, ClassVar

import httpx
from pydantic import Field

from paperplan_sync.sources.base import ReportRequest
from paperplan_sync.sources.http import ApiSource

DEFAULT_ENDPOINT = "https://sellingpartnerapi-na.amazon.com"
DEFAULT_MARKETPLACE_IDS = "ATVPDKIKX0DER"  # amazon.com (US)

ACCESS_TOKEN_HEADER = "x-amz-access-token"
RATE_LIMIT_HEADER = "x-amzn-RateLimit-Limit"
REQUEST_ID_HEADER = "x-amzn-RequestId"
TOKEN_REFRESH_MARGIN_S = 60.0  # refresh the LWA token this long before it expires

# Environment variables (read through paperplan_sync.settings; secrets go through dagster.EnvVar): one
# Selling Partner app, whichever SP-API source uses it.
ENV_SECRETS = {
    "client_id": "SPAPI_LWA_CLIENT_ID",
    "client_secret": "SPAPI_LWA_CLIENT_SECRET",
    "refresh_token": "SPAPI_REFRESH_TOKEN",
}
ENV_SETTINGS = {
    "endpoint": "SPAPI_ENDPOINT",
    "lwa_endpoint": "SPAPI_LWA_ENDPOINT",
    "marketplace_ids": "SPAPI_MARKETPLACE_IDS",  # comma-separated, e.g. "ATVPDKIKX0DER,A2EUQ1WTGCTBG2"
}
# Tuning knobs for the stand-ins; production keeps the defaults (Amazon's rates, 5 s first poll).
ENV_NUMBERS = {"rate_limit_scale": "SPAPI_RATE_LIMIT_SCALE", "poll_initial_s": "SPAPI_POLL_INITIAL_S"}


def error_list(resp: httpx.Response) -> list[dict[str, Any]]:
    """The ``errors`` array of an SP-API answer (a body that is not JSON becomes one error)."""
    try:
        body = resp.json()
    except ValueError:
        return [{"code": str(resp.status_code), "message": resp.text[:200]}]
    errors = body.get("errors") if isinstance(body, dict) else None
    return errors if isinstance(errors, list) else []


def is_token_problem(errors: list[dict[str, Any]]) -> bool:
    """403s worth one token refresh: expired / revoked / missing token (code Unauthorized or the wording)."""
    for e in errors:
        text = f"{e.get('message', '')} {e.get('details', '')}".lower()
        if e.get("code") in ("Unauthorized", "InvalidToken", "MissingAuthenticationToken"):
            return True
        if "access token" in text and ("expired" in text or "invalid" in text):
            return True
    return False


def applied_rate(resp: httpx.Response) -> float:
    """The rate (requests/s) Amazon applied to the call, from ``x-amzn-RateLimit-Limit``; 0.0 when absent."""
    try:
        return float(resp.headers.get(RATE_LIMIT_HEADER, ""))
    except ValueError:
        return 0.0


def describe_errors(errors: list[dict[str, Any]]) -> str:
    """``code: message (details)`` of the first three errors."""
    parts = []
    for e in errors[:3]:
        text = f"{e.get('code', '?')}: {e.get('message', '')}"
        if e.get("details"):
            text += f" ({e['details']})"
        parts.append(text)
    return "; ".join(parts) or "no error body"


class SpApiSource(ApiSource):
    """The ``ApiSource`` of a Selling Partner API: its header, its token refusal, its endpoint and marketplaces."""

    token_margin_s: ClassVar[float] = TOKEN_REFRESH_MARGIN_S

    endpoint: str = Field(default=DEFAULT_ENDPOINT, description="SP-API regional endpoint.")
    marketplace_ids: str = Field(
        default=DEFAULT_MARKETPLACE_IDS, description="Comma-separated marketplace ids (SPAPI_MARKETPLACE_IDS)."
    )

    @property
    def marketplaces(self) -> list[str]:
        return [m.strip() for m in self.marketplace_ids.split(",") if m.strip()]

    def access_note(self) -> str:
        return f"marketplaces {', '.join(self.marketplaces)}"

    def auth_headers(self, token: str) -> dict[str, str]:
        return {ACCESS_TOKEN_HEADER: token, "Accept": "application/json"}

    def token_refused(self, resp: httpx.Response) -> bool:
        return resp.status_code == 403 and is_token_problem(error_list(resp))

    def request_report(self, request: ReportRequest) -> str:
        """The one-request case of ``request_reports`` (which each SP-API source implements: one lookup of what
        is already in flight per run, then its creates)."""
        outcome = next(self.request_reports([request]))
        if isinstance(outcome, Exception):
            raise outcome
        return outcome
