"""Two-year onboarding: a 730-day backfill of every demo report type that has history, at Amazon's real rate
limits, before (Sales & Traffic through the Reports API) and after (through Data Kiosk, issue 20).

The types with history (snapshots have none): ``sales_report`` (orders by date: 30 days per createReport),
``sales_and_traffic`` (Data Kiosk: the whole window is one range -- one query finding the seller's ASINs,
then one trends query per 30 ASINs; Data Kiosk takes start dates up to two years back, so with Offset 3 the
window is the 727 days it still serves) and ``ads_campaigns`` within Amazon Ads' retention (requests reach
95 days back, 31 days per report: amzn/ads-advanced-tools-docs discussion #157; the Ads stand-in refuses
older start dates the same way).

Each type is backfilled as Dagster runs a backfill: its BackfillPolicy's runs of ``max_partitions_per_run``
days, one after another (the product would run the three APIs' backfills side by side: the sum printed is an
upper bound). The SP-API stand-in and the clients run every usage plan at x``--scale`` (like daily_fire.py's
15-minute rule at x60), and each run's calls per operation are counted. Amazon's rates are then added back
by replaying the runs, in order, through token buckets at scale 1 (each run: its lookups, creates, polls,
document calls, back to back, then its measured wall time, as if no wait overlapped the run's own work):
"at real limits". The cruder bound -- measured time plus ``max(0, calls - burst) / rate`` of every operation,
summed as if no two waits overlapped -- is printed too. The Ads stand-in has no rate limiter (Amazon
publishes no fixed reporting rate): measured as is. Measured time includes storing every day in the local
MongoDB and Airtable stand-ins on this machine.

Before: GET_SALES_AND_TRAFFIC_REPORT needs one createReport per day (its by-ASIN section adds up the whole
range) and Amazon accepts one per 15 minutes: 730 requests, 729 waits of 15 minutes -- computed from the rule,
not measured (daily_fire.py measures the rule).

Goal (issue 20): two-year onboarding <= 60 min of Amazon's time.

    .venv/bin/python benchmarks/onboarding.py [--scale 60]
"""

from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import httpx
from daily_fire import Figures, resources_for, run, stand_ins

from paperplan_sync.config.loader import load_config
from paperplan_sync.config.models import ReportType
from paperplan_sync.reports.factory import build_report_asset
from paperplan_sync.reports.partitions import scheduled_days
from paperplan_sync.sources.amazon_datakiosk.queries import earliest_day
from paperplan_sync.sources.amazon_datakiosk.settings import USAGE_PLANS as DATA_KIOSK_PLANS
from paperplan_sync.sources.amazon_sp import clear_token_cache, reset_buckets
from paperplan_sync.sources.amazon_sp.catalog import SALES_AND_TRAFFIC_EVERY_S
from paperplan_sync.sources.amazon_sp.settings import USAGE_PLANS as REPORTS_PLANS

HISTORY_DAYS = 730
ADS_RETENTION_DAYS = 95  # Amazon Ads: report requests reach 95 days back (the stand-in's RETENTION_DAYS)
GOAL_S = 3600.0
TYPES = ("sales_report", "sales_and_traffic", "ads_campaigns")
# (rate per second, burst) of every SP-API operation the stand-in meters, Reports and Data Kiosk.
PLANS: dict[str, tuple[float, int]] = {op: (p.rate, p.burst) for op, p in REPORTS_PLANS.items()} | DATA_KIOSK_PLANS


@dataclass
class Backfill:
    name: str
    first: date
    last: date
    runs: int = 0
    figures: Figures = field(default_factory=Figures)
    operations: dict[str, int] = field(default_factory=dict)  # SP-API operation -> calls
    per_run: list[tuple[dict[str, int], float]] = field(default_factory=list)  # (calls per operation, wall s)
    waits_added_s: float = 0.0  # replayed at scale 1
    upper_bound_s: float = 0.0

    @property
    def days(self) -> int:
        return (self.last - self.first).days + 1

    @property
    def amazon_s(self) -> float:
        return self.figures.wall_s + self.waits_added_s


# The order of a run's calls: the in-flight lookup, the creates, the polls, the documents.
CALL_ORDER = ("getReports", "getQueries", "createReport", "createQuery", "getReport", "getQuery")
CALL_ORDER += ("getReportDocument", "getDocument")


def replay(per_run: list[tuple[dict[str, int], float]]) -> float:
    """The waits Amazon's usage plans impose on these runs, one after another: token buckets at scale 1."""
    tokens = {op: float(burst) for op, (_, burst) in PLANS.items()}
    now = waited = 0.0
    last = dict.fromkeys(PLANS, 0.0)
    for calls, wall in per_run:
        for op in sorted(calls, key=lambda o: CALL_ORDER.index(o) if o in CALL_ORDER else len(CALL_ORDER)):
            if op not in PLANS:
                continue
            rate, burst = PLANS[op]
            for _ in range(calls[op]):
                tokens[op] = min(burst, tokens[op] + (now - last[op]) * rate)
                last[op] = now
                if tokens[op] < 1:
                    wait = (1 - tokens[op]) / rate
                    now, waited = now + wait, waited + wait
                    tokens[op] = 1.0
                    last[op] = now
                tokens[op] -= 1
        now += wall
    return waited


def spapi_calls(env: dict[str, str]) -> dict[str, int]:
    return dict(httpx.get(env["SPAPI_ENDPOINT"] + "/_test/stats").json()["calls"])


def waits_removed(operations: dict[str, int], scale: float) -> float:
    """What the scaled usage plans saved, per operation past its burst, summed (an upper bound)."""
    total = 0.0
    for op, calls in operations.items():
        if op in PLANS:
            rate, burst = PLANS[op]
            total += max(0, calls - burst) / rate * (1 - 1 / scale)
    return total


def window(rt: ReportType, now: datetime) -> tuple[date, date]:
    """The days a two-year onboarding of the type asks for, as far back as its API serves them."""
    last = scheduled_days(rt, now)[-1]
    first = last - timedelta(days=HISTORY_DAYS - 1)
    if rt.source == "amazon_datakiosk":
        first = max(first, earliest_day(now.date()))
    if rt.source == "amazon_ads":
        first = max(first, now.date() - timedelta(days=ADS_RETENTION_DAYS - 1))
    return first, last


def backfill(rt: ReportType, resources: dict, instance: dg.DagsterInstance, env: dict, scale: float) -> Backfill:
    first, last = window(rt, datetime.now(UTC))
    rt = rt.model_copy(update={"start_date": first, "repeat_days": 0})
    per_run = build_report_asset(rt).backfill_policy.max_partitions_per_run
    days = [first + timedelta(days=n) for n in range((last - first).days + 1)]
    out = Backfill(rt.name, first, last)
    for start in range(0, len(days), per_run):
        before = spapi_calls(env)
        f = run(rt, days[start : start + per_run], resources, instance, env)
        after = spapi_calls(env)
        calls = {op: after[op] - before.get(op, 0) for op in after if after[op] - before.get(op, 0)}
        out.per_run.append((calls, f.wall_s))
        out.figures, out.runs = out.figures + f, out.runs + 1
        for op, n in calls.items():
            out.operations[op] = out.operations.get(op, 0) + n
    if rt.source != "amazon_ads":
        out.waits_added_s = replay(out.per_run)
        out.upper_bound_s = out.figures.wall_s + waits_removed(out.operations, scale)
    else:
        out.upper_bound_s = out.figures.wall_s
    return out


def onboard(scale: float, types: tuple[str, ...] = TYPES) -> dict[str, Backfill]:
    reset_buckets()
    clear_token_cache()
    with stand_ins(scale) as (_, env), dg.instance_for_test() as instance:
        os.environ["PAPERPLAN_STATE_DIR"] = env["PAPERPLAN_STATE_DIR"]
        resources = resources_for(env)
        config = load_config(resources["airtable"])
        return {name: backfill(config.report_type(name), resources, instance, env, scale) for name in types}


def reports_api_sales_and_traffic(days: int) -> float:
    """Amazon's time of the Reports-API way: one createReport per day, one per 15 minutes."""
    return (days - 1) * SALES_AND_TRAFFIC_EVERY_S


def print_results(done: dict[str, Backfill], scale: float) -> None:
    print(f"Two-year onboarding, each type's backfill runs one after another (SP-API usage plans at x{scale:g}):")
    header = f"  {'report type':<18} {'days':>4} {'runs':>4} {'requests':>8} {'API calls':>9} {'throttled':>9}"
    print(header + f" {'measured s':>10} {'waits added s':>13} {'real min':>8} {'bound min':>9}")
    for b in done.values():
        f = b.figures
        print(
            f"  {b.name:<18} {b.days:>4} {b.runs:>4} {f.requests:>8} {f.calls:>9} {f.throttled:>9} "
            f"{f.wall_s:>10.1f} {b.waits_added_s:>13.1f} {b.amazon_s / 60:>8.1f} {b.upper_bound_s / 60:>9.1f}"
            f"   ({b.first}..{b.last})"
        )
    for b in done.values():
        if b.operations and b.name != "ads_campaigns":
            print(f"    {b.name} calls: " + ", ".join(f"{op} {n}" for op, n in sorted(b.operations.items())))
    print_goal(done)


def print_goal(done: dict[str, Backfill]) -> None:
    if "sales_and_traffic" not in done:
        return
    after = sum(b.amazon_s for b in done.values())
    bound = sum(b.upper_bound_s for b in done.values())
    others = sum(b.amazon_s for name, b in done.items() if name != "sales_and_traffic")
    before_st = reports_api_sales_and_traffic(HISTORY_DAYS)
    before = others + before_st
    kiosk = done["sales_and_traffic"]
    print(
        f"  before (Reports-API Sales & Traffic: {HISTORY_DAYS} createReport, one per 15 min, computed): "
        f"{before_st / 86400:.1f} days for it; onboarding {before / 3600:.1f} h ({before / 86400:.1f} days)"
    )
    print(
        f"  after (Data Kiosk: {kiosk.figures.requests} queries for {kiosk.days} days): {kiosk.amazon_s / 60:.1f} min "
        f"for it; onboarding {after / 60:.1f} min at real limits (upper bound {bound / 60:.1f} min) -- "
        f"{before / after:.0f}x faster"
    )
    print(
        f"  goal: two-year onboarding <= {GOAL_S / 60:.0f} min: {after / 60:.1f} min: "
        + ("PASS" if after <= GOAL_S else "FAIL")
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scale", type=float, default=60.0, help="SP-API usage plans x this (waits added back)")
    parser.add_argument("--types", nargs="+", choices=TYPES, default=list(TYPES), help="backfill only these")
    args = parser.parse_args()
    print_results(onboard(args.scale, tuple(args.types)), args.scale)


if __name__ == "__main__":
    main()
