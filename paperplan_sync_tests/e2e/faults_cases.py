"""The fault matrix: one function per fault, each run against a ``faults_harness.Bench`` and returning an
``Outcome`` (what was done, what the product did, rows lost / duplicated, alerts, runs, PASS/FAIL).

Faults share one Bench; each uses its own day of sales_report (or its own automation), and waits until the
product is back (``Bench.ready``) before it returns, so the next one starts on a healthy product.
The goal: every fault survived, 0 rows lost, 0 duplicates, exactly one alert per real failure.
"""

from __future__ import annotations

import signal
import subprocess
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import psutil
import requests

from paperplan_local.stack import finished_run_status, launch_partition_run, report_runs
from paperplan_sync.control_plane.records import log_record
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.ops.graphql import GraphQLError
from paperplan_sync_tests.e2e.faults_harness import ORDERS, SALES, Bench, wait_for
from paperplan_sync_tests.fixtures.dagster_dev import sensor_ticked_since

ROWS = 3000  # a day's synthetic order rows
ROWS_KILLED = 15000  # enough for the write to last a few seconds (one transaction stays well inside 60 s)
OUTBOX_WRITES = 60
PG_DOWN_S = 5.0


@dataclass
class Outcome:
    fault: str
    done: str
    product: str = ""
    rows_lost: int | None = None  # None: the fault writes no report rows
    rows_duplicated: int | None = None
    alerts: int = 0
    expected_alerts: int = 0
    runs: int = 0
    seconds: float = 0.0
    problems: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.problems and not self.rows_lost and not self.rows_duplicated

    def check(self, ok: bool, problem: str) -> None:
        if not ok:
            self.problems.append(problem)

    def line(self) -> str:
        rows = lambda n: "-" if n is None else str(n)  # noqa: E731
        verdict = "PASS" if self.passed else "FAIL: " + "; ".join(self.problems)
        return (
            f"{self.fault}: {self.done} | product: {self.product} | rows lost {rows(self.rows_lost)}, "
            f"duplicated {rows(self.rows_duplicated)} | alerts {self.alerts} (expected {self.expected_alerts}) | "
            f"runs {self.runs} | {self.seconds:.0f} s | {verdict}"
        )


def timed(fn: Callable[[Bench], Outcome]) -> Callable[[Bench], Outcome]:
    def run(bench: Bench) -> Outcome:
        started = time.monotonic()
        outcome = fn(bench)
        outcome.seconds = time.monotonic() - started
        return outcome

    run.__name__ = fn.__name__
    run.__doc__ = fn.__doc__
    return run


# -- helpers ------------------------------------------------------------------------------------------
def finished_runs(bench: Bench, day: str, count: int) -> list[dict]:
    runs = bench.runs_of_day(day)
    done = [r for r in runs if r["status"] in ("SUCCESS", "FAILURE", "CANCELED")]
    return runs if len(runs) >= count and len(done) == len(runs) else []


def a_failure_sensor_tick_after(bench: Bench, moment: float) -> None:
    wait_for(lambda: sensor_ticked_since(bench.stack, "report_failure_alerts", moment), 120, 2, "a failure tick")


def count_rows(bench: Bench, outcome: Outcome, day: str, expected: int) -> None:
    total, distinct = bench.day_rows(day)
    outcome.rows_lost, outcome.rows_duplicated = max(expected - distinct, 0), total - distinct


def kill_tree(process: psutil.Process) -> list[int]:
    """SIGKILL a process and its descendants at once (the run worker and its step process)."""
    victims = [process, *process.children(recursive=True)]
    for victim in victims:
        try:
            victim.send_signal(signal.SIGKILL)
        except psutil.NoSuchProcess:
            pass
    return [v.pid for v in victims]


def _launch_or_none(bench: Bench, day: str) -> str | None:
    # An earlier try that went through though its answer was lost is not launched twice. A launch refused
    # while the UI reloads the location leaves a NOT_STARTED run that never runs (Dagster): not a launch.
    if runs := [r for r in bench.runs_of_day(day) if r["status"] != "NOT_STARTED"]:
        return runs[0]["runId"]
    try:
        return launch_partition_run(bench.stack, SALES, day)
    except (RuntimeError, GraphQLError):  # InvalidSubsetError, or no answer: the UI has not reconnected yet
        return None


def running_load(bench: Bench, day: str):
    return bench.db()["report_loads"].find_one({"report_name": "sales_report", "report_date": day, "status": "running"})


def next_minute(at_least_s: float) -> datetime:
    moment = datetime.now(UTC) + timedelta(seconds=at_least_s)
    return moment.replace(second=0, microsecond=0) + timedelta(minutes=1)


def add_automation(bench: Bench, fields: dict) -> str:
    """An Automations record made through the Web API (as a script would); returns its id."""
    record = bench.airtable.table("Automations").create(fields, typecast=True)
    wait_for(lambda: bench.logs(f"Automation '{fields['Name']}' added"), 90, 1, f"'{fields['Name']}' in Logs")
    return record["id"]


def inventory_runs(bench: Bench) -> list[dict]:
    return report_runs(bench.stack, "fba_inventory")


def scheduler_ticks_after(bench: Bench, moment: float, ticks: int = 1) -> None:
    for _ in range(ticks):
        wait_for(
            lambda since=moment: sensor_ticked_since(bench.stack, "airtable_automations", since),
            120,
            1,
            "a scheduler tick",
        )
        moment = time.time()


# -- the faults ---------------------------------------------------------------------------------------
@timed
def run_worker_killed(bench: Bench, day: str = "2026-11-04") -> Outcome:
    """The run worker SIGKILLed in the middle of a day's write."""
    outcome = Outcome("run worker SIGKILLed mid-write", f"SIGKILL the run worker of sales_report {day} and its step")
    bench.inject_spapi(rows=ROWS_KILLED, report_type=ORDERS)
    run_id = launch_partition_run(bench.stack, SALES, day)
    wait_for(lambda: running_load(bench, day), 180, 0.2, "the day's write to start")
    time.sleep(1.5)  # rows are streaming into the day's transaction
    worker = wait_for(lambda: bench.run_worker(run_id), 30, 0.5, "the run worker's pid")
    killed = kill_tree(worker)
    runs = wait_for(lambda: finished_runs(bench, day, 2), 240, 2, "the run to fail and its retry to finish")
    # The failure sensor has handled the killed run (silently: Dagster retries it) once it logged so.
    wait_for(lambda: bench.logs(f"Report sales_report failed ({day}); Dagster retries the run"), 120, 2, "Logs")
    noticed = next((m for m in bench.run_events(run_id) if "Run execution process" in m), "not said")
    statuses = sorted(r["status"] for r in runs)
    outcome.product = f"killed pids {killed}; {noticed.split('.')[0]}; runs {statuses}"
    outcome.runs, outcome.alerts = len(runs), len(bench.alerts(day))
    count_rows(bench, outcome, day, ROWS_KILLED)
    outcome.check(statuses == ["FAILURE", "SUCCESS"], f"expected one failed run and one successful retry: {statuses}")
    outcome.check(outcome.alerts == 0, "a retried run that succeeded alerted")
    return outcome


@timed
def postgres_restarted(bench: Bench, day: str = "2026-11-05", cluster: bool = False) -> Outcome:
    """PostgreSQL restarted while a run waits for its report."""
    how = "pg_ctlcluster 15 main restart" if cluster else f"every connection dropped, refused {PG_DOWN_S:.0f} s"
    outcome = Outcome("PostgreSQL restarted during a run", f"{how}, sales_report {day} running")
    bench.inject_spapi(rows=ROWS, report_type=ORDERS, slow_queue_s=12)
    run_id = launch_partition_run(bench.stack, SALES, day)
    wait_for(lambda: bench.run_worker(run_id), 120, 0.5, "the run to start")
    time.sleep(2)
    restart_postgres(bench, cluster)
    wait_for(lambda: finished_runs(bench, day, 1), 300, 2, "the day's runs to finish")
    wait_for(bench.ready, 180, 2, "a healthy daemon")
    runs = bench.runs_of_day(day)
    if any(r["status"] == "FAILURE" for r in runs):  # then its alert (or the silence of a retry) is due
        runs = wait_for(lambda: finished_runs(bench, day, 2), 240, 2, "the retry to finish")
        a_failure_sensor_tick_after(bench, time.time())
    statuses = sorted(r["status"] for r in runs)
    outcome.runs, outcome.alerts = len(runs), len(bench.alerts(day))
    outcome.product = f"runs {statuses}; daemon healthy again"
    count_rows(bench, outcome, day, ROWS)
    outcome.check(statuses.count("SUCCESS") == 1, f"expected exactly one successful run: {statuses}")
    outcome.check(len(runs) <= 2, "launched more than once plus one retry")
    outcome.check(outcome.alerts == 0, "alerted although the day loaded")
    return outcome


def restart_postgres(bench: Bench, cluster: bool) -> None:
    if cluster:
        try:
            subprocess.run(["pg_ctlcluster", "15", "main", "restart"], check=True, timeout=120)
        finally:  # everything else on the machine needs it: make sure it is up whatever happened
            subprocess.run(["pg_ctlcluster", "15", "main", "start"], check=False, timeout=120, capture_output=True)
        return
    name = bench.database.name
    try:
        bench.admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS false')
        bench.admin("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s", (name,))
        time.sleep(PG_DOWN_S)
    finally:
        bench.admin(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS true')


@timed
def mongo_restarted(bench: Bench) -> Outcome:
    """MongoDB restarted while the outbox sends queued Airtable writes."""
    marker = uuid.uuid4().hex[:8]
    outcome = Outcome(
        "MongoDB restarted while the outbox flushes", f"{OUTBOX_WRITES} Logs writes queued, MongoDB restarted mid-flush"
    )
    writer = AirtableWriter(bench.db(), None)  # queued only: the product's outbox sensor sends them
    before = bench.airtable.stats()["requests"]
    bench.airtable.inject(hang_s=1.0, count=OUTBOX_WRITES // 10)  # each batch of 10 takes a second
    for i in range(OUTBOX_WRITES):
        writer.log(log_record(f"fault outbox {marker} #{i:03d}", event="fault test"))
    wait_for(lambda: bench.airtable.stats()["requests"] > before + 2, 60, 0.2, "the outbox to start sending")
    time.sleep(1.2)
    restarted_at = time.monotonic()
    bench.restart_mongo()
    down_s = time.monotonic() - restarted_at
    summaries = wait_for(lambda: _all_logged(bench, marker), 180, 2, "every queued write in Airtable")
    time.sleep(6)  # one more outbox tick: a write sent twice would show now
    summaries = bench.logs(f"fault outbox {marker}")
    distinct = set(summaries)
    outcome.product = f"MongoDB back after {down_s:.1f} s; {len(distinct)} of {OUTBOX_WRITES} writes in Airtable"
    outcome.rows_lost, outcome.rows_duplicated = OUTBOX_WRITES - len(distinct), len(summaries) - len(distinct)
    return outcome


def _all_logged(bench: Bench, marker: str) -> list[str]:
    summaries = bench.logs(f"fault outbox {marker}")
    return summaries if len(set(summaries)) >= OUTBOX_WRITES else []


@timed
def slack_refusing(bench: Bench, day: str = "2026-11-06") -> Outcome:
    """Slack refuses (503 service_unavailable) while a report fails for good."""
    outcome = Outcome(
        "Slack refusing while a report fails",
        f"Slack answers 503 service_unavailable; sales_report {day} FATAL; Slack back later",
        expected_alerts=1,
    )
    bench.slack_outage(True)
    bench.inject_spapi(fatal=True, report_type=ORDERS)
    try:
        run_id = launch_partition_run(bench.stack, SALES, day)
        wait_for(lambda: finished_run_status(bench.stack, run_id), 180, 1, "the FATAL run")
        kept = wait_for(lambda: bench.db()["slack_alerts"].find_one({"status": "pending"}), 120, 1, "a kept alert")
        refused = requests.get(f"{bench.slack.url}/_test/outage", timeout=10).json()["refused"]
    finally:
        bench.slack_outage(False)
        bench.inject_spapi()
    wait_for(lambda: bench.alerts(day), 180, 2, "the kept alert to be posted")
    moment = time.time()  # one more flush: an alert posted twice would show now
    wait_for(lambda: sensor_ticked_since(bench.stack, "airtable_outbox", moment), 60, 1, "an outbox tick")
    outcome.runs, outcome.alerts = len(bench.runs_of_day(day)), len(bench.alerts(day))
    failed_logs = bench.logs(f"Report sales_report failed ({day})")
    outcome.product = (
        f"Slack refused {refused} post(s); alert kept ({kept['attempts']} attempt(s)), posted when Slack answered; "
        f"{len(failed_logs)} 'failed' Logs record"
    )
    outcome.check(outcome.alerts == 1, f"{outcome.alerts} alerts posted")
    outcome.check(outcome.runs == 1, "a FATAL run was retried")
    outcome.check(len(failed_logs) == 1, f"{len(failed_logs)} 'failed' Logs records")
    return outcome


@timed
def code_server_killed(bench: Bench, day: str = "2026-11-07") -> Outcome:
    """The code server (the unit's `dagster code-server start`) SIGKILLed; systemd restarts it."""
    victim = bench.code_servers()[0]
    outcome = Outcome("code server killed", f"SIGKILL the code server (pid {victim.pid})")
    unit = bench.services["code-server"]
    starts = unit.starts
    bench.inject_spapi(rows=ROWS, report_type=ORDERS)
    victim.send_signal(signal.SIGKILL)
    killed_at = time.monotonic()
    wait_for(lambda: unit.starts > starts, 60, 0.5, "systemd's restart of the code server")
    # Recovered when the UI launches a run again (a launch while the server is down is refused, not lost).
    run_id = wait_for(lambda: _launch_or_none(bench, day), 240, 2, "the UI to launch a run again")
    recovered_s = time.monotonic() - killed_at
    wait_for(bench.ready, 120, 2, "the daemon")
    scheduler_ticks_after(bench, time.time())
    status = wait_for(lambda: finished_run_status(bench.stack, run_id), 180, 1, "a run after the kill")
    runs = bench.runs_of_day(day)
    refused = [r for r in runs if r["status"] == "NOT_STARTED"]
    outcome.runs, outcome.alerts = len(runs) - len(refused), len(bench.alerts(day))
    outcome.product = (
        f"{len(refused)} UI launch(es) refused while reconnecting (left NOT_STARTED); "
        f"restarted by its unit (pid {unit.pid}); the UI launched runs again {recovered_s:.0f} s after the kill, "
        f"no manual step; that run: {status}; the daemon's scheduler ticks"
    )
    count_rows(bench, outcome, day, ROWS)
    outcome.check(status == "SUCCESS", f"the run after the kill: {status}")
    return outcome


@timed
def daemon_killed_before_a_fire(bench: Bench) -> Outcome:
    """The daemon SIGKILLed 3 s before a fire is due; systemd restarts it after RestartSec."""
    due = next_minute(25)  # time for the product to see the new automation first
    while due.minute == 0:  # the seeded "Inventory every 2 hours" fires on the hour
        due += timedelta(minutes=1)
    name = f"Fault fire {due:%H%M}"
    outcome = Outcome(
        "daemon SIGKILLed before a due fire", f"'{name}' due {due:%H:%M:%S} UTC; SIGKILL the daemon 3 s before"
    )
    before = len(inventory_runs(bench))
    add_automation(
        bench, {"Name": name, "Run": "Daily", "Time": f"{due:%H:%M}", "Timezone": 0, "Report Types": ["fba_inventory"]}
    )
    time.sleep(max(0.0, due.timestamp() - 3 - time.time()))
    daemon = bench.services["daemon"]
    old_pid, starts = daemon.pid, daemon.starts
    psutil.Process(old_pid).send_signal(signal.SIGKILL)
    wait_for(lambda: daemon.starts > starts, 60, 0.5, "systemd's restart of the daemon")
    restarted = datetime.now(UTC)
    launched = wait_for(lambda: len(inventory_runs(bench)) > before and inventory_runs(bench), 240, 2, "the late fire")
    scheduler_ticks_after(bench, time.time(), ticks=2)
    runs = inventory_runs(bench)[: len(inventory_runs(bench)) - before]
    late = bench.logs(f"'{name}' due at")
    outcome.runs = len(runs)
    outcome.product = (
        f"daemon restarted at {restarted:%H:%M:%S} (pid {old_pid} -> {daemon.pid}); fire launched "
        f"{len(runs)}x, {launched[0]['status'] if launched else '-'}"
    )
    outcome.check(len(runs) == 1, f"the fire launched {len(runs)} times")
    outcome.check(bool(late), "no Logs line for the fire")
    return outcome


@timed
def clock_stepped_forward(bench: Bench) -> Outcome:
    """The scheduler's clock stepped forward an hour (six 10-minute fires and one daily fire skipped over)."""
    at = datetime.now(UTC) + timedelta(minutes=30)
    outcome = Outcome(
        "clock stepped forward 1 h",
        f"scheduler clock +3600 s over 'every 00:10' and 'daily {at:%H:%M}' (fba_inventory)",
    )
    add_automation(
        bench,
        {
            "Name": "Fault every 10",
            "Run": "Interval",
            "Time": "00:10",
            "Timezone": 0,
            "Report Types": ["fba_inventory"],
        },
    )
    add_automation(
        bench,
        {
            "Name": "Fault daily",
            "Run": "Daily",
            "Time": f"{at:%H:%M}",
            "Timezone": 0,
            "Report Types": ["fba_inventory"],
        },
    )
    scheduler_ticks_after(bench, time.time())
    wait_for(lambda: all(r["status"] in ("SUCCESS", "FAILURE") for r in inventory_runs(bench)), 120, 2, "quiet runs")
    before = len(inventory_runs(bench))
    bench.clock_file.write_text("3600")
    scheduler_ticks_after(bench, time.time(), ticks=2)
    runs = inventory_runs(bench)[: len(inventory_runs(bench)) - before]
    reasons = [next((t["value"] for t in r["tags"] if t["key"] == "paperplan/reason"), "") for r in runs]
    outcome.runs = len(runs)
    outcome.product = f"{len(runs)} run(s) launched: {reasons}"
    outcome.check(len(runs) == 1, f"{len(runs)} runs for one report after the step (a burst)")
    return outcome


FAULTS: list[Callable[[Bench], Outcome]] = [
    slack_refusing,
    run_worker_killed,
    postgres_restarted,
    mongo_restarted,
    code_server_killed,
    daemon_killed_before_a_fire,
    clock_stepped_forward,  # last: the clock stays an hour ahead
]
