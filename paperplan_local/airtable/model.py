"""The base's shape as plain objects: tables, their fields and views, and records (cells keyed by field id)."""

from __future__ import annotations

import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any

_ID_ALPHABET = string.ascii_letters + string.digits


def new_id(prefix: str) -> str:
    """Airtable ids are a three-letter prefix and 14 letters or digits (``rec8I9aLDoFQrEAvN``)."""
    return prefix + "".join(secrets.choice(_ID_ALPHABET) for _ in range(14))


def utc_timestamp(moment: datetime | None = None) -> str:
    """Airtable's timestamp form: UTC, milliseconds, ``Z``."""
    moment = (moment or datetime.now(timezone.utc)).astimezone(timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@dataclass
class Field:
    id: str
    name: str
    type: str
    options: dict[str, Any] | None = None
    description: str | None = None

    def meta(self) -> dict[str, Any]:
        out: dict[str, Any] = {"id": self.id, "name": self.name, "type": self.type}
        if self.description:
            out["description"] = self.description
        if self.options is not None:
            out["options"] = self.options
        return out

    def choice_names(self) -> list[str]:
        return [choice["name"] for choice in (self.options or {}).get("choices", [])]


@dataclass
class View:
    id: str
    name: str
    filter: str | None = None  # a formula; the SYNC schema describes its views' filters this way

    def meta(self) -> dict[str, Any]:
        return {"id": self.id, "name": self.name, "type": "grid"}


@dataclass
class Table:
    id: str
    name: str
    fields: list[Field]
    views: list[View]
    description: str | None = None

    @property
    def primary(self) -> Field:
        return self.fields[0]

    def field(self, id_or_name: str) -> Field | None:
        for candidate in self.fields:
            if id_or_name in (candidate.id, candidate.name):
                return candidate
        return None

    def view(self, id_or_name: str) -> View | None:
        return next((v for v in self.views if id_or_name in (v.id, v.name)), None)

    def meta(self, visible_field_ids: bool = False) -> dict[str, Any]:
        views = [v.meta() for v in self.views]
        if visible_field_ids:
            views = [{**v, "visibleFieldIds": [f.id for f in self.fields]} for v in views]
        out: dict[str, Any] = {"id": self.id, "name": self.name, "primaryFieldId": self.primary.id}
        if self.description:
            out["description"] = self.description
        return {**out, "fields": [f.meta() for f in self.fields], "views": views}


@dataclass
class Record:
    id: str
    created_time: str
    cells: dict[str, Any] = field(default_factory=dict)  # field id -> stored value; empty cells absent
