"""Wall time of a 30-partition backfill launched as the UI launches one, against 30 one-partition runs.

Both go through a real `dagster dev` (webserver + daemon) and the instance's run launcher, so every run
is its own process, against the local stand-ins. The backfill uses the assets' backfill policy (days
grouped into one run, each day still requested and stored as its own report); the baseline launches
the same 30 partitions as 30 runs through the same GraphQL API. Target: backfill >= 5x faster.

    .venv/bin/python benchmarks/backfill_runs.py [--days 30]
"""

from __future__ import annotations

import argparse
import time
from datetime import date, timedelta

from paperplan_sync.automation.backfill import backfill_progress, launch_backfill
from paperplan_sync.local.stack import dagster_dev, finished_run_status, launch_partition_run, stand_ins

ASSET = ("amazon_sp", "sales_report")


def partition_days(first: date, count: int) -> list[str]:
    return [(first + timedelta(days=n)).isoformat() for n in range(count)]


def time_backfill(stack, days: list[str]) -> float:
    started = time.perf_counter()
    backfill_id = launch_backfill(stack.webserver_url, ASSET, days)
    while not (progress := backfill_progress(stack.webserver_url, backfill_id)).done:
        time.sleep(0.5)
    assert progress.materialized == len(days), progress
    return time.perf_counter() - started


def time_separate_runs(stack, days: list[str]) -> float:
    started = time.perf_counter()
    pending = {launch_partition_run(stack, ASSET, day) for day in days}
    while pending:
        for run_id in list(pending):
            if status := finished_run_status(stack, run_id):
                assert status == "SUCCESS", (run_id, status)
                pending.discard(run_id)
        time.sleep(0.5)
    return time.perf_counter() - started


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=30)
    args = parser.parse_args()
    today = date.today()
    with stand_ins(spapi_kwargs={"today": lambda: today}) as env, dagster_dev(env) as stack:
        # Different days for each side, so neither reuses the other's reports; same sizes on average.
        backfill_s = time_backfill(stack, partition_days(date(2026, 9, 1), args.days))
        separate_s = time_separate_runs(stack, partition_days(date(2026, 10, 1), args.days))
    print(f"{args.days}-partition backfill of {'/'.join(ASSET)} through dagster dev (each run its own process)")
    print(f"  one backfill (backfill policy groups the days):  {backfill_s:7.1f} s")
    print(f"  {args.days} one-partition runs, launched the same way: {separate_s:7.1f} s")
    print(f"  speed-up:                                          {separate_s / backfill_s:7.1f}x  (target >= 5x)")


if __name__ == "__main__":
    main()
