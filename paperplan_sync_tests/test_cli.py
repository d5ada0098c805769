"""The `paperplan-sync` command as an operator runs it, against the stand-ins."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from paperplan_local.ads import (
    DEV_CLIENT_ID as ADS_ID,
)
from paperplan_local.ads import (
    DEV_CLIENT_SECRET as ADS_SECRET,
)
from paperplan_local.ads import (
    DEV_PROFILE_ID,
)
from paperplan_local.ads import (
    DEV_REFRESH_TOKEN as ADS_TOKEN,
)
from paperplan_local.slack import DEV_TOKEN
from paperplan_local.spapi import DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN

pytestmark = pytest.mark.slow  # the CLI against every stand-in, doctor included

CLI = str(Path(sys.executable).parent / "paperplan-sync")


def run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(
        [CLI, *args], env={**os.environ, **env, "COLUMNS": "200"}, capture_output=True, text=True, timeout=120
    )


def test_init_airtable_then_doctor_pass_on_an_empty_base(
    start_airtable_server, mongo_server, spapi, ads, slack, tmp_path
):
    with start_airtable_server(seed=False, rate_limit_per_s=0) as airtable:
        env = {
            "AIRTABLE_ENDPOINT_URL": airtable.url,
            "AIRTABLE_API_KEY": airtable.api_key,
            "AIRTABLE_BASE_ID": airtable.base_id,
            "MONGODB_URI": mongo_server.uri,
            "MONGODB_DATABASE": "cli_test",
            "SPAPI_ENDPOINT": spapi.url,
            "SPAPI_LWA_ENDPOINT": f"{spapi.url}/auth/o2/token",
            "SPAPI_LWA_CLIENT_ID": DEV_CLIENT_ID,
            "SPAPI_LWA_CLIENT_SECRET": DEV_CLIENT_SECRET,
            "SPAPI_REFRESH_TOKEN": DEV_REFRESH_TOKEN,
            "ADS_ENDPOINT": ads.url,
            "ADS_LWA_ENDPOINT": f"{ads.url}/auth/o2/token",
            "ADS_LWA_CLIENT_ID": ADS_ID,
            "ADS_LWA_CLIENT_SECRET": ADS_SECRET,
            "ADS_REFRESH_TOKEN": ADS_TOKEN,
            "ADS_PROFILE_ID": DEV_PROFILE_ID,
            "SLACK_BASE_URL": f"{slack.url}/api/",
            "SLACK_BOT_TOKEN": DEV_TOKEN,
            "DAGSTER_HOME": str(tmp_path),
            "PAPERPLAN_STATE_DIR": str(tmp_path / "state"),
        }
        before = run(["doctor"], env)
        init = run(["init-airtable"], env)
        again = run(["init-airtable"], env)
        after = run(["doctor"], env)

    assert before.returncode == 1 and "init-airtable" in before.stdout  # the fix is named
    assert init.returncode == 0 and "Changes made" in init.stdout
    assert "nothing to change" in again.stdout
    assert after.returncode == 0, after.stdout
    assert "All checks passed" in after.stdout
    for secret in (airtable.api_key, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN, DEV_TOKEN, ADS_SECRET):
        assert secret not in before.stdout + after.stdout + init.stdout


def test_config_show_names_bad_rows_and_the_cache(airtable_env, airtable, airtable_resource):
    airtable_resource.table("Automations").create({"Name": "broken", "Run": "Daily", "Time": "7am"})
    env = {
        k: os.environ[k]
        for k in ("AIRTABLE_ENDPOINT_URL", "AIRTABLE_API_KEY", "AIRTABLE_BASE_ID", "PAPERPLAN_STATE_DIR")
    }

    shown = run(["config", "show"], env)
    airtable.inject(status=503, count=100)
    cached = run(["config", "show"], env)

    assert shown.returncode == 0 and "sales_report" in shown.stdout and "read from Airtable" in shown.stdout
    assert "Automations" in shown.stdout and "'Time'" in shown.stdout and "7am" in shown.stdout
    assert "using the cached copy" in cached.stdout and "sales_report" in cached.stdout
