"""Typed configuration: report types and automations as the ops team edits them in Airtable."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PlainSerializer, PlainValidator, field_validator

from paperplan_sync.sources import registry
from paperplan_sync.timezones import DEFAULT_ZONE, Zone

Destination = Literal["MongoDB", "Airtable"]
RunKind = Literal["Daily", "Weekly", "Interval"]
WEEKDAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")

DEFAULT_START_DATE = date(2026, 1, 1)


def _whole_hours_zone(value: Any) -> Zone:
    return Zone.parse(value)


def _any_zone(value: Any) -> Zone:
    return Zone.parse(value, whole_hours=False)


_AS_TYPED = PlainSerializer(lambda zone: zone.spelling, return_type=str)
# A report type's day is a daily partition, which needs a named zone: whole hours or an IANA name.
ReportZone = Annotated[Zone, PlainValidator(_whole_hours_zone), _AS_TYPED]
# An automation's clock may also sit at a fractional offset (5.5 = UTC+05:30).
ClockZone = Annotated[Zone, PlainValidator(_any_zone), _AS_TYPED]


class ReportType(BaseModel):
    model_config = ConfigDict(frozen=True)

    record_id: str
    name: str = Field(pattern=r"^[a-z][a-z0-9_]{0,62}$")
    active: bool
    source: str = Field(default_factory=registry.default_name)  # a registered source (sources/registry.py)
    report_type_id: str = Field(min_length=1)
    real_time: bool = False
    offset_days: int = Field(default=0, ge=0, le=365)
    zone: ReportZone = DEFAULT_ZONE  # its days run midnight to midnight there (timezones.py)
    notify_on_fail: bool = False
    repeat_days: int = Field(default=0, ge=0, le=90)
    add_to_datapoints: bool = False
    empty_is_ok: bool = False  # an empty answer is a normal day, not the runbook's failure scenario 2
    destinations: tuple[Destination, ...] = ("MongoDB",)
    airtable_table: str | None = None
    airtable_key_fields: tuple[str, ...] = ()
    report_options: dict[str, str] = Field(default_factory=dict)
    start_date: date = DEFAULT_START_DATE
    description: str = ""

    @field_validator("source")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in registry.names():
            raise ValueError("must be one of the registered sources: " + ", ".join(registry.names()))
        return value

    @property
    def partitioned(self) -> bool:
        return not self.real_time


class Automation(BaseModel):
    model_config = ConfigDict(frozen=True)

    record_id: str
    name: str = Field(min_length=1)
    description: str = ""
    run: RunKind
    # Daily/Weekly: the time of day. Interval: the period (HH:MM), kept in ``every``.
    at: time | None = None
    every: timedelta | None = None
    zone: ClockZone = DEFAULT_ZONE  # Time is a clock time there
    weekday: int | None = Field(default=None, ge=0, le=6)  # Monday = 0, for Weekly
    disabled: bool = False
    report_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class ValidationProblem:
    """One bad value in one Airtable row; the row is skipped, everything else keeps running."""

    table: str
    record_id: str
    record_name: str | None
    field: str
    message: str

    def __str__(self) -> str:
        who = f"{self.record_id} ({self.record_name})" if self.record_name else self.record_id
        return f"{self.table} {who}, field '{self.field}': {self.message}"


@dataclass(frozen=True)
class SyncConfig:
    report_types: tuple[ReportType, ...] = ()
    automations: tuple[Automation, ...] = ()
    problems: tuple[ValidationProblem, ...] = ()
    origin: Literal["airtable", "snapshot", "cache", "none"] = "none"
    fetched_at: datetime | None = None
    # Why Airtable itself could not be used, when origin is "cache" or "none".
    unavailable_reason: str | None = None
    fingerprint: str = ""
    # The raw Airtable rows it was built from, as JSON text: what a run worker rebuilds it from.
    snapshot_json: str = ""

    @property
    def active_report_types(self) -> tuple[ReportType, ...]:
        return tuple(rt for rt in self.report_types if rt.active)

    def report_type(self, name: str) -> ReportType:
        for rt in self.report_types:
            if rt.name == name:
                return rt
        raise KeyError(name)
