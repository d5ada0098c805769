"""Amazon Selling Partner API -- Reports 2021-06-30 source (``AmazonSPReportsResource``)."""

from .client import AmazonSPReportsResource, day_window
from .errors import LWAAuthError, ReportDocumentError, SPAPIError
from .lwa import clear_token_cache
from .parsing import DocumentTruncated
from .ratelimit import reset_buckets

__all__ = [
    "AmazonSPReportsResource",
    "DocumentTruncated",
    "LWAAuthError",
    "ReportDocumentError",
    "SPAPIError",
    "clear_token_cache",
    "day_window",
    "reset_buckets",
]
