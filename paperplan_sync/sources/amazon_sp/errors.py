"""Errors of the SP-API client. Messages carry Amazon's error codes, never credentials or presigned URLs."""

from __future__ import annotations

from typing import Any

from paperplan_sync.sources.base import ReportFailed
from paperplan_sync.sources.spapi_family import describe_errors

__all__ = ["LWAAuthError", "ReportDocumentError", "SPAPIError", "describe_errors"]


class SPAPIError(Exception):
    """An SP-API call failed (4xx, or 5xx / network after bounded retries)."""

    def __init__(
        self,
        message: str,
        *,
        operation: str,
        status: int | None = None,
        errors: list[dict[str, Any]] | None = None,
        request_id: str | None = None,
    ):
        super().__init__(message)
        self.operation = operation
        self.status = status
        self.errors = errors or []
        self.request_id = request_id

    @property
    def code(self) -> str | None:
        return self.errors[0].get("code") if self.errors else None


class LWAAuthError(SPAPIError):
    """Login with Amazon refused the token exchange (bad client credentials or refresh token)."""


class ReportDocumentError(ReportFailed):
    """The report document could not be downloaded or decoded as a whole (expired URL, truncated gzip, ...).

    Raised at the point the problem is found, which for a truncated stream is after the chunks before it were
    yielded: callers must treat everything read from that stream as void (write per report, not per chunk,
    or upsert idempotently and re-run)."""
