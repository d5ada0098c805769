"""Errors of the Amazon Ads source. ReportFailed / ReportTimeout (from sources.base) cover report states."""

from __future__ import annotations


class AdsError(Exception):
    """Base of the errors below."""


class AdsAuthError(AdsError):
    """LWA refused the credentials, or the Ads API kept answering 401 after a token refresh."""


class AdsApiError(AdsError):
    """The Ads API answered with an error that retrying will not fix (4xx other than 401/425/429)."""

    def __init__(self, message: str, *, status: int | None = None):
        super().__init__(message)
        self.status = status


class AdsUnavailable(AdsError):
    """429 / 5xx / network errors persisted beyond the retry budget."""


class AdsDownloadError(AdsError):
    """The report document could not be downloaded (e.g. its URL expired and no fresh one came)."""


class AdsReportParseError(AdsError, ValueError):
    """The downloaded document is not a JSON array (truncated or corrupt)."""
