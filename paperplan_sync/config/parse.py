"""Airtable rows -> typed models. Every bad value becomes a ValidationProblem naming table, record and field."""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import time, timedelta
from typing import Any

from pydantic import ValidationError

from paperplan_sync.config.models import (
    WEEKDAYS,
    Automation,
    ReportType,
    ValidationProblem,
)
from paperplan_sync.control_plane.schema import TABLE_AUTOMATIONS, TABLE_REPORT_TYPES
from paperplan_sync.sources import registry
from paperplan_sync.timezones import Zone, ZoneError

Record = dict[str, Any]  # {"id": ..., "fields": {...}} as the Airtable API returns it

# Airtable field name <- model attribute, so a problem names the field the ops person sees.
REPORT_TYPE_FIELDS = {
    "name": "Name",
    "active": "Status",
    "source": "Source",
    "report_type_id": "Report Type Id",
    "real_time": "Real-time",
    "offset_days": "Offset",
    "zone": "Timezone",
    "notify_on_fail": "Notify On Fail",
    "repeat_days": "Repeat after N days",
    "add_to_datapoints": "Add to Datapoints",
    "empty_is_ok": "Empty Is OK",
    "destinations": "Destination",
    "airtable_table": "Airtable Table",
    "airtable_key_fields": "Airtable Key Fields",
    "report_options": "Report Options",
    "start_date": "Start Date",
    "description": "Description",
}
AUTOMATION_FIELDS = {
    "name": "Name",
    "description": "Description",
    "run": "Run",
    "at": "Time",
    "every": "Time",
    "zone": "Timezone",
    "weekday": "Weekday",
    "disabled": "Disable",
    "report_types": "Report Types",
}
# Fields every valid row has: when no row of a table has one, it was renamed or deleted in the base.
REQUIRED_FIELDS = {TABLE_REPORT_TYPES: ("Name", "Status", "Report Type Id"), TABLE_AUTOMATIONS: ("Name", "Run", "Time")}
# Amazon's report options are a few short key=value pairs; a page of text there is a paste gone wrong.
MAX_OPTIONS_CHARS = 10_000
SHOWN_CHARS = 80  # a bad value quoted in Logs and Slack is cut to this
_HHMM = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")
_INTERVAL = re.compile(r"^(\d{1,3}):([0-5]\d)$")


class _RowError(Exception):
    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field, self.message = field, message


def _problems_from(exc: ValidationError, table: str, record: Record, names: dict[str, str]) -> list[ValidationProblem]:
    out = []
    for err in exc.errors():
        attr = str(err["loc"][0]) if err["loc"] else "?"
        value = err.get("input")
        shown = f" (got {_shown(value)})" if value is not None and not isinstance(value, dict) else ""
        out.append(_problem(table, record, names.get(attr, attr), f"{err['msg']}{shown}"))
    return out


def _shown(value: Any) -> str:
    """A bad value as a problem quotes it: its repr, cut short (a 1 MB paste must not reach Slack)."""
    text = repr(value)
    return text if len(text) <= SHOWN_CHARS else f"{text[:SHOWN_CHARS]}... ({len(text):,} characters)"


def missing_fields(table: str, records: list[Record]) -> list[str]:
    """Required fields that no row of ``table`` has (Airtable leaves empty cells out, so one row with the
    field is enough to show it exists)."""
    if not records:
        return []
    present = {name for r in records for name in r.get("fields", {})}
    return [f for f in REQUIRED_FIELDS.get(table, ()) if f not in present]


def _problem(table: str, record: Record, field: str, message: str) -> ValidationProblem:
    name = record.get("fields", {}).get("Name")
    return ValidationProblem(table, record.get("id", "?"), str(name) if name else None, field, message)


def _options(raw: str | None) -> dict[str, str]:
    """Report Options: a JSON object, or ``key=value`` lines."""
    if not raw or not raw.strip():
        return {}
    text = raw.strip()
    if len(text) > MAX_OPTIONS_CHARS:
        raise _RowError(
            "Report Options", f"is {len(text):,} characters long, at most {MAX_OPTIONS_CHARS:,}: a few key=value lines"
        )
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _RowError("Report Options", f"not valid JSON: {exc.msg} at position {exc.pos}") from exc
        if not isinstance(value, dict):
            raise _RowError("Report Options", "must be a JSON object")
        return {str(k): str(v) for k, v in value.items()}
    options = {}
    for n, line in enumerate(text.splitlines(), 1):
        if line.strip():
            key, sep, value = line.partition("=")
            if not sep or not key.strip():
                raise _RowError("Report Options", f"line {n} is not key=value: {_shown(line.strip())}")
            options[key.strip()] = value.strip()
    return options


def _number(fields: dict[str, Any], name: str) -> Any:
    value = fields.get(name)
    if isinstance(value, str):  # typed as text by someone: accept "-7", refuse "abc" with the field named
        try:
            return float(value) if "." in value else int(value)
        except ValueError as exc:
            raise _RowError(name, f"must be a number, got {_shown(value)}") from exc
    return value


def _zone(fields: dict[str, Any], *, whole_hours: bool = True) -> Zone:
    """Timezone: empty (the default), a number (a number-typed field of an older base) or text: a number
    or an IANA name."""
    try:
        return Zone.parse(fields.get("Timezone"), whole_hours=whole_hours)
    except ZoneError as exc:
        raise _RowError("Timezone", str(exc)) from exc


def parse_report_type(record: Record) -> ReportType:
    f = record.get("fields", {})
    status = f.get("Status")
    if status not in ("Active", "Inactive"):
        raise _RowError("Status", f"must be Active or Inactive, got {_shown(status)}")
    destinations = f.get("Destination") or ["MongoDB"]
    if isinstance(destinations, str):
        destinations = [destinations]
    key_fields = tuple(k.strip() for k in (f.get("Airtable Key Fields") or "").split(",") if k.strip())
    if "Airtable" in destinations and not (f.get("Airtable Table") and key_fields):
        raise _RowError("Airtable Table", "Destination includes Airtable: set Airtable Table and Airtable Key Fields")
    values = {
        "record_id": record["id"],
        "name": (f.get("Name") or "").strip(),
        "active": status == "Active",
        "source": f.get("Source") or registry.default_name(),
        "report_type_id": (f.get("Report Type Id") or "").strip(),
        "real_time": bool(f.get("Real-time")),
        "offset_days": _number(f, "Offset") or 0,
        "zone": _zone(f),
        "notify_on_fail": bool(f.get("Notify On Fail")),
        "repeat_days": _number(f, "Repeat after N days") or 0,
        "add_to_datapoints": bool(f.get("Add to Datapoints")),
        "empty_is_ok": bool(f.get("Empty Is OK")),
        "destinations": tuple(destinations),
        "airtable_table": f.get("Airtable Table") or None,
        "airtable_key_fields": key_fields,
        "report_options": _options(f.get("Report Options")),
        "description": f.get("Description") or "",
    }
    if f.get("Start Date"):
        values["start_date"] = f["Start Date"]
    return ReportType.model_validate(values)


def _clock(value: Any, run: str) -> dict[str, Any]:
    text = str(value or "").strip()
    if run == "Interval":
        match = _INTERVAL.match(text)
        if not match or (int(match[1]) == 0 and int(match[2]) < 5):
            raise _RowError(
                "Time", f"for Run = Interval, Time is the period as HH:MM, at least 00:05; got {_shown(text)}"
            )
        return {"every": timedelta(hours=int(match[1]), minutes=int(match[2]))}
    match = _HHMM.match(text)
    if not match:
        raise _RowError("Time", f"must be a 24h time HH:MM such as 06:30, got {_shown(text)}")
    return {"at": time(int(match[1]), int(match[2]))}


def parse_automation(record: Record, report_type_names: dict[str, str]) -> tuple[Automation, list[str]]:
    """Returns the automation and the linked record ids that are not (valid) report types."""
    f = record.get("fields", {})
    run = f.get("Run")
    if run not in ("Daily", "Weekly", "Interval"):
        raise _RowError("Run", f"must be Daily, Weekly or Interval, got {_shown(run)}")
    weekday = f.get("Weekday")
    if run == "Weekly" and weekday not in WEEKDAYS:
        raise _RowError("Weekday", f"Run = Weekly needs a Weekday (Monday..Sunday), got {_shown(weekday)}")
    links = f.get("Report Types") or []
    unknown = [rid for rid in links if rid not in report_type_names]
    automation = Automation.model_validate(
        {
            "record_id": record["id"],
            "name": (f.get("Name") or "").strip(),
            "description": f.get("Description") or "",
            "run": run,
            **_clock(f.get("Time"), run),
            "zone": _zone(f, whole_hours=False),
            "weekday": WEEKDAYS.index(weekday) if run == "Weekly" else None,
            "disabled": bool(f.get("Disable")),
            "report_types": tuple(report_type_names[rid] for rid in links if rid in report_type_names),
        }
    )
    return automation, unknown


def parse_tables(
    report_type_records: Iterable[Record], automation_records: Iterable[Record]
) -> tuple[list[ReportType], list[Automation], list[ValidationProblem]]:
    problems: list[ValidationProblem] = []
    report_types: dict[str, ReportType] = {}
    for record in report_type_records:
        try:
            rt = parse_report_type(record)
        except _RowError as exc:
            problems.append(_problem(TABLE_REPORT_TYPES, record, exc.field, exc.message))
            continue
        except ValidationError as exc:
            problems.extend(_problems_from(exc, TABLE_REPORT_TYPES, record, REPORT_TYPE_FIELDS))
            continue
        if rt.name in report_types:
            first = report_types[rt.name].record_id
            problems.append(
                _problem(
                    TABLE_REPORT_TYPES,
                    record,
                    "Name",
                    f"duplicate report name {rt.name!r} (also {first}); this row is skipped",
                )
            )
            continue
        report_types[rt.name] = rt

    by_record_id = {rt.record_id: rt.name for rt in report_types.values()}
    automations: list[Automation] = []
    for record in automation_records:
        try:
            automation, unknown = parse_automation(record, by_record_id)
        except _RowError as exc:
            problems.append(_problem(TABLE_AUTOMATIONS, record, exc.field, exc.message))
            continue
        except ValidationError as exc:
            problems.extend(_problems_from(exc, TABLE_AUTOMATIONS, record, AUTOMATION_FIELDS))
            continue
        if unknown:
            problems.append(
                _problem(
                    TABLE_AUTOMATIONS,
                    record,
                    "Report Types",
                    f"links to report types that are missing or invalid ({', '.join(unknown)}); runs the others",
                )
            )
        automations.append(automation)
    return list(report_types.values()), automations, problems
