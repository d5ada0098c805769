"""Build the Definitions from a loaded configuration and a set of resources."""

from __future__ import annotations

import dagster as dg

from paperplan_sync.config.models import SyncConfig


def build_definitions(config: SyncConfig, resources: dict[str, object]) -> dg.Definitions:
    return dg.Definitions(resources=resources)
