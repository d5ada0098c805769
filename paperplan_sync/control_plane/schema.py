"""The SYNC base's schema and demo rows, kept as data (sync_base.json) apart from the code using them."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

from paperplan_sync.sources import registry

TABLE_OVERVIEW = "Overview"
TABLE_LOGS = "Logs"
TABLE_REPORT_TYPES = "Report Types"
TABLE_AUTOMATIONS = "Automations"
TABLE_REPORTS = "Reports"
# The tables people edit to configure the product: read on every change, watched from every source.
CONFIG_TABLES = (TABLE_REPORT_TYPES, TABLE_AUTOMATIONS)


@cache
def load_base_schema() -> dict[str, Any]:
    """The SYNC base: ``{"tables": [{"name", "fields": [{"name", "type", "options"?}], "demo_records": [...]}]}``.

    The first field of each table is its primary field. In ``demo_records`` a ``multipleRecordLinks`` value
    lists the *primary field values* of the linked records (resolved to record ids when seeding).
    """
    text = resources.files(__package__).joinpath("sync_base.json").read_text(encoding="utf-8")
    schema = json.loads(text)
    default_first = sorted(registry.names(), key=lambda name: not registry.get(name).default)
    _source_field(schema)["options"] = {"choices": [{"name": name} for name in default_first]}
    return schema


def _source_field(schema: dict[str, Any]) -> dict[str, Any]:
    """Report Types' ``Source``: its choices are the registered sources (a new API is one folder, no JSON edit)."""
    [table] = [t for t in schema["tables"] if t["name"] == TABLE_REPORT_TYPES]
    [field] = [f for f in table["fields"] if f["name"] == "Source"]
    return field


def table_schema(name: str) -> dict[str, Any]:
    for table in load_base_schema()["tables"]:
        if table["name"] == name:
            return table
    raise KeyError(f"no table {name!r} in the SYNC base schema")
