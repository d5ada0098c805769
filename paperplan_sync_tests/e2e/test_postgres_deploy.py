"""The production instance config (deploy/dagster.yaml) under a real daemon and a real PostgreSQL: one
report partition run and a 5-partition backfill succeed, and their runs and materializations live in
PostgreSQL (not in the SQLite files of DAGSTER_HOME).

Needs a PostgreSQL server where the user may CREATE DATABASE; each test run gets its own database,
dropped afterwards:

    PAPERPLAN_TEST_POSTGRES_URL=postgresql+psycopg2://postgres@127.0.0.1:5432/postgres \\
        .venv/bin/pytest paperplan_sync_tests/e2e/test_postgres_deploy.py

(`.ci/run` starts the local PostgreSQL and sets the variable.)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest

from paperplan_sync.automation.backfill import backfill_progress, launch_backfill
from paperplan_sync_tests.fixtures.dagster_dev import wait_until
from paperplan_sync.local.stack import finished_run_status, launch_partition_run, dagster_dev, stand_ins

pytestmark = pytest.mark.e2e

DEPLOY_YAML = Path(__file__).resolve().parents[2] / "deploy" / "dagster.yaml"
PG_URL_ENV = "PAPERPLAN_TEST_POSTGRES_URL"
SKIP_REASON = (f"{PG_URL_ENV} is not set: to run this test against a PostgreSQL server, set "
               f"{PG_URL_ENV}=postgresql+psycopg2://postgres@127.0.0.1:5432/postgres (a user that may CREATE DATABASE), "
               "or run .ci/run, which starts the local PostgreSQL and sets it")

ASSET = ("amazon_sp", "sales_report")
RUN_DAY = "2026-11-10"
BACKFILL_DAYS = ["2026-11-11", "2026-11-12", "2026-11-13", "2026-11-14", "2026-11-15"]
SPAPI = {"today": lambda: date(2026, 11, 20), "processing_delay_s": 0.5}


def test_deploy_dagster_yaml_is_a_valid_instance_config():
    """Dagster refuses to start on an invalid dagster.yaml; this says why in a second, without PostgreSQL."""
    from dagster._core.instance.ref import InstanceRef

    ref = InstanceRef.from_dir(str(DEPLOY_YAML.parent))  # validates; connects to nothing, needs no env
    assert ref.run_storage_data.class_name == "PostgresRunStorage"
    assert ref.run_coordinator_data.class_name == "QueuedRunCoordinator"


@dataclass
class Database:
    name: str
    dagster_url: str  # postgresql+psycopg2://..., for PAPERPLAN_DAGSTER_PG_URL
    libpq_url: str  # postgresql://..., for psycopg2.connect


@pytest.fixture
def fresh_database() -> Iterator[Database]:
    server_url = os.environ.get(PG_URL_ENV)
    if not server_url:
        pytest.skip(SKIP_REASON)
    import psycopg2
    from sqlalchemy.engine import make_url

    url = make_url(server_url)
    assert url.drivername == "postgresql+psycopg2", f"{PG_URL_ENV} must start with postgresql+psycopg2:// (got {url.drivername})"
    name = f"paperplan_test_{uuid.uuid4().hex[:10]}"
    admin = psycopg2.connect(url.set(drivername="postgresql").render_as_string(hide_password=False))
    admin.autocommit = True
    try:
        with admin.cursor() as cur:
            cur.execute(f'CREATE DATABASE "{name}"')
        db_url = url.set(database=name)
        yield Database(name, db_url.render_as_string(hide_password=False),
                       db_url.set(drivername="postgresql").render_as_string(hide_password=False))
    finally:
        with admin.cursor() as cur:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()", (name,))
            cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.close()


def query(database: Database, sql: str, params: tuple = ()) -> list[tuple]:
    import psycopg2

    conn = psycopg2.connect(database.libpq_url)
    try:
        with conn.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()
    finally:
        conn.close()


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
            progress = wait_until(lambda: (p := backfill_progress(stack.webserver_url, backfill_id)).done and p, 120, 1.0, "the backfill")
            assert (progress.status, progress.targeted, progress.materialized, progress.failed) == ("COMPLETED_SUCCESS", 5, 5, 0), progress

    # (c) With dagster stopped, everything is in PostgreSQL.
    runs = dict(query(fresh_database, "SELECT run_id, status FROM runs"))
    assert runs.get(run_id) == "SUCCESS", runs
    backfill_runs = query(fresh_database, "SELECT r.run_id, r.status FROM runs r JOIN run_tags t ON t.run_id = r.run_id "
                                          "WHERE t.key = 'dagster/backfill' AND t.value = %s", (backfill_id,))
    assert backfill_runs and all(status == "SUCCESS" for _, status in backfill_runs), backfill_runs
    assert query(fresh_database, "SELECT status FROM bulk_actions WHERE key = %s", (backfill_id,)) == [("COMPLETED_SUCCESS",)]
    materialized = {p for (p,) in query(fresh_database, "SELECT DISTINCT partition FROM event_logs "
                                                        "WHERE dagster_event_type = 'ASSET_MATERIALIZATION'")}
    assert materialized == {RUN_DAY, *BACKFILL_DAYS}
    assert not (home / "history" / "runs.db").exists(), "runs went to SQLite in DAGSTER_HOME, not to PostgreSQL"
