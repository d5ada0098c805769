"""The production instance config (deploy/dagster.yaml) under a real daemon and a real PostgreSQL:
- one report partition run and a 5-partition backfill succeed, and their runs and materializations live in
  PostgreSQL (not in the SQLite files of DAGSTER_HOME);
- a report that fails for good (FATAL) gives exactly one run, one Slack alert and one "failed" Logs record;
  a transient failure that the step retry fixes gives no alert and no Fail.

PostgreSQL is found at 127.0.0.1:5432 (user postgres, which may CREATE DATABASE; `make test` starts or
installs it), or wherever PAPERPLAN_TEST_POSTGRES_URL points. Each test gets its own database, dropped
afterwards.
"""

from __future__ import annotations

import time
from datetime import date

import pytest
import requests

from paperplan_local.stack import dagster_dev, finished_run_status, launch_partition_run, stand_ins
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.ops.backfill import backfill_progress, launch_backfill, partitions
from paperplan_sync_tests.fixtures.dagster_dev import FAST_SENSORS, sensor_ticked_since, wait_until
from paperplan_sync_tests.fixtures.postgres import DEPLOY_YAML, query

pytestmark = pytest.mark.e2e

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
PARTITION_RUNS = """query($v: String!) { runsOrError(filter: {tags: [{key: "dagster/partition", value: $v}]}) {
  ... on Runs { results { runId status tags { key value } } } } }"""

ASSET = ("amazon_sp", "sales_report")
RUN_DAY = "2026-11-10"
BACKFILL_DAYS = ["2026-11-11", "2026-11-12", "2026-11-13", "2026-11-14", "2026-11-15"]
SPAPI = {"today": lambda: date(2026, 11, 20), "processing_delay_s": 0.5}
FAILURE_SENSOR = "report_failure_alerts"


def retry_daemon_saw_failure(database, run_id: str) -> bool:
    """Dagster's run retry daemon (the event log consumer) has read past the run's failure event: had it decided
    to retry the run, the retry run would exist by now."""
    failure = query(
        database, "SELECT id FROM event_logs WHERE run_id = %s AND dagster_event_type = 'PIPELINE_FAILURE'", (run_id,)
    )
    cursor = query(database, "SELECT value FROM kvs WHERE key = 'EVENT_LOG_CONSUMER_CURSOR-PIPELINE_FAILURE'")
    return bool(failure and cursor) and int(cursor[0][0]) >= failure[0][0]


def test_deploy_dagster_yaml_is_a_valid_instance_config():
    """Dagster refuses to start on an invalid dagster.yaml; this says why in a second, without PostgreSQL."""
    from dagster._core.instance.ref import InstanceRef

    ref = InstanceRef.from_dir(str(DEPLOY_YAML.parent))  # validates; connects to nothing, needs no env
    assert ref.run_storage_data.class_name == "PostgresRunStorage"
    assert ref.run_coordinator_data.class_name == "QueuedRunCoordinator"


def test_a_run_and_a_backfill_through_the_daemon_on_postgres(fresh_database, tmp_path):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with stand_ins(spapi_kwargs=SPAPI) as env:
        env = {**env, "PAPERPLAN_DAGSTER_PG_URL": fresh_database.dagster_url}
        with dagster_dev(env, home=home, instance_yaml=DEPLOY_YAML.read_text()) as stack:
            instance = stack.graphql("{ instance { info runQueuingSupported } }")["instance"]
            for storage in ("PostgresRunStorage", "PostgresEventLogStorage", "PostgresScheduleStorage"):
                assert storage in instance["info"], instance["info"]
            assert instance["runQueuingSupported"]

            # (a) one partition run and (b) a 5-partition backfill, both through the queue and the daemon.
            run_id = launch_partition_run(stack, ASSET, RUN_DAY)
            backfill_id = launch_backfill(stack.webserver_url, ASSET, BACKFILL_DAYS)
            assert wait_until(lambda: finished_run_status(stack, run_id), 90, 1.0, f"run {run_id}") == "SUCCESS"
            # The backfill daemon ticks every 30 s: one tick submits the run, a later one marks it done.
            progress = wait_until(
                lambda: (p := backfill_progress(stack.webserver_url, backfill_id)).done and p, 120, 1.0, "the backfill"
            )
            assert (progress.status, progress.targeted, progress.materialized, progress.failed) == (
                "COMPLETED_SUCCESS",
                5,
                5,
                0,
            ), progress

    # (c) With dagster stopped, everything is in PostgreSQL.
    runs = dict(query(fresh_database, "SELECT run_id, status FROM runs"))
    assert runs.get(run_id) == "SUCCESS", runs
    backfill_runs = query(
        fresh_database,
        "SELECT r.run_id, r.status FROM runs r JOIN run_tags t ON t.run_id = r.run_id "
        "WHERE t.key = 'dagster/backfill' AND t.value = %s",
        (backfill_id,),
    )
    assert backfill_runs and all(status == "SUCCESS" for _, status in backfill_runs), backfill_runs
    assert query(fresh_database, "SELECT status FROM bulk_actions WHERE key = %s", (backfill_id,)) == [
        ("COMPLETED_SUCCESS",)
    ]
    materialized = {
        p
        for (p,) in query(
            fresh_database,
            "SELECT DISTINCT partition FROM event_logs WHERE dagster_event_type = 'ASSET_MATERIALIZATION'",
        )
    }
    assert materialized == {RUN_DAY, *BACKFILL_DAYS}
    assert not (home / "history" / "runs.db").exists(), "runs went to SQLite in DAGSTER_HOME, not to PostgreSQL"


def test_on_the_production_instance_a_fatal_report_alerts_once_and_a_transient_failure_not_at_all(
    fresh_database, tmp_path
):
    home = tmp_path / "dagster_home"
    home.mkdir()
    with stand_ins(spapi_kwargs={**SPAPI, "enable_fault_injection": True}) as env:
        env = {**env, **FAST_SENSORS, "PAPERPLAN_DAGSTER_PG_URL": fresh_database.dagster_url}
        spapi, slack = env["SPAPI_ENDPOINT"], env["SLACK_BASE_URL"].removesuffix("/api/")
        airtable = AirtableResource(
            api_key=env["AIRTABLE_API_KEY"],
            base_id=env["AIRTABLE_BASE_ID"],
            endpoint_url=env["AIRTABLE_ENDPOINT_URL"],
            requests_per_second=100,
        )

        def alerts(day: str) -> list[str]:
            return [
                m["text"]
                for m in requests.get(f"{slack}/messages", timeout=10).json()
                if m["text"].startswith(f"Report sales_report failed for {day}")
            ]

        def runs_of(day: str) -> list[dict]:  # the UI's runs, and Dagster's retries of them
            return stack.graphql(PARTITION_RUNS, {"v": day})["runsOrError"]["results"]

        with dagster_dev(env, home=home, instance_yaml=DEPLOY_YAML.read_text()) as stack:
            # (a) FATAL: not retried (it would go FATAL again), one alert.
            requests.post(
                f"{spapi}/_test/faults", json={"fatal": True, "report_type": ORDERS}, timeout=10
            ).raise_for_status()
            run_id = launch_partition_run(stack, ASSET, RUN_DAY)
            assert wait_until(lambda: finished_run_status(stack, run_id), 120, 1.0, f"run {run_id}") == "FAILURE"
            wait_until(lambda: alerts(RUN_DAY), 120, 2, "the failure alert")
            # The run retry daemon has handled the failure: it submits a retry before it moves its cursor on.
            wait_until(lambda: retry_daemon_saw_failure(fresh_database, run_id), 60, 1, "the run retry daemon")
            assert len(runs_of(RUN_DAY)) == 1, runs_of(RUN_DAY)

            # (b) A transient failure (one 503 on createReport) that the step retry fixes: no alert, no Fail.
            requests.delete(f"{spapi}/_test/faults", timeout=10).raise_for_status()
            requests.post(
                f"{spapi}/_test/faults", json={"status_5xx": 1, "operation": "createReport"}, timeout=10
            ).raise_for_status()
            day = BACKFILL_DAYS[0]
            run_id = launch_partition_run(stack, ASSET, day)
            assert wait_until(lambda: finished_run_status(stack, run_id), 180, 1.0, f"run {run_id}") == "SUCCESS"
            # A failure sensor tick after this run (and so after (a)'s alert): any further alert would have come.
            succeeded_at = time.time()
            wait_until(lambda: sensor_ticked_since(stack, FAILURE_SENSOR, succeeded_at), 90, 2, "a failure sensor tick")
            assert alerts(day) == [] and len(runs_of(day)) == 1
            # (a) still: one run, one alert, one "failed" Logs record.
            assert len(runs_of(RUN_DAY)) == 1, runs_of(RUN_DAY)
            assert len(alerts(RUN_DAY)) == 1
            logged = [r["fields"]["Summary"] for r in airtable.table("Logs").all()]
            assert len([s for s in logged if s.startswith(f"Report sales_report failed ({RUN_DAY})")]) == 1
            record = airtable.table("Reports").first(
                formula=f"AND({{Report Type}}='sales_report', {{Date}}=DATETIME_PARSE('{day}'))"
            )
            assert record["fields"].get("Mongo Id") and not record["fields"].get("Fail")

            # `backfill --missing` sees the days that never ran, not the ones that did or failed.
            missing = partitions(
                stack.webserver_url, failed=False, missing=True, report="sales_report", since=date(2026, 11, 8)
            )
            days = missing[ASSET]
            assert "2026-11-08" in days and day not in days and RUN_DAY not in days
