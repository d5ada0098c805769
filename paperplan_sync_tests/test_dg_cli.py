"""`dg`, Dagster's project CLI, from the checkout's root as a developer runs it ([tool.dg] in pyproject.toml),
with `make dev`'s local instance settings in DAGSTER_HOME."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from paperplan_local.up import dagster_home

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "dagster_home"))
    return dagster_home()


def dg(*args: str) -> subprocess.CompletedProcess:
    # As with the venv activated: its bin first on PATH, VIRTUAL_ENV set (else dg warns about the project's .venv).
    env = {**os.environ, "PATH": f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": sys.prefix}
    result = subprocess.run(["dg", *args], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dagster.yaml" not in result.stdout + result.stderr  # no "not found" / "ignored" instance warning
    return result


def test_no_dagster_yaml_at_the_root():
    # `dagster dev` / `dg dev` started here would warn that it is not DAGSTER_HOME's and is ignored.
    assert not (ROOT / "dagster.yaml").exists() and not (ROOT / "dagster.yml").exists()


@pytest.mark.slow
def test_check_defs_passes_without_airtable(home, monkeypatch):
    for key in [k for k in os.environ if k.startswith("AIRTABLE_")]:
        monkeypatch.delenv(key)

    assert "All definitions loaded successfully" in dg("check", "defs").stdout
    listed = json.loads(dg("list", "defs", "--json").stdout)
    # No configuration, so no report assets; the sensors that report on it still load.
    assert listed["assets"] == []
    assert {"heartbeat", "report_failure_alerts"} <= {s["name"] for s in listed["sensors"]}
    assert (home / "dagster.yaml").read_text() == (ROOT / "paperplan_local" / "dagster.yaml").read_text()


@pytest.mark.slow
def test_list_defs_lists_the_report_assets_of_the_local_base(home, airtable_env):
    assert "All definitions loaded successfully" in dg("check", "defs").stdout
    assets = {a["asset_key"] for a in json.loads(dg("list", "defs", "--json").stdout)["assets"]}
    assert {"amazon_sp/sales_report", "amazon_ads/ads_campaigns"} <= assets
