"""The fault matrix on the production instance (issue 21): every fault injected into the product as
production runs it, one line per fault.

The product runs as deploy/systemd's units run it (the webserver, the daemon and the api service, each
restarted like systemd's Restart=on-failure after its RestartSec), on deploy/dagster.yaml with a fresh
PostgreSQL database, against every stand-in (MongoDB as its own process). The harness and the faults are
paperplan_sync_tests/e2e/faults_harness.py and faults_cases.py, which e2e/test_faults.py runs too.

Each line: what was done, what the product did, rows lost, rows duplicated, alerts sent (and expected),
runs launched, seconds, PASS or FAIL (with why). The goal: every fault survived, 0 rows lost, 0 duplicates,
exactly one alert per real failure.

- PostgreSQL "restart": by default every connection to the product's database is dropped and new ones are
  refused for 5 s (what clients see of a restart, without disturbing the machine's other databases);
  ``--pg-cluster-restart`` runs ``pg_ctlcluster 15 main restart`` instead (root; restarted whatever happens).
- Slack "refusing for an hour": Slack refuses while the report fails and the product keeps the alert; the
  hour itself is run on the product's retry clock in alerting/test_alert_queue.py (flush(now=...)).
- The clock step: the scheduler's clock (PAPERPLAN_TEST_CLOCK_OFFSET_FILE), not the machine's.

    .venv/bin/python benchmarks/faults.py [--only NAME ...] [--pg-cluster-restart]   (~8 min, busy 2 cores)
"""

from __future__ import annotations

import argparse
import functools
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from paperplan_sync_tests.e2e import faults_cases  # noqa: E402
from paperplan_sync_tests.e2e.faults_harness import Bench  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    names = [f.__name__ for f in faults_cases.FAULTS]
    parser.add_argument("--only", nargs="+", choices=names, help="run only these faults (in matrix order)")
    parser.add_argument("--pg-cluster-restart", action="store_true", help="restart the real PostgreSQL cluster")
    args = parser.parse_args()
    faults = [f for f in faults_cases.FAULTS if not args.only or f.__name__ in args.only]
    if args.pg_cluster_restart:
        faults = [functools.partial(f, cluster=True) if f is faults_cases.postgres_restarted else f for f in faults]
    started = time.monotonic()
    outcomes = []
    with Bench() as bench:
        print(f"product up in {bench.startup_s:.0f} s (systemd units' commands, deploy/dagster.yaml, PostgreSQL)")
        for fault in faults:
            try:
                outcome = fault(bench)
            except Exception as exc:  # a fault that broke the harness is a FAIL line, not the end of the matrix
                outcome = faults_cases.Outcome(getattr(fault, "__name__", str(fault)), "did not finish")
                outcome.problems.append(f"{type(exc).__name__}: {exc}")
            outcomes.append(outcome)
            print(outcome.line(), flush=True)
    passed = sum(o.passed for o in outcomes)
    print(f"{passed}/{len(outcomes)} faults survived in {time.monotonic() - started:.0f} s")
    return 0 if passed == len(outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
