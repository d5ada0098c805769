"""Airtable's error answers. Most are ``{"error": {"type", "message"}}``; a plain 404 is ``{"error": "NOT_FOUND"}``."""

from __future__ import annotations

from typing import Any

RETRIABLE_MESSAGE = "Server encountered an error while processing your request, and it is safe to retry the request"


class ApiError(Exception):
    def __init__(self, status: int, type_: str, message: str | None = None):
        super().__init__(f"{status} {type_}: {message}")
        self.status, self.type, self.message = status, type_, message

    def body(self) -> dict[str, Any]:
        if self.message is None:
            return {"error": self.type}
        return {"error": {"type": self.type, "message": self.message}}


def not_found() -> ApiError:
    return ApiError(404, "NOT_FOUND")


def invalid_request(
    message: str = "Invalid request: parameter validation failed. Check your request data.",
) -> ApiError:
    return ApiError(422, "INVALID_REQUEST_UNKNOWN", message)


def unknown_field(name: str) -> ApiError:
    return ApiError(422, "UNKNOWN_FIELD_NAME", f'Unknown field name: "{name}"')


def invalid_value(field_name: str, value: Any) -> ApiError:
    return ApiError(
        422, "INVALID_VALUE_FOR_COLUMN", f'Field "{field_name}" cannot accept the provided value: {repr(value)[:200]}'
    )


def invalid_formula(detail: str) -> ApiError:
    return ApiError(422, "INVALID_FILTER_BY_FORMULA", f"The formula for filtering records is invalid: {detail}")


def status_error(status: int) -> ApiError:
    """What a fault-injected status looks like: Airtable's own body for that status where it has one."""
    if status == 429:
        return rate_limited()
    if status == 503:
        return ApiError(503, "RETRIABLE_ERROR", RETRIABLE_MESSAGE)
    if status == 404:
        return not_found()
    return ApiError(
        status, "SERVER_ERROR" if status >= 500 else "INVALID_REQUEST_UNKNOWN", f"Injected fault: HTTP {status}"
    )


class RateLimited(ApiError):
    """Observed 429 bodies use a list form (``{"errors": [{"error", "message"}]}``), although Airtable's
    errors page shows the usual object form; clients should go by the status code."""

    def __init__(self) -> None:
        super().__init__(429, "RATE_LIMIT_REACHED", "Rate limit exceeded. Please try again later")

    def body(self) -> dict[str, Any]:
        return {"errors": [{"error": self.type, "message": self.message}]}


def rate_limited() -> ApiError:
    return RateLimited()
