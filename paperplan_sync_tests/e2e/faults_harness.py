"""The fault matrix's harness (benchmarks/faults.py and e2e/test_faults.py): the product as production runs
it, every stand-in, and the observations a fault is judged by.

- The production instance: deploy/dagster.yaml on a fresh PostgreSQL database.
- The services are the commands of deploy/systemd's units (the code server, the api service, the daemon, the
  webserver; deploy/workspace.yaml), each supervised as systemd does: restarted after the unit's
  ``RestartSec`` when it dies, and what is left of the unit's processes SIGKILLed first unless its
  ``KillMode`` is ``process`` (a process group stands in for the unit's cgroup).
  `dagster dev` would not do: it shuts everything down when its daemon dies.
- The clock: the scheduler adds the seconds in ``Bench.clock_file`` to the machine's clock
  (PAPERPLAN_TEST_CLOCK_OFFSET_FILE, read at every tick); the "clock stepped forward" fault writes 3600 there.
  (libfaketime was tried: under it the daemon's time.sleep fails with EINVAL, or the daemon stalls.)
- Every stand-in, on loopback: Airtable, SP-API, Ads, Slack (fault injection on) and MongoDB (SecantusDB,
  in a process of its own, restartable on its port with its data).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import psutil
import requests
from pymongo import MongoClient

from paperplan_local import ads, slack
from paperplan_local import spapi as spapi_standin
from paperplan_local.env import LOCAL_RATE_LIMIT_SCALE
from paperplan_local.mongo import MongoStandIn
from paperplan_local.runner import ServerThread, free_port
from paperplan_local.stack import Stack, stand_in_environment
from paperplan_sync.ops.graphql import GraphQLError
from paperplan_sync.storage.rows import day_filter
from paperplan_sync_tests.fixtures.airtable import LocalAirtable, start_airtable_server
from paperplan_sync_tests.fixtures.dagster_dev import FAST_SENSORS
from paperplan_sync_tests.fixtures.postgres import DEPLOY_YAML, Database, postgres_database, query

ROOT = Path(__file__).resolve().parents[2]
UNITS = ROOT / "deploy" / "systemd"
WORKSPACE = ROOT / "deploy" / "workspace.yaml"
BIN = Path(sys.executable).parent
ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
SALES = ("amazon_sp", "sales_report")
TODAY = date(2026, 11, 20)  # the SP-API stand-in's today: every day before it has its report
ROW_KEY = "merchant-order-id"  # unique per row of the stand-in's synthetic order reports

PARTITION_RUNS = """query($v: String!) { runsOrError(filter: {tags: [{key: "dagster/partition", value: $v}]}) {
  ... on Runs { results { runId status tags { key value } } } } }"""
LOCATIONS = """{ workspaceOrError { ... on Workspace { locationEntries { loadStatus
  locationOrLoadError { __typename } } } } }"""
DAEMON_HEALTH = "{ instance { daemonHealth { allDaemonStatuses { daemonType healthy } } } }"
RUN_EVENTS = """query($id: ID!) { logsForRun(runId: $id) { ... on EventConnection { events {
  __typename ... on MessageEvent { message } } } } }"""


def unit_command(name: str, **replace: str) -> Unit:
    """The ExecStart of deploy/systemd/paperplan-<name>.service, on this checkout, and its RestartSec."""
    text = (UNITS / f"paperplan-{name}.service").read_text()
    command = re.search(r"^ExecStart=(.+)$", text, re.M).group(1)
    for old, new in replace.items():
        command = command.replace(old, new)
    restart = re.search(r"^RestartSec=(\d+)", text, re.M)
    kill_mode = re.search(r"^KillMode=(\w+)", text, re.M)
    return Unit(
        name, shlex.split(command), float(restart.group(1) if restart else 0.1), kill_mode and kill_mode.group(1)
    )


@dataclass
class Unit:
    name: str
    argv: list[str]
    restart_s: float  # RestartSec
    kill_mode: str | None  # KillMode: "process" leaves the unit's other processes alone


class Service:
    """One unit's command, supervised as systemd's Restart=on-failure with KillMode=mixed does."""

    def __init__(self, unit: Unit, env: dict[str, str], cwd: Path):
        self.unit, self.name, self.argv, self.env, self.cwd = unit, unit.name, unit.argv, env, cwd
        self.starts = 0
        self._stopping = False
        self._proc: subprocess.Popen | None = None
        self._log = open(cwd / f"{unit.name}.log", "ab")  # noqa: SIM115 - closed in stop()
        self._thread = threading.Thread(target=self._supervise, name=f"unit:{unit.name}", daemon=True)

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def start(self) -> Service:
        self._spawn()
        self._thread.start()
        return self

    def _spawn(self) -> None:
        self._proc = subprocess.Popen(
            self.argv, env=self.env, cwd=self.cwd, stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True
        )
        self.starts += 1

    def _supervise(self) -> None:
        while True:
            proc = self._proc
            code = proc.wait()
            if self._stopping:
                return
            if self.unit.kill_mode != "process":
                _killpg(proc.pid, signal.SIGKILL)  # the rest of the unit's processes
            if code == 0:
                return
            time.sleep(self.unit.restart_s)
            if self._stopping:
                return
            self._spawn()

    def stop(self) -> None:
        self._stopping = True
        if self._proc is not None and self._proc.poll() is None:
            _killpg(self._proc.pid, signal.SIGTERM)
            try:
                self._proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                pass
        if self._proc is not None:
            _killpg(self._proc.pid, signal.SIGKILL)
        self._log.close()


def _killpg(pgid: int, sig: int) -> None:
    try:
        os.killpg(pgid, sig)
    except (ProcessLookupError, PermissionError):
        pass


@dataclass
class Bench:
    """Everything a fault needs: the services, the stand-ins, the database; and what to observe."""

    env: dict[str, str] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    started_at: float = 0.0
    startup_s: float = 0.0

    def __enter__(self) -> Bench:
        self.started_at = time.monotonic()
        self._exit = ExitStack()
        try:
            self._start()
        except BaseException:
            self._exit.close()
            raise
        self.startup_s = time.monotonic() - self.started_at
        return self

    def __exit__(self, *exc) -> None:
        self._exit.close()

    # -- start ---------------------------------------------------------------------------------
    def _start(self) -> None:
        self.home = Path(tempfile.mkdtemp(prefix="paperplan-faults-"))
        if not os.environ.get("PAPERPLAN_FAULTS_KEEP"):  # keep the services' logs to read after a failure
            self._exit.callback(shutil.rmtree, self.home, ignore_errors=True)
        self.airtable: LocalAirtable = self._exit.enter_context(start_airtable_server(rate_limit_per_s=0))
        self.spapi = self._server(
            spapi_standin.build_app(
                rate_limit_scale=LOCAL_RATE_LIMIT_SCALE,
                enable_fault_injection=True,
                processing_delay_s=0.5,
                today=lambda: TODAY,
            )
        )
        ads_server = self._server(ads.build_app())
        self.slack = self._server(slack.build_app(enable_fault_injection=True))
        self.mongo = MongoStandIn()
        self.mongo.start(state_dir=self.home / "mongo")
        self._exit.callback(self.mongo.stop)
        self.database: Database = self._exit.enter_context(postgres_database())
        self.clock_file = self.home / "clock_offset_s"
        self.clock_file.write_text("0")
        env = stand_in_environment(
            airtable_url=self.airtable.url,
            mongo_uri=self.mongo.uri,
            spapi_url=self.spapi.url,
            ads_url=ads_server.url,
            slack_url=self.slack.url,
        )
        self._start_services(env)

    def _server(self, app) -> ServerThread:
        server = ServerThread(app).start()
        self._exit.callback(server.stop)
        return server

    def _start_services(self, stand_in_env: dict[str, str]) -> None:
        dagster_home = self.home / "dagster_home"
        dagster_home.mkdir()
        (dagster_home / "dagster.yaml").write_text(DEPLOY_YAML.read_text())
        port, api_port = free_port(), free_port()
        self.webserver_url, self.api_url = f"http://127.0.0.1:{port}", f"http://127.0.0.1:{api_port}"
        self.env = {
            **os.environ,
            **stand_in_env,
            **FAST_SENSORS,
            "PAPERPLAN_DAGSTER_PG_URL": self.database.dagster_url,
            "DAGSTER_HOME": str(dagster_home),
            "PAPERPLAN_STATE_DIR": str(dagster_home / "state"),
            "DAGSTER_WEBSERVER_URL": self.webserver_url,
            "PAPERPLAN_PUBLIC_URL": self.api_url,
            "PAPERPLAN_TEST_CLOCK_OFFSET_FILE": str(self.clock_file),
        }
        code_port = free_port()
        workspace = self.home / "workspace.yaml"
        workspace.write_text(WORKSPACE.read_text().replace("port: 4266", f"port: {code_port}"))
        paths = {
            "/opt/paperplan-sync/.venv/bin/": f"{BIN}/",
            "/opt/paperplan-sync/deploy/workspace.yaml": str(workspace),
        }
        units = [
            unit_command("code-server", **paths, **{"-p 4266": f"-p {code_port}"}),
            unit_command("api", **paths, **{"--port 8710": f"--port {api_port}"}),
            unit_command("daemon", **paths),
            unit_command("webserver", **paths, **{"-p 3000": f"-p {port}"}),
        ]
        for unit in units:
            self.services[unit.name] = Service(unit, self.env, self.home).start()
            self._exit.callback(self.services[unit.name].stop)
        self.stack = Stack(self.env, self.webserver_url, dagster_home, self.services["webserver"].pid, self.api_url)
        wait_for(self.ready, 240, 1, "the webserver's code location and a healthy daemon")

    # -- observe -------------------------------------------------------------------------------
    def ready(self) -> bool:
        """The UI serves the code location (loaded, not an error) and every daemon is healthy."""
        try:
            entries = self.stack.graphql(LOCATIONS)["workspaceOrError"]["locationEntries"]
            statuses = self.stack.graphql(DAEMON_HEALTH)["instance"]["daemonHealth"]["allDaemonStatuses"]
        except Exception:
            return False
        loaded = bool(entries) and all(
            e["loadStatus"] == "LOADED" and e["locationOrLoadError"]["__typename"] == "RepositoryLocation"
            for e in entries
        )
        return loaded and bool(statuses) and all(s["healthy"] for s in statuses)

    def db(self):
        client = MongoClient(self.mongo.uri, serverSelectionTimeoutMS=20000)
        return client[self.env["MONGODB_DATABASE"]]

    def runs_of_day(self, day: str) -> list[dict]:
        return self.stack.graphql(PARTITION_RUNS, {"v": day})["runsOrError"]["results"]

    def run_events(self, run_id: str) -> list[str]:
        events = self.stack.graphql(RUN_EVENTS, {"id": run_id})["logsForRun"].get("events") or []
        return [e.get("message") or "" for e in events]

    def slack_messages(self) -> list[str]:
        return [m["text"] for m in requests.get(f"{self.slack.url}/messages", timeout=10).json()]

    def alerts(self, day: str, report: str = "sales_report") -> list[str]:
        return [t for t in self.slack_messages() if t.startswith(f"Report {report} failed for {day}")]

    def day_rows(self, day: str, report: str = "sales_report") -> tuple[int, int]:
        """(rows readers see for the day, distinct rows among them)."""
        coll = self.db()[report]
        where = day_filter(day)
        return coll.count_documents(where), len(coll.distinct(ROW_KEY, where))

    def inject_spapi(self, **fault) -> None:
        requests.delete(f"{self.spapi.url}/_test/faults", timeout=10).raise_for_status()
        if fault:
            requests.post(f"{self.spapi.url}/_test/faults", json=fault, timeout=10).raise_for_status()

    def slack_outage(self, unavailable: bool) -> dict:
        response = requests.post(f"{self.slack.url}/_test/outage", json={"unavailable": unavailable}, timeout=10)
        response.raise_for_status()
        return response.json()

    def logs(self, containing: str) -> list[str]:
        from pyairtable.formulas import FIND, Field

        records = self.airtable.table("Logs").all(formula=str(FIND(containing, Field("Summary"))))
        return [r["fields"]["Summary"] for r in records]

    def query(self, sql: str, params: tuple = ()) -> list[tuple]:
        return query(self.database, sql, params)

    def admin(self, sql: str, params: tuple = ()) -> None:
        """A statement on the server's maintenance database (to act on the product's database from outside)."""
        import psycopg2

        conn = psycopg2.connect(self.database.libpq_url.rsplit("/", 1)[0] + "/postgres")
        conn.autocommit = True
        try:
            with conn.cursor() as cur:
                cur.execute(sql, params)
        finally:
            conn.close()

    def restart_mongo(self) -> None:
        """Stop MongoDB (SIGTERM, as a service restart does) and start it again on its port with its data."""
        port = self.mongo.port
        self.mongo.stop()
        self.mongo.start(port=port, state_dir=self.home / "mongo")

    def run_worker(self, run_id: str) -> psutil.Process | None:
        """The process that executes the run (Dagster logs "Started process for run (pid: N)")."""
        for message in self.run_events(run_id):
            if found := re.search(r"Started process for run \(pid: (\d+)\)", message):
                try:
                    return psutil.Process(int(found.group(1)))
                except psutil.NoSuchProcess:
                    return None
        return None

    def code_servers(self) -> list[psutil.Process]:
        """The code server unit's process (``dagster code-server start``) and the servers it runs."""
        try:
            main = psutil.Process(self.services["code-server"].pid)
            return [main, *(p for p in main.children(recursive=True) if _is_code_server(p))]
        except psutil.NoSuchProcess:
            return []

    def daemon_children_pids(self) -> set[int]:
        try:
            return {p.pid for p in psutil.Process(self.services["daemon"].pid).children(recursive=True)}
        except psutil.NoSuchProcess:
            return set()


def _is_code_server(process: psutil.Process) -> bool:
    try:
        cmdline = process.cmdline()
    except psutil.Error:
        return False
    return "grpc" in cmdline and "api" in cmdline


def wait_for(predicate, timeout: float, interval: float = 1.0, what: str = "a condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            value = predicate()
        except (requests.RequestException, GraphQLError, ValueError, KeyError, TypeError):
            value = None  # the webserver itself may answer 500 while PostgreSQL restarts: ask again
        if value:
            return value
        time.sleep(interval)
    raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
