"""Wall time of a 30-partition backfill launched as the UI launches one, against 30 one-partition runs.

Everything goes through a real `dagster dev` with `make dev`'s instance settings (paperplan_local's
dagster.yaml: queued runs, at most 4 at a time; every run its own process) against the local stand-ins,
launched through the same GraphQL mutation the UI uses:
- backfill: the UI's backfill dialog, "Launch as: Single run" -- one run over the partition range; the
  asset requests every day up front and loads each as its own report (own request, rows, Reports record);
- baseline: the same 30 partitions as one run each, launched the same way (30 x launchRun).
Target: the backfill >= 5x faster. Also printed, for information: the same backfill submitted as a daemon
backfill ("Launch backfill", the asset's BackfillPolicy groups the days into one run); Dagster's backfill
daemon wakes every 30 s, which adds 0-30 s before the run is submitted.

The two timed sides use different days (the demo sales_report starts on 2026-09-01), so neither reuses
the other's reports; day sizes are alike. The daemon backfill re-pulls the single run's days.

The SP-API stand-in throttles as `make dev` does (Amazon's rates x 100): createReport's burst of 15 then
1.67/s makes 30 requests take ~9 s, which bounds the single run however fast the rest is (Amazon itself
allows one a minute, so a real 30-day backfill is throttle-bound in any launch mode). ``--spapi-rate-scale``
changes that scale for both the stand-in and the client, to see the orchestration alone.

    .venv/bin/python benchmarks/backfill_runs.py [--days 30] [--skip-daemon] [--spapi-rate-scale 100]
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta
from pathlib import Path

from paperplan_local.env import LOCAL_RATE_LIMIT_SCALE
from paperplan_local.stack import (
    backfill_run_statuses,
    dagster_dev,
    finished_run_status,
    launch_partition_range_run,
    launch_partition_run,
    stand_ins,
)
from paperplan_sync.ops.backfill import launch_backfill

ASSET = ("amazon_sp", "sales_report")
LOCAL_INSTANCE = Path(__file__).resolve().parents[1] / "paperplan_local" / "dagster.yaml"
POLL_S = 0.25


def partition_days(first: date, count: int) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range(count)]


def wait_for_runs(stack, run_ids: set[str]) -> None:
    pending = set(run_ids)
    while pending:
        for run_id in list(pending):
            if status := finished_run_status(stack, run_id):
                assert status == "SUCCESS", (run_id, status)
                pending.discard(run_id)
        time.sleep(POLL_S)


def time_single_run(stack, days: list[str]) -> float:
    started = time.perf_counter()
    wait_for_runs(stack, {launch_partition_range_run(stack, ASSET, days[0], days[-1])})
    return time.perf_counter() - started


def time_separate_runs(stack, days: list[str]) -> float:
    started = time.perf_counter()
    wait_for_runs(stack, {launch_partition_run(stack, ASSET, day) for day in days})
    return time.perf_counter() - started


def time_daemon_backfill(stack, days: list[str]) -> float:
    """Until the backfill's runs have all succeeded (the data is in); the daemon marks the backfill
    complete on its next tick."""
    started = time.perf_counter()
    backfill_id = launch_backfill(stack.webserver_url, ASSET, days)
    while not (statuses := backfill_run_statuses(stack, backfill_id)) or any(
        s not in ("SUCCESS", "FAILURE", "CANCELED") for s in statuses
    ):
        time.sleep(POLL_S)
    assert set(statuses) == {"SUCCESS"}, statuses
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--skip-daemon", action="store_true", help="skip the informational daemon backfill")
    parser.add_argument("--spapi-rate-scale", type=float, default=LOCAL_RATE_LIMIT_SCALE)
    args = parser.parse_args()
    today = date.today()
    with (
        stand_ins(spapi_kwargs={"today": lambda: today, "rate_limit_scale": args.spapi_rate_scale}) as env,
        dagster_dev(
            {**env, "SPAPI_RATE_LIMIT_SCALE": str(args.spapi_rate_scale)}, instance_yaml=LOCAL_INSTANCE.read_text()
        ) as stack,
    ):
        single_s = time_single_run(stack, partition_days(date(2026, 9, 1), args.days))
        separate_s = time_separate_runs(stack, partition_days(date(2026, 10, 1), args.days))
        daemon_s = (
            None if args.skip_daemon else time_daemon_backfill(stack, partition_days(date(2026, 9, 1), args.days))
        )
    print(
        f"{args.days}-partition backfill of {'/'.join(ASSET)} through dagster dev (each run its own process; "
        f"SP-API rates x {args.spapi_rate_scale:g})"
    )
    print(f"  backfill, UI 'Launch as: Single run':              {single_s:7.1f} s")
    print(f"  {args.days} one-partition runs, launched the same way:   {separate_s:7.1f} s")
    print(f"  speed-up:                                          {separate_s / single_s:7.1f}x  (target >= 5x)")
    if daemon_s is not None:
        print(
            f"  (daemon backfill, BackfillPolicy groups the days:  {daemon_s:7.1f} s, "
            f"{separate_s / daemon_s:.1f}x; includes the daemon's 0-30 s wake-up)"
        )


if __name__ == "__main__":
    main()
