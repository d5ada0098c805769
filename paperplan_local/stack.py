"""The whole product on loopback for scripts and end-to-end tests: every stand-in plus a real `dagster dev`."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

import requests

from paperplan_local.env import LOCAL_RATE_LIMIT_SCALE
from paperplan_local.runner import ServerThread, free_port
from paperplan_sync.ops.graphql import GraphQLError
from paperplan_sync.ops.graphql import query as graphql

WORKSPACE = Path(__file__).resolve().parents[1] / "workspace.yaml"  # names the location paperplan_sync
INSTANCE_YAML = "telemetry:\n  enabled: false\nnux:\n  enabled: false\n"


@dataclass
class Stack:
    env: dict[str, str]
    webserver_url: str
    home: Path
    pid: int  # `dagster dev`'s process (its webserver, daemon and code server are its children)
    api_url: str = ""  # the product's `paperplan-sync api` service (/api, Airtable webhook pings)

    def graphql(self, query: str, variables: dict | None = None) -> dict:
        return graphql(self.webserver_url, query, variables, timeout=120)


LAUNCH_RUN = """
mutation($p: ExecutionParams!) { launchRun(executionParams: $p) { __typename
  ... on LaunchRunSuccess { run { runId } } ... on PythonError { message } } }
"""


def launch_partition_run(stack: Stack, asset_path: tuple[str, ...], partition: str) -> str:
    """One run of one partition of one asset, launched as the UI's "Materialize" does. Returns its run id."""
    return _launch(stack, asset_path, {"dagster/partition": partition})


def launch_partition_range_run(stack: Stack, asset_path: tuple[str, ...], first: str, last: str) -> str:
    """One run of a range of partitions, as the UI's backfill dialog launches one with "Launch as: Single run"
    (for assets that handle partition ranges, as ours do). Returns its run id."""
    return _launch(
        stack, asset_path, {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}
    )


def _launch(stack: Stack, asset_path: tuple[str, ...], tags: dict[str, str]) -> str:
    params = {
        "selector": {
            "repositoryLocationName": "paperplan_sync",
            "repositoryName": "__repository__",
            "jobName": "__ASSET_JOB",
            "assetSelection": [{"path": list(asset_path)}],
        },
        "executionMetadata": {"tags": [{"key": k, "value": v} for k, v in tags.items()]},
    }
    result = stack.graphql(LAUNCH_RUN, {"p": params})["launchRun"]
    if result["__typename"] != "LaunchRunSuccess":
        raise RuntimeError(f"launchRun: {result}")
    return result["run"]["runId"]


RUN_STATUS = "query($id: ID!) { runOrError(runId: $id) { ... on Run { status } } }"
RUN_DONE = frozenset({"SUCCESS", "FAILURE", "CANCELED"})


def finished_run_status(stack: Stack, run_id: str) -> str | None:
    """The run's final status, or None while it is queued or running."""
    status = stack.graphql(RUN_STATUS, {"id": run_id})["runOrError"]["status"]
    return status if status in RUN_DONE else None


BACKFILL_RUNS = """query($id: String!) { runsOrError(filter: {tags: [{key: "dagster/backfill", value: $id}]}) {
  ... on Runs { results { runId status } } } }"""


def backfill_run_statuses(stack: Stack, backfill_id: str) -> list[str]:
    """Statuses of the runs a daemon backfill has launched so far."""
    return [r["status"] for r in stack.graphql(BACKFILL_RUNS, {"id": backfill_id})["runsOrError"]["results"]]


REPORT_RUNS = """query($v: String!) { runsOrError(filter: {tags: [{key: "paperplan/report", value: $v}]}) {
  ... on Runs { results { runId status tags { key value } } } } }"""


def report_runs(stack: Stack, report: str) -> list[dict]:
    """Every run of one report type (``runId``, ``status``, ``tags``), newest first."""
    return stack.graphql(REPORT_RUNS, {"v": report})["runsOrError"]["results"]


def stand_in_environment(
    *, airtable_url: str, mongo_uri: str, spapi_url: str, ads_url: str, slack_url: str
) -> dict[str, str]:
    from paperplan_local import ads, airtable, slack, spapi

    return {
        "AIRTABLE_ENDPOINT_URL": airtable_url,
        "AIRTABLE_API_KEY": airtable.DEFAULT_API_KEY,
        "AIRTABLE_BASE_ID": airtable.DEFAULT_BASE_ID,
        "MONGODB_URI": mongo_uri,
        "MONGODB_DATABASE": f"paperplan_{uuid.uuid4().hex[:8]}",
        "SPAPI_ENDPOINT": spapi_url,
        "SPAPI_LWA_ENDPOINT": f"{spapi_url}/auth/o2/token",
        "SPAPI_LWA_CLIENT_ID": spapi.DEV_CLIENT_ID,
        "SPAPI_LWA_CLIENT_SECRET": spapi.DEV_CLIENT_SECRET,
        "SPAPI_REFRESH_TOKEN": spapi.DEV_REFRESH_TOKEN,
        "ADS_ENDPOINT": ads_url,
        "ADS_LWA_ENDPOINT": f"{ads_url}/auth/o2/token",
        "ADS_LWA_CLIENT_ID": ads.DEV_CLIENT_ID,
        "ADS_LWA_CLIENT_SECRET": ads.DEV_CLIENT_SECRET,
        "ADS_REFRESH_TOKEN": ads.DEV_REFRESH_TOKEN,
        "ADS_PROFILE_ID": ads.DEV_PROFILE_ID,
        "SLACK_BASE_URL": f"{slack_url}/api/",
        "SLACK_BOT_TOKEN": slack.DEV_TOKEN,
        "SLACK_CHANNEL": "#airtable",
        "SPAPI_RATE_LIMIT_SCALE": str(LOCAL_RATE_LIMIT_SCALE),
        "SPAPI_POLL_INITIAL_S": "0.5",
        "ADS_POLL_INITIAL_S": "0.5",
    }


@contextmanager
def dagster_dev(
    env: dict[str, str], *, home: Path | None = None, timeout: float = 180, instance_yaml: str | None = None
):
    """`dagster dev` and the product's `api` service, each in its own process group, yielding once the
    code location has loaded. Airtable's webhook pings go to the api service (webhook mode) unless ``env``
    says otherwise.

    ``instance_yaml`` replaces the minimal dagster.yaml (e.g. the text of deploy/dagster.yaml).
    """
    home = home or Path(tempfile.mkdtemp(prefix="paperplan-dagster-"))
    (home / "dagster.yaml").write_text(INSTANCE_YAML if instance_yaml is None else instance_yaml)
    port, api_port = free_port(), free_port()
    url, api_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}"
    full_env = {
        **os.environ,
        "PAPERPLAN_PUBLIC_URL": api_url,
        **env,
        "DAGSTER_HOME": str(home),
        "PAPERPLAN_STATE_DIR": str(home / "state"),
        "DAGSTER_WEBSERVER_URL": url,
    }
    bin_dir = Path(sys.executable).parent
    with ExitStack() as stack_:
        proc = stack_.enter_context(
            _process_group(
                [str(bin_dir / "dagster"), "dev", "-w", str(WORKSPACE), "-h", "127.0.0.1", "-p", str(port)],
                full_env,
                home,
                "dagster_dev.log",
            )
        )
        stack_.enter_context(
            _process_group([str(bin_dir / "paperplan-sync"), "api", "--port", str(api_port)], full_env, home, "api.log")
        )
        stack = Stack(full_env, url, home, proc.pid, api_url)
        deadline = time.monotonic() + timeout
        while not _loaded(stack):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"dagster dev did not come up: {(home / 'dagster_dev.log').read_text()[-2000:]}")
            time.sleep(1)
        yield stack


@contextmanager
def _process_group(argv: list[str], env: dict[str, str], cwd: Path, log_name: str):
    """A child in its own process group (dagster dev ignores signals sent to a plain background child),
    stopped with its whole group."""
    log = open(cwd / log_name, "w")  # noqa: SIM115 - closed below
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
        log.close()


def _loaded(stack: Stack) -> bool:
    try:
        data = stack.graphql("{ workspaceOrError { ... on Workspace { locationEntries { loadStatus } } } }")
    except (requests.RequestException, GraphQLError, ValueError):
        return False
    entries = data["workspaceOrError"].get("locationEntries", [])
    return bool(entries) and all(e["loadStatus"] == "LOADED" for e in entries)


@contextmanager
def stand_ins(*, spapi_kwargs: dict | None = None, airtable_kwargs: dict | None = None):
    """Every stand-in on free loopback ports (MongoDB as its own process); yields their environment."""
    from paperplan_local import ads, airtable, slack, spapi
    from paperplan_local.mongo import MongoStandIn

    with ExitStack() as stack:
        at = stack.enter_context(ServerThread(airtable.build_app(**{"rate_limit_per_s": 0, **(airtable_kwargs or {})})))
        sp = stack.enter_context(
            ServerThread(spapi.build_app(**{"rate_limit_scale": LOCAL_RATE_LIMIT_SCALE, **(spapi_kwargs or {})}))
        )
        ad = stack.enter_context(ServerThread(ads.build_app()))
        sl = stack.enter_context(ServerThread(slack.build_app()))
        mongo = stack.enter_context(MongoStandIn())
        yield stand_in_environment(
            airtable_url=at.url, mongo_uri=mongo.uri, spapi_url=sp.url, ads_url=ad.url, slack_url=sl.url
        )
