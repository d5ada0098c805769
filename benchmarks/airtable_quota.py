"""Airtable API calls a month: the real product (`dagster dev` with its daemon, and the `api` service)
against the local Airtable at Airtable's limits, every call counted by the stand-in per endpoint.

Phases, each measured from the stand-in's counters:
1. start-up: what one start costs (first scheduler tick, webhook, heartbeat);
2. idle: a window with nothing scheduled. The heartbeat and the safety read of webhook payloads are the
   only periodic calls; their intervals are shortened ``--compress`` times (PAPERPLAN_HEARTBEAT_S,
   PAPERPLAN_SAFETY_POLL_S) and their counts scaled back, so minutes stand for hours. Nothing else is
   shortened: a cause that is not periodic is counted as it happened;
3. edits: an Automations edit made as a person makes it (the Airtable UI) and one through the Web API (a
   script, Zapier), and a person's Report Types edit: the seconds until each is in effect (its Logs record
   written in Airtable);
4. fires: each demo automation fired once (set to run the next minute), its runs finished and their
   writes sent; a typical day is idle plus each automation's fires a day at its real schedule.

Both change-detection modes are measured, each from a fresh start: webhook mode (a public URL: Airtable
pings the api service) and poll mode (no public URL: the webhooks are checked every 40 s). Fires cost the
same in both and are measured once, in webhook mode.

    .venv/bin/python benchmarks/airtable_quota.py [--idle-minutes 10] [--compress 30] [--modes webhook,poll]
    .venv/bin/python benchmarks/airtable_quota.py --product ../old-checkout   # a "before" figure

``--product`` runs `dagster dev` from another checkout's .venv (its own `api` service if it has one).
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import tempfile
import time
from collections import Counter
from contextlib import ExitStack, contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
from pyairtable.formulas import FIND, Field

from paperplan_local.runner import free_port
from paperplan_local.stack import stand_ins
from paperplan_sync.config.parse import parse_tables
from paperplan_sync.config.timing import fire_times

MONTH_H = 30 * 24
SETTLE_MIN = 3  # a fire's runs finish and the outbox sends their writes within this
GOALS = {"idle": 3000, "typical day": 5000, "edit latency s": 60}
CAUSES = [  # (cause, endpoint prefixes as /_test/stats names them, periodic and shortened by --compress)
    ("heartbeat (Overview)", ("PATCH Overview", "POST Overview"), True),
    ("change payloads read (after an edit)", ("GET webhooks/payloads",), False),
    ("change detection (check of the webhooks)", ("GET webhooks",), True),
    ("webhook upkeep (create, refresh, delete)", ("POST webhooks", "DELETE webhooks"), False),
    (
        "config reads (Report Types, Automations)",
        ("GET Report Types", "GET Automations", "POST Report Types/listRecords", "POST Automations/listRecords"),
        False,
    ),
    ("schema reads", ("GET meta",), False),
    ("Logs writes", ("POST Logs", "PATCH Logs"), False),
    ("Logs retention", ("DELETE Logs",), False),
    ("Reports writes", ("POST Reports", "PATCH Reports"), False),
    ("retry check (Reports query)", ("GET Reports", "POST Reports/listRecords"), False),
    (
        "report rows to Airtable (Listings)",
        ("POST Listings", "PATCH Listings", "GET Listings", "DELETE Listings"),
        False,
    ),
]
BENCH_READS = ("GET Logs",)  # this script's own reads of Logs (the product never lists Logs at idle)
DEMO_FIRES_A_DAY = {"Daily reports": 1.0, "Inventory every 2 hours": 12.0, "Weekly listings": 1 / 7}


def cause_of(endpoint: str) -> str:
    for cause, prefixes, _ in CAUSES:
        if endpoint.startswith(prefixes):
            return cause
    return "benchmark's own reads" if endpoint.startswith(BENCH_READS) else f"other: {endpoint}"


def by_cause(stats: dict) -> Counter:
    out: Counter = Counter()
    for endpoint, n in stats["by_endpoint"].items():
        out[cause_of(endpoint)] += n
    out.pop("benchmark's own reads", None)
    return out


def periodic(cause: str) -> bool:
    return any(c == cause and p for c, _, p in CAUSES)


def compressed(cause: str, mode: str) -> bool:
    """Shortened by --compress: the heartbeat, and webhook mode's 30-minute safety check (poll mode's 40 s
    check runs at its real interval)."""
    return periodic(cause) and (mode == "webhook" or not cause.startswith("change detection"))


class LocalAirtable:
    def __init__(self, url: str, key: str, base: str):
        self.client = httpx.Client(base_url=url, timeout=30, headers={"Authorization": f"Bearer {key}"})
        self.base = base

    def stats(self) -> dict:
        return self.client.get("/_test/stats").json()

    def clear_stats(self) -> None:
        self.client.delete("/_test/stats")

    def records(self, table: str, formula: str | None = None) -> list[dict]:
        """Every record (one call a page); this script's own reads share the base's 5 requests/s with the
        product, so they are few and filtered, and a 429 is waited out."""
        out, offset = [], None
        while True:
            params = {k: v for k, v in (("offset", offset), ("filterByFormula", formula)) if v}
            answer = self.client.get(f"/v0/{self.base}/{table}", params=params)
            if answer.status_code == 429:
                time.sleep(31)
                continue
            page = answer.json()
            out += page["records"]
            if not (offset := page.get("offset")):
                return out

    def record_id(self, table: str, name: str) -> str:
        return next(r["id"] for r in self.records(table) if r["fields"].get("Name") == name)

    def api_edit(self, table: str, record_id: str, fields: dict) -> None:
        """An edit through the Web API, as a script, Zapier or Make makes it (webhook source publicApi)."""
        answer = self.client.patch(f"/v0/{self.base}/{table}/{record_id}", json={"fields": fields, "typecast": True})
        answer.raise_for_status()

    def edit(self, table: str, record_id: str, fields: dict) -> None:
        answer = self.client.post(
            "/_test/client_edit",
            json={"table": table, "op": "update", "record_id": record_id, "fields": fields, "typecast": True},
        )
        answer.raise_for_status()

    def logs(self, containing: str = "") -> list[str]:
        formula = str(FIND(containing, Field("Summary"))) if containing else None
        return [r["fields"].get("Summary", "") for r in self.records("Logs", formula)]


def seconds_until_quiet(at: LocalAirtable, minutes: float) -> float:
    """How long to wait so that no automation fires in the next ``minutes`` (the idle window), its runs and
    their writes included: 0 when none is due; else until the last fire due in that span has settled."""
    _, automations, _ = parse_tables(at.records("Report Types"), at.records("Automations"))
    now = datetime.now(UTC)
    fires = [t for a in automations for t in fire_times(a, now, now + timedelta(minutes=minutes + SETTLE_MIN))]
    return (max(fires) - now).total_seconds() + SETTLE_MIN * 60 if fires else 0.0


def wait_until(predicate, timeout: float, interval: float = 1.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := predicate():
            return value
        time.sleep(interval)
    return None


@contextmanager
def product(checkout: Path, env: dict[str, str], home: Path):
    """`dagster dev` and (when the checkout has it) `paperplan-sync api`, each in its own process group."""
    bin_dir = checkout / ".venv" / "bin"
    (home / "dagster.yaml").write_text("telemetry:\n  enabled: false\nnux:\n  enabled: false\n")
    port = free_port()
    full = {
        **os.environ,
        **env,
        "DAGSTER_HOME": str(home),
        "PAPERPLAN_STATE_DIR": str(home / "state"),
        "DAGSTER_WEBSERVER_URL": f"http://127.0.0.1:{port}",
    }
    argvs = [
        [str(bin_dir / "dagster"), "dev", "-w", str(checkout / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    ]
    if (checkout / "paperplan_sync" / "api").exists():
        argvs.append([str(bin_dir / "paperplan-sync"), "api", "--port", env["PAPERPLAN_API_PORT"]])
    procs = [
        subprocess.Popen(
            a,
            env=full,
            cwd=home,
            stdout=open(home / f"{i}.log", "w"),
            stderr=subprocess.STDOUT,  # noqa: SIM115
            start_new_session=True,
        )
        for i, a in enumerate(argvs)
    ]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)


def runs_finished(webserver: str) -> bool:
    query = (
        "{ runsOrError(filter: {statuses: [QUEUED, NOT_STARTED, STARTING, STARTED]})"
        " { ... on Runs { results { runId } } } }"
    )
    try:
        return not httpx.post(f"{webserver}/graphql", json={"query": query}, timeout=30).json()["data"]["runsOrError"][
            "results"
        ]
    except Exception:
        return False


def next_minute_local(offset_h: int = -7, lead_s: int = 25) -> str:
    moment = datetime.now(UTC) + timedelta(hours=offset_h, seconds=lead_s)
    return (moment.replace(second=0, microsecond=0) + timedelta(minutes=1)).strftime("%H:%M")


def print_causes(title: str, counts: Counter, scale: dict[str, float] | None = None) -> float:
    print(f"\n{title}")
    total = 0.0
    for cause, n in sorted(counts.items(), key=lambda kv: -kv[1]):
        value = n * (scale or {}).get(cause, 1.0)
        total += value
        print(f"  {cause:<44} {n:>6}" + (f"   -> {value:>10,.0f} a month" if scale else ""))
    return total


def measure_idle(at: LocalAirtable, args, mode: str) -> float:
    # Idle means no automation due (e.g. "Inventory every 2 hours" at an even hour): its fire is not idle's.
    if wait := seconds_until_quiet(at, args.idle_minutes):
        print(f"  (an automation is due; the idle window starts in {wait / 60:.0f} min)")
        time.sleep(wait)
    at.clear_stats()
    window_h, k = args.idle_minutes / 60, args.compress
    time.sleep(args.idle_minutes * 60)
    idle = by_cause(at.stats())
    scale = {c: MONTH_H / window_h / (k if compressed(c, mode) else 1) for c in idle}
    per_hour = sum(n * scale[c] / MONTH_H for c, n in idle.items())
    shortened = "heartbeat and safety check" if mode == "webhook" else "heartbeat"
    month = print_causes(
        f"2. idle: {args.idle_minutes:g} min; {shortened} {k:g}x more often, scaled back (per hour: {per_hour:.1f})",
        idle,
        scale,
    )
    print(f"  {'idle, projected a month':<44} {month:>17,.0f}   (goal <= {GOALS['idle']:,} in webhook mode)")
    return month


EDITS = (  # (how, table, name, fields, the Logs record that says it is in effect)
    ("person", "Automations", "Weekly listings", {"Time": "05:17"}, "Automation 'Weekly listings' changed"),
    ("Web API", "Automations", "Weekly listings", {"Time": "05:19"}, "Automation 'Weekly listings' changed"),
    ("person", "Report Types", "sales_report", {"Description": "edited by the benchmark"}, "Report Types changed"),
)


def measure_edits(at: LocalAirtable) -> dict[str, float]:
    latencies = {}
    for how, table, name, fields, marker in EDITS:
        record_id = at.record_id(table, name)
        before = len(at.logs(marker))
        t0 = time.monotonic()
        (at.api_edit if how == "Web API" else at.edit)(table, record_id, fields)
        done = wait_until(lambda m=marker, b=before: len(at.logs(m)) > b, 180, 1)
        latencies[f"{table} edit by {how}"] = time.monotonic() - t0 if done else float("inf")
        time.sleep(5)
    print("\n3. edit -> in effect (its Logs record in Airtable)")
    for what, seconds in latencies.items():
        print(f"  {what:<44} {seconds:>10.1f} s   (goal <= {GOALS['edit latency s']} s)")
    return latencies


def measure_fires(at: LocalAirtable, webserver: str) -> float:
    per_fire: dict[str, Counter] = {}
    time.sleep(20)
    for name in DEMO_FIRES_A_DAY:
        record_id, marker = at.record_id("Automations", name), f"Automation '{name}' changed"
        before = len(at.logs(marker))
        at.edit("Automations", record_id, {"Run": "Daily", "Time": next_minute_local(lead_s=50)})
        wait_until(lambda m=marker, b=before: len(at.logs(m)) > b, 120, 3)  # in effect: its calls are not the fire's
        at.clear_stats()
        wait_until(lambda n=name: at.logs(f"Automation '{n}' due"), 150, 3)
        time.sleep(10)
        wait_until(lambda: runs_finished(webserver), 600, 3)
        time.sleep(75)  # the outbox sensor sends what the runs queued (every 60 s)
        # The heartbeat and the safety check went on meanwhile (shortened): they are idle's, counted there.
        per_fire[name] = Counter({c: n for c, n in by_cause(at.stats()).items() if not periodic(c)})
    day: Counter = Counter()
    print("\n4. one fire of each demo automation (its runs and their writes)")
    for name, counts in per_fire.items():
        print(f"  {name:<44} {sum(counts.values()):>6} calls  {dict(counts)}")
        for cause, n in counts.items():
            day[cause] += n * DEMO_FIRES_A_DAY[name]
    fires_month = sum(day.values()) * 30
    print(
        f"  {'fires at their real schedules, a month':<44} {fires_month:>17,.0f}   "
        f"(Daily 1/day, Inventory 12/day, Weekly 1/7 per day)"
    )
    return fires_month


def run_mode(mode: str, args) -> dict:
    """One mode, from a fresh local Airtable and product: start-up, idle, edits, and (webhook) fires."""
    k = args.compress
    api_port = free_port()
    env_mode = {"PAPERPLAN_HEARTBEAT_S": str(round(1800 / k)), "PAPERPLAN_API_PORT": str(api_port)}
    if mode == "webhook":
        env_mode |= {
            "PAPERPLAN_SAFETY_POLL_S": str(round(1800 / k)),
            "PAPERPLAN_PUBLIC_URL": f"http://127.0.0.1:{api_port}",
        }
    else:
        env_mode |= {"PAPERPLAN_CHANGE_DETECTION": "poll"}
    with ExitStack() as stack:
        env = stack.enter_context(
            stand_ins(airtable_kwargs={"enable_fault_injection": True, "rate_limit_per_s": 5, "penalty_s": 30.0})
        )
        env.update(env_mode)
        from paperplan_local.airtable import DEFAULT_API_KEY, DEFAULT_BASE_ID

        at = LocalAirtable(env["AIRTABLE_ENDPOINT_URL"], DEFAULT_API_KEY, DEFAULT_BASE_ID)
        at.clear_stats()
        home = Path(tempfile.mkdtemp(prefix=f"bench-quota-{mode}-"))
        started = time.monotonic()
        webserver = stack.enter_context(product(args.product.resolve(), env, home))
        if not wait_until(lambda: at.logs("Scheduler started"), 240, 3):
            raise SystemExit(f"the product did not start; see {home}")
        time.sleep(30)  # the first tick's writes and the first heartbeat settle
        print(f"\n=== {mode} mode (product: {args.product}); local Airtable at 5 req/s, 30 s penalty")
        print_causes(f"1. start-up (once per start; up in {time.monotonic() - started:.0f} s)", by_cause(at.stats()))
        result = {"idle": measure_idle(at, args, mode), "edits": measure_edits(at)}
        if mode == "webhook" and not args.skip_fires:
            result["fires"] = measure_fires(at, webserver)
        return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--idle-minutes", type=float, default=10)
    parser.add_argument(
        "--compress", type=float, default=30, help="shorten the heartbeat and safety-check intervals this many times"
    )
    parser.add_argument("--product", type=Path, default=Path(__file__).resolve().parents[1])
    parser.add_argument("--modes", default="webhook,poll", help="webhook, poll, or both (comma-separated)")
    parser.add_argument("--skip-fires", action="store_true")
    args = parser.parse_args()
    results = {mode: run_mode(mode, args) for mode in args.modes.split(",")}

    print("\n=== the two modes side by side (calls a month; edit -> in effect, seconds)")
    fires = next((r["fires"] for r in results.values() if "fires" in r), None)
    for mode, r in results.items():
        edits = ", ".join(f"{what} {s:.0f} s" for what, s in r["edits"].items())
        typical = f"typical day {r['idle'] + fires:,.0f}" if fires is not None else "typical day not measured"
        print(f"  {mode:<8} idle {r['idle']:>8,.0f}   {typical}   {edits}")
    if fires is not None:
        print(
            f"  (typical day = idle + the demo fires, {fires:,.0f} a month, measured in webhook mode: the same in both)"
        )
    print(f"  goals: webhook idle <= {GOALS['idle']:,}, typical day <= {GOALS['typical day']:,}; every edit <= 60 s")


if __name__ == "__main__":
    main()
