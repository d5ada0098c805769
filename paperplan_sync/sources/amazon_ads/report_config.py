"""Pure helpers: ReportRequest -> create-report body (at most 31 days), and reading a 425 answer.

``ReportRequest.options`` (all optional, values are strings):

- ``columns`` / ``groupBy``: a JSON array (``'["campaignId","cost"]'``) or a comma list
  (``"campaignId, cost"``); replaces the preset's list.
- ``timeUnit``: ``DAILY`` (default) or ``SUMMARY``.
- ``adProduct``: defaults to the preset's (``SPONSORED_PRODUCTS``).
- ``filters``: a JSON array of ``{"field": ..., "values": [...]}``, passed through.

Unknown option keys raise ValueError, so a typo never silently pulls the default report.
"""

from __future__ import annotations

import json
import re
from datetime import date
from typing import Any

from paperplan_sync.sources.amazon_ads.settings import (
    AD_PRODUCT_SP,
    FORMAT_GZIP_JSON,
    KNOWN_OPTIONS,
    MAX_RANGE_DAYS,
    OPTION_AD_PRODUCT,
    OPTION_COLUMNS,
    OPTION_FILTERS,
    OPTION_GROUP_BY,
    OPTION_TIME_UNIT,
    PRESETS,
    TIME_UNIT_DAILY,
    TIME_UNIT_SUMMARY,
)
from paperplan_sync.sources.base import ReportRequest

_DUPLICATE_RE = re.compile(r"duplicate of\s*:?\s*([A-Za-z0-9][A-Za-z0-9_-]*)", re.IGNORECASE)
# The fields that decide which rows a report holds; name/format do not.
_MATCH_FIELDS = ("adProduct", "reportTypeId", "timeUnit", "groupBy", "columns", "filters")


def parse_list_option(key: str, value: str) -> list[str]:
    text = value.strip()
    if text.startswith("["):
        try:
            items = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"option {key!r} is not a valid JSON array: {exc.msg}") from None
        if not isinstance(items, list) or not all(isinstance(i, str) for i in items):
            raise ValueError(f"option {key!r} must be a JSON array of strings")
        return [i.strip() for i in items if i.strip()]
    return [part.strip() for part in text.split(",") if part.strip()]


def resolve_configuration(request: ReportRequest) -> dict[str, Any]:
    """The ``configuration`` object for a request: the preset, overridden by ``request.options``."""
    options = dict(request.options or {})
    unknown = sorted(set(options) - KNOWN_OPTIONS)
    if unknown:
        raise ValueError(f"unknown Amazon Ads report option(s) {unknown}; known: {sorted(KNOWN_OPTIONS)}")
    preset = PRESETS.get(request.report_type_id)

    columns = parse_list_option(OPTION_COLUMNS, options[OPTION_COLUMNS]) if OPTION_COLUMNS in options else None
    group_by = parse_list_option(OPTION_GROUP_BY, options[OPTION_GROUP_BY]) if OPTION_GROUP_BY in options else None
    if preset is None and (not columns or not group_by):
        raise ValueError(
            f"no preset for Ads report type {request.report_type_id!r}: give options 'columns' and 'groupBy' "
            f"(presets: {sorted(PRESETS)})"
        )
    columns = columns or list(preset.columns)  # type: ignore[union-attr]
    group_by = group_by or list(preset.group_by)  # type: ignore[union-attr]

    time_unit = options.get(OPTION_TIME_UNIT, preset.time_unit if preset else TIME_UNIT_DAILY).strip().upper()
    if time_unit not in (TIME_UNIT_DAILY, TIME_UNIT_SUMMARY):
        raise ValueError(f"option 'timeUnit' must be DAILY or SUMMARY, not {time_unit!r}")
    if time_unit == TIME_UNIT_SUMMARY:
        # Amazon rejects the whole request when `date` is asked for under SUMMARY.
        columns = [c for c in columns if c != "date"]
    elif "date" not in columns:
        # Without `date` a DAILY row cannot be told apart from the same campaign's other days.
        columns = ["date", *columns]

    configuration: dict[str, Any] = {
        "adProduct": options.get(OPTION_AD_PRODUCT, preset.ad_product if preset else AD_PRODUCT_SP).strip(),
        "groupBy": group_by,
        "columns": columns,
        "reportTypeId": request.report_type_id,
        "timeUnit": time_unit,
        "format": FORMAT_GZIP_JSON,
    }
    if OPTION_FILTERS in options:
        try:
            filters = json.loads(options[OPTION_FILTERS])
        except json.JSONDecodeError as exc:
            raise ValueError(f"option 'filters' is not valid JSON: {exc.msg}") from None
        if not isinstance(filters, list):
            raise ValueError("option 'filters' must be a JSON array")
        configuration["filters"] = filters
    return configuration


def _check_range(start: date, end: date) -> None:
    """ValueError for a reversed range or one beyond Amazon's 31 days (counted inclusively)."""
    if end < start:
        raise ValueError(f"Ads report range is reversed: {start} > {end}")
    days = (end - start).days + 1
    if days > MAX_RANGE_DAYS:
        raise ValueError(f"Amazon Ads reports cover at most {MAX_RANGE_DAYS} days; {start}..{end} is {days} days")


def build_create_body(request: ReportRequest, start: date, end: date) -> dict[str, Any]:
    _check_range(start, end)
    return {
        "name": f"paperplan_sync {request.report_type_id} {start.isoformat()}..{end.isoformat()}",
        "startDate": start.isoformat(),
        "endDate": end.isoformat(),
        "configuration": resolve_configuration(request),
    }


def duplicate_report_id(text: str) -> str | None:
    """The report id in a 425 answer ("The Request is a duplicate of : <reportId>"); Amazon gives it only
    inside the message."""
    match = _DUPLICATE_RE.search(text or "")
    return match.group(1) if match else None


def _canonical(value: Any) -> Any:
    if value is None:
        return []
    if isinstance(value, list):
        return sorted(json.dumps(v, sort_keys=True) for v in value)
    return value


def report_mismatch(existing: dict[str, Any], body: dict[str, Any]) -> str | None:
    """The first field where an existing report differs from our create body, else None.

    Amazon has been reported to flag DAILY and SUMMARY requests of one type as duplicates of each other;
    reusing one for the other would load the wrong rows, so a 425 id is checked before it is trusted.
    """
    for key in ("startDate", "endDate"):
        if str(existing.get(key) or "") != str(body.get(key) or ""):
            return key
    have, want = existing.get("configuration") or {}, body.get("configuration") or {}
    for key in _MATCH_FIELDS:
        if _canonical(have.get(key)) != _canonical(want.get(key)):
            return f"configuration.{key}"
    return None
