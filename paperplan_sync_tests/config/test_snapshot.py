"""The configuration is read from Airtable once per change: every later process start builds from the
shared snapshot at no Airtable call, and a run worker rebuilds exactly the code server's configuration."""

from __future__ import annotations

import importlib
import sys

from dagster._core.definitions.definitions_load_context import DefinitionsLoadContext, DefinitionsLoadType
from dagster._core.definitions.repository_definition import RepositoryLoadData

from paperplan_sync.config.loader import current_config, load_config
from paperplan_sync.resources import airtable_resource, resolved


def test_a_process_start_reads_the_snapshot_not_airtable(airtable, airtable_resource):
    first = current_config(airtable_resource)  # no snapshot yet: read Airtable once
    assert first.origin == "airtable"
    airtable.clear_stats()

    again = current_config(airtable_resource)

    assert again.origin == "snapshot" and again.fingerprint == first.fingerprint
    assert airtable.stats()["requests"] == 0


def test_a_run_worker_rebuilds_the_code_servers_configuration(airtable, airtable_env):
    sys.modules.pop("paperplan_sync.definitions", None)
    with DefinitionsLoadContext.scoped(DefinitionsLoadContext(DefinitionsLoadType.INITIALIZATION)):
        server = importlib.import_module("paperplan_sync.definitions")
    metadata = {k: v.data for k, v in server.defs.metadata.items()}
    assert {rt.name for rt in server.config.active_report_types} >= {"sales_report"}

    # The snapshot moves on (a report type deactivated) between the launch and the run's start.
    table = airtable.table("Report Types")
    table.update(table.first(formula="{Name}='sales_report'")["id"], {"Status": "Inactive"}, typecast=True)
    assert "sales_report" not in {rt.name for rt in load_config(resolved(airtable_resource())).active_report_types}

    sys.modules.pop("paperplan_sync.definitions", None)
    worker_context = DefinitionsLoadContext(
        DefinitionsLoadType.RECONSTRUCTION,
        RepositoryLoadData(cacheable_asset_data={}, reconstruction_metadata=metadata),
    )
    with DefinitionsLoadContext.scoped(worker_context):
        worker = importlib.import_module("paperplan_sync.definitions")
    sys.modules.pop("paperplan_sync.definitions", None)

    assert worker.config.fingerprint == server.config.fingerprint
    assert "sales_report" in {rt.name for rt in worker.config.active_report_types}
