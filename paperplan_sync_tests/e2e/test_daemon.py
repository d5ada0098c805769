"""The product under a real Dagster daemon: Airtable edits take effect, failures reach Slack once,
unchecking Fail re-runs a report, and the heartbeat beats."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from paperplan_local.stack import report_runs
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync_tests.fixtures.dagster_dev import INSTANCES, wait_until

pytestmark = [pytest.mark.e2e, INSTANCES]  # the local instance, and the production one on PostgreSQL
GMT_MINUS_7 = timedelta(hours=-7)


@pytest.fixture(scope="module")
def base(airtable_server) -> AirtableResource:
    airtable_server.reset()
    return AirtableResource(
        api_key=airtable_server.api_key,
        base_id=airtable_server.base_id,
        endpoint_url=airtable_server.url,
        requests_per_second=100,
    )


def soon_in_gmt_minus_7() -> str:
    """A Time for an automation: the next minute that starts at least 15 s from now (after the next tick)."""
    moment = datetime.now(UTC) + GMT_MINUS_7 + timedelta(seconds=15)
    return (moment.replace(second=0, microsecond=0) + timedelta(minutes=1)).strftime("%H:%M")


def slack_texts(slack_server) -> list[str]:
    import requests

    return [m["text"] for m in requests.get(f"{slack_server.url}/messages", timeout=10).json()]


def logs(base: AirtableResource) -> list[str]:
    return [r["fields"].get("Summary", "") for r in base.table("Logs").all()]


def test_an_airtable_edit_runs_reports_and_a_failure_alerts_once(
    base, dagster_dev, airtable_server, spapi_server, slack_server
):
    import requests

    requests.delete(f"{slack_server.url}/messages", timeout=10)
    requests.post(
        f"{spapi_server.url}/_test/faults",
        json={"fatal": True, "report_type": "GET_FBA_MYI_UNSUPPRESSED_INVENTORY_DATA"},
        timeout=10,
    )
    listings_id = base.table("Report Types").first(formula="{Name}='merchant_listings'")["id"]
    inventory_id = base.table("Report Types").first(formula="{Name}='fba_inventory'")["id"]
    weekly = base.table("Automations").first(formula="{Name}='Weekly listings'")
    # The product is already running when someone edits Airtable: its first scheduler tick has happened.
    wait_until(lambda: any(s.startswith("Scheduler started") for s in logs(base)), 120, 2, "the scheduler's first tick")
    edited_at = datetime.now(UTC)
    airtable_server.client_edit(
        "Automations",
        "update",
        record_id=weekly["id"],
        fields={"Run": "Daily", "Time": soon_in_gmt_minus_7(), "Report Types": [listings_id, inventory_id]},
        typecast=True,
    )

    # The edit lands in Logs within a minute, and the runs it schedules happen.
    wait_until(
        lambda: any("Automation 'Weekly listings' changed" in s for s in logs(base)), 60, 2, "the change in Logs"
    )
    listings = wait_until(
        lambda: [r for r in report_runs(dagster_dev, "merchant_listings") if r["status"] == "SUCCESS"],
        180,
        3,
        "merchant_listings to run",
    )
    assert listings
    failed = wait_until(
        lambda: [r for r in report_runs(dagster_dev, "fba_inventory") if r["status"] == "FAILURE"],
        180,
        3,
        "fba_inventory to fail",
    )
    assert datetime.now(UTC) - edited_at < timedelta(minutes=4)

    # Exactly one Slack message for the failed report, and Fail set on its Reports record.
    alerts = wait_until(
        lambda: [t for t in slack_texts(slack_server) if t.startswith("Report fba_inventory failed")],
        60,
        2,
        "the Slack alert",
    )
    record = wait_until(
        lambda: base.table("Reports").first(formula="AND({Report Type}='fba_inventory', {Fail})"),
        60,
        2,
        "Fail in Reports",
    )
    assert record["fields"].get("Fail Reason") and failed
    assert (
        len([t for t in slack_texts(slack_server) if t.startswith("Report fba_inventory failed")]) == len(alerts) == 1
    )
    requests.delete(f"{spapi_server.url}/_test/faults", timeout=10)


def test_unchecking_fail_reruns_the_report_at_the_next_scheduled_time(base, dagster_dev, airtable_server):
    # The operator's view: a failed report (Last Updated and Mongo Id empty); they uncheck Fail in Airtable.
    failed = base.table("Reports").create(
        {"Name": "sales_report 2026-09-15", "Report Type": "sales_report", "Date": "2026-09-15", "Fail": True}
    )
    airtable_server.client_edit("Reports", "update", record_id=failed["id"], fields={"Fail": False})
    daily = base.table("Automations").first(formula="{Name}='Daily reports'")
    airtable_server.client_edit("Automations", "update", record_id=daily["id"], fields={"Time": soon_in_gmt_minus_7()})

    def rerun_done():
        record = base.table("Reports").first(
            formula="AND({Report Type}='sales_report', {Date}=DATETIME_PARSE('2026-09-15'))"
        )
        return record if record["fields"].get("Mongo Id") else None

    record = wait_until(rerun_done, 240, 3, "the unchecked report to be re-run")
    assert record["fields"].get("Last Updated") and not record["fields"].get("Fail")
    wait_until(
        lambda: any(
            r["status"] == "SUCCESS" and {"key": "dagster/partition", "value": "2026-09-15"} in r["tags"]
            for r in report_runs(dagster_dev, "sales_report")
        ),
        60,
        2,
        "the re-run's run to finish",
    )


def test_health_and_the_heartbeat(base, dagster_dev):
    # The watchdog (which judges from outside: /api and this heartbeat) has its own test: test_watchdog_offline.py.
    wait_until(
        lambda: base.table("Overview").first(formula="{Name}='Sync application'")["fields"].get("Timestamp"),
        60,
        2,
        "a heartbeat",
    )
    assert base.table("Overview").first()["fields"].get("Alive") == 1
    health = subprocess.run(
        [str(Path(sys.executable).parent / "paperplan-sync"), "health", "--webserver", dagster_dev.webserver_url],
        env=dagster_dev.env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert health.returncode == 0, health.stdout
