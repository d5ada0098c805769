"""The code location loads from the local Airtable, with `dagster` itself, and without Airtable."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import pytest

from paperplan_sync.assembly import build_definitions
from paperplan_sync.config.loader import load_config
from paperplan_sync.config.models import SyncConfig
from paperplan_sync.resources import production_resources

DAGSTER = str(Path(sys.executable).parent / "dagster")


@pytest.mark.slow
def test_dagster_loads_the_code_location_from_the_local_base(airtable_env, tmp_path):
    env = {**os.environ, "DAGSTER_HOME": str(tmp_path)}
    result = subprocess.run(
        [DAGSTER, "definitions", "validate", "-m", "paperplan_sync.definitions"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_active_report_types_become_assets_and_inactive_do_not(airtable_resource):
    defs = build_definitions(load_config(airtable_resource), production_resources())
    keys = {key.to_user_string() for key in defs.resolve_asset_graph().get_all_asset_keys()}

    assert {
        "amazon_sp/sales_report",
        "amazon_sp/fba_inventory",
        "amazon_sp/merchant_listings",
        "amazon_datakiosk/sales_and_traffic",
        "amazon_ads/ads_campaigns",
    } <= keys
    assert not any("returns_report" in k for k in keys)
    assert not any("sales_and_traffic_reports_api" in k for k in keys)


def test_without_any_configuration_the_location_still_loads():
    defs = build_definitions(SyncConfig(origin="none", unavailable_reason="test"), production_resources())
    dg.Definitions.validate_loadable(defs)
