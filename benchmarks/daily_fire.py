"""One daily fire of every active demo report type at Amazon's real rate limits, and a 90-day backfill.

Each active report type of the demo base runs as its automation launches it: one run over today minus
Offset plus its Repeat-after-N-days window (a snapshot type: one snapshot), against the SP-API and Ads
stand-ins at rate-limit scale 1 (SP-API usage plans as Amazon publishes them: createReport and
getReportDocument 0.0167/s after a burst of 15, getReports 0.0222/s after 10). Printed per type: report
requests (createReport / Ads report create), API calls, throttled answers (429) and wall time; then a
90-day backfill of sales_report (its Start Date moved back so 90 days exist).

Goals (issue 13): 1 report request per type per daily fire where the API allows a range; the whole
daily fire <= 120 s; the 90-day backfill <= 3 report requests. Issue 20: the daily fire of every active demo
type, Sales & Traffic included, <= 120 s.

Sales & Traffic runs twice, the demo's way and the old way (issue 20): ``sales_and_traffic`` through Data
Kiosk (createQuery / getDocument 0.0167/s after a burst of 15, getQuery 2/s; its 4 days are one range: one
query finding the seller's ASINs, then one trends query per 30 ASINs), and the inactive demo row
``sales_and_traffic_reports_api`` (GET_SALES_AND_TRAFFIC_REPORT), printed beside it but not counted in the
fire. The latter is bound by Amazon's other rule: one createReport of that type per 15 minutes (96 a day)
per selling partner and application, enforced by the stand-in. Its by-ASIN section adds up the whole range,
so its 4 days are 4 requests, 15 minutes apart: the run lasts 45 minutes. By default that run is measured on
its own SP-API stand-in with every limit x60 (15 minutes -> 15 s; its 4 requests stay inside every other
burst, so nothing else changes) and its scale-1 wall time is the measured time plus the 3 waits'
difference. ``--sales-and-traffic-at-scale-1`` measures it for real (~46 min).

``--per-day`` also runs the daily fire the old way, one report per day (every day of the window as its own
one-partition run, as many requests as before the range reports), on fresh stand-ins, and prints the
ratio. It takes ~10 minutes: its 22 getReports lookups for sales_report alone wait 45 s each past the burst.

Stand-in processing delays (unchanged at scale 1): SP-API 0.3 s per report, Ads 2 s per report. The Ads
stand-in has no rate limiter (Amazon publishes no fixed Ads reporting rate); its throttled count is 0.

    .venv/bin/python benchmarks/daily_fire.py [--per-day] [--sales-and-traffic-at-scale-1]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import dagster as dg
import httpx

from paperplan_local.runner import ServerThread
from paperplan_local.stack import stand_in_environment
from paperplan_sync.config.loader import load_config
from paperplan_sync.config.models import ReportType
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.reports.factory import BACKFILL_RUN_WAIT_MAX_S, build_report_asset
from paperplan_sync.reports.load import kind_for
from paperplan_sync.reports.partitions import day_key, scheduled_days
from paperplan_sync.sources.amazon_ads import AmazonAdsReportsResource
from paperplan_sync.sources.amazon_datakiosk import AmazonDataKioskResource
from paperplan_sync.sources.amazon_sp import AmazonSPReportsResource, clear_token_cache, reset_buckets
from paperplan_sync.storage.mongo import MongoResource

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
BACKFILL_DAYS = 90
SPACED_SCALE = 60.0  # the 15-minute rule measured at 15 s (--sales-and-traffic-at-scale-1: for real)
REPORTS_API_SALES_AND_TRAFFIC = "sales_and_traffic_reports_api"  # inactive in the demo: run for comparison
DATA_KIOSK_OPERATIONS = ("createQuery", "getQueries", "getQuery", "cancelQuery", "getDocument")


@dataclass
class Figures:
    requests: int = 0
    calls: int = 0
    throttled: int = 0
    wall_s: float = 0.0
    days: int = 1
    every_s: float = 0.0  # > 0: bound by Amazon's one createReport of the type per every_s (wall_s: scale 1)
    compared: bool = False  # an inactive demo type, run beside its replacement: not part of the fire

    def __add__(self, other: Figures) -> Figures:
        return Figures(
            self.requests + other.requests,
            self.calls + other.calls,
            self.throttled + other.throttled,
            self.wall_s + other.wall_s,
        )


@contextmanager
def stand_ins(spaced_scale: float):
    """Every stand-in at Amazon's real rates, with their statistics endpoints on; and a second SP-API stand-in
    at ``spaced_scale`` for the types bound by a per-type createReport rule (its environment: "spaced")."""
    from paperplan_local import ads, airtable, slack, spapi
    from paperplan_local.mongo import MongoStandIn

    with ExitStack() as stack:
        at = stack.enter_context(ServerThread(airtable.build_app(rate_limit_per_s=0)))
        sp = stack.enter_context(ServerThread(spapi.build_app(rate_limit_scale=1.0, enable_fault_injection=True)))
        spaced = stack.enter_context(
            ServerThread(spapi.build_app(rate_limit_scale=spaced_scale, enable_fault_injection=True))
        )
        ad = stack.enter_context(ServerThread(ads.build_app(enable_fault_injection=True)))
        sl = stack.enter_context(ServerThread(slack.build_app()))
        mongo = stack.enter_context(MongoStandIn())
        env = stand_in_environment(
            airtable_url=at.url, mongo_uri=mongo.uri, spapi_url=sp.url, ads_url=ad.url, slack_url=sl.url
        )
        env = {**env, "SPAPI_RATE_LIMIT_SCALE": "1", "PAPERPLAN_STATE_DIR": tempfile.mkdtemp(prefix="daily-fire-")}
        yield (
            env,
            {
                **env,
                "SPAPI_ENDPOINT": spaced.url,
                "SPAPI_LWA_ENDPOINT": f"{spaced.url}/auth/o2/token",
                "SPAPI_RATE_LIMIT_SCALE": str(spaced_scale),
            },
        )


def api_counts(env: dict[str, str], source: str) -> Figures:
    """(report requests, API calls, throttled) so far, from the stand-in's own statistics. Data Kiosk shares
    the SP-API stand-in: its requests are createQuery calls, its calls those of its own operations."""
    if source == "amazon_datakiosk":
        stats = httpx.get(env["SPAPI_ENDPOINT"] + "/_test/stats").json()
        ops = DATA_KIOSK_OPERATIONS
        return Figures(
            stats["calls"].get("createQuery", 0),
            sum(stats["calls"].get(op, 0) for op in ops),
            sum(stats["throttled"].get(op, 0) for op in ops),
        )
    if source == "amazon_sp":
        stats = httpx.get(env["SPAPI_ENDPOINT"] + "/_test/stats").json()
        reports = {op: n for op, n in stats["calls"].items() if op not in DATA_KIOSK_OPERATIONS}
        throttled = {op: n for op, n in stats["throttled"].items() if op not in DATA_KIOSK_OPERATIONS}
        return Figures(sum(stats["create_calls"].values()), sum(reports.values()), sum(throttled.values()))
    stats = httpx.get(env["ADS_ENDPOINT"] + "/_test/stats").json()
    return Figures(stats["reports_created"], stats["api_calls"], stats["injected_429"])


def run(
    rt: ReportType, days: list[date], resources: dict, instance: dg.DagsterInstance, env: dict[str, str]
) -> Figures:
    before = api_counts(env, rt.source)
    tags = {RANGE_START: day_key(days[0]), RANGE_END: day_key(days[-1])} if len(days) > 1 else None
    partition = day_key(days[0]) if len(days) == 1 else None
    started = time.perf_counter()
    result = dg.materialize(
        [build_report_asset(rt)],
        partition_key=partition,
        tags=tags,
        resources=resources,
        instance=instance,
        raise_on_error=False,
    )
    wall = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"{rt.name} failed: {[e.message for e in result.all_events if e.is_failure]}")
    after = api_counts(env, rt.source)
    return Figures(
        after.requests - before.requests, after.calls - before.calls, after.throttled - before.throttled, wall
    )


def resources_for(env: dict[str, str]) -> dict:
    """The product's resources pointed at the stand-ins, at Amazon's rates; polls start at 0.5 s."""
    spapi_fields = {
        "client_id": env["SPAPI_LWA_CLIENT_ID"],
        "client_secret": env["SPAPI_LWA_CLIENT_SECRET"],
        "refresh_token": env["SPAPI_REFRESH_TOKEN"],
        "endpoint": env["SPAPI_ENDPOINT"],
        "lwa_endpoint": env["SPAPI_LWA_ENDPOINT"],
        "rate_limit_scale": float(env["SPAPI_RATE_LIMIT_SCALE"]),
        "poll_initial_s": 0.5,
    }
    return {
        "airtable": AirtableResource(
            api_key=env["AIRTABLE_API_KEY"], base_id=env["AIRTABLE_BASE_ID"], endpoint_url=env["AIRTABLE_ENDPOINT_URL"]
        ),
        "mongo": MongoResource(uri=env["MONGODB_URI"], database=env["MONGODB_DATABASE"]),
        "amazon_sp": AmazonSPReportsResource(**spapi_fields),
        "amazon_datakiosk": AmazonDataKioskResource(**spapi_fields),
        "amazon_ads": AmazonAdsReportsResource(
            client_id=env["ADS_LWA_CLIENT_ID"],
            client_secret=env["ADS_LWA_CLIENT_SECRET"],
            refresh_token=env["ADS_REFRESH_TOKEN"],
            profile_id=env["ADS_PROFILE_ID"],
            endpoint=env["ADS_ENDPOINT"],
            lwa_endpoint=env["ADS_LWA_ENDPOINT"],
            poll_initial_s=0.5,
        ),
    }


def daily_fire(*, per_day: bool, backfill: bool, spaced_scale: float) -> tuple[dict[str, Figures], Figures | None]:
    reset_buckets()
    clear_token_cache()
    with stand_ins(spaced_scale) as (env, spaced_env), dg.instance_for_test() as instance:
        os.environ["PAPERPLAN_STATE_DIR"] = env["PAPERPLAN_STATE_DIR"]
        resources = resources_for(env)
        spaced_resources = {**resources, "amazon_sp": resources_for(spaced_env)["amazon_sp"]}
        config = load_config(resources["airtable"])
        now = datetime.now(UTC)
        figures: dict[str, Figures] = {}
        compared = config.report_type(REPORTS_API_SALES_AND_TRAFFIC).model_copy(update={"active": True})
        for rt in [*config.active_report_types, compared]:
            every = kind_for(rt).create_every_s
            res, e = (spaced_resources, spaced_env) if every else (resources, env)
            days = scheduled_days(rt, now) if rt.partitioned else []
            if not days:
                f = run(rt, [], res, instance, e) if not rt.partitioned else Figures()
            elif per_day:  # the old way: every day its own report
                f = sum((run(rt, [d], res, instance, e) for d in days), Figures())
            else:
                f = run(rt, days, res, instance, e)
            f.days = len(days) or 1
            if every:  # back to Amazon's spacing: each wait between two requests is `every`, not every / scale
                f.every_s = every
                f.wall_s += max(f.requests - 1, 0) * (every - every / spaced_scale)
            f.compared = rt is compared
            figures[rt.name] = f
        back = None
        if backfill:
            rt = config.report_type("sales_report")
            last = scheduled_days(rt, now)[-1]
            first = last - timedelta(days=BACKFILL_DAYS - 1)
            rt = rt.model_copy(update={"start_date": first, "repeat_days": 0})
            back = run(rt, [first + timedelta(days=n) for n in range(BACKFILL_DAYS)], resources, instance, env)
        return figures, back


def print_fire(title: str, figures: dict[str, Figures], spaced_scale: float) -> Figures:
    print(title)
    print(f"  {'report type':<29} {'days':>4} {'requests':>8} {'API calls':>9} {'throttled':>9} {'wall s':>8}")
    for name, f in figures.items():
        note = "  (inactive: the Reports-API way, not in the fire" if f.compared else ""
        if f.every_s:
            note += ("; " if note else "  (") + "15-min rule"
            note += f"; measured at x{spaced_scale:g}, waits added back)" if spaced_scale != 1 else ")"
        print(f"  {name:<29} {f.days:>4} {f.requests:>8} {f.calls:>9} {f.throttled:>9} {f.wall_s:>8.1f}{note}")
    fire = sum((f for f in figures.values() if not f.compared), Figures())
    before = sum((f for n, f in figures.items() if n != "sales_and_traffic"), Figures())
    for label, f in (("whole daily fire", fire), ("fire before (Reports-API S&T)", before)):
        print(f"  {label:<29} {'':>4} {f.requests:>8} {f.calls:>9} {f.throttled:>9} {f.wall_s:>8.1f}")
    return fire


def explain_spaced(figures: dict[str, Figures], config_days: int = BACKFILL_DAYS) -> None:
    for name, f in figures.items():
        if not f.every_s:
            continue
        every = f.every_s
        per_run = int(BACKFILL_RUN_WAIT_MAX_S // every)
        print(
            f"What the 15-minute rule forces on {name} (GET_SALES_AND_TRAFFIC_REPORT: one createReport per 15 min, "
            f"96 a day, per selling partner and app):"
        )
        print(
            f"  - its by-ASIN section adds up the whole range, so its {f.days} days are {f.requests} requests, "
            f"{f.requests - 1} waits of {every / 60:g} min: the run lasts {f.wall_s / 60:.1f} min and holds one of the "
            f"two amazon_sp run slots (and pool slots) meanwhile; Data Kiosk's sales_and_traffic does it in "
            f"{figures['sales_and_traffic'].wall_s:.1f} s"
        )
        print(
            f"  - the newest day is requested first and stored within a minute; the re-pulls follow; "
            f"{f.throttled} answer(s) refused: the client waits its turn; after a 429 it waits the advertised "
            f"{every:g} s"
        )
        print(
            f"  - nothing is deferred to later runs; a {config_days}-day backfill of it is {config_days} requests, "
            f"{-(-config_days // per_run)} runs of <= {per_run} days, >= {(config_days - 1) * every / 3600:.1f} h "
            f"(computed from the rule, not measured)"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", action="store_true", help="also run the one-report-per-day baseline (~10 min)")
    parser.add_argument(
        "--sales-and-traffic-at-scale-1",
        action="store_true",
        help="measure the 15-minute rule for real (~46 min) instead of at x60",
    )
    args = parser.parse_args()
    spaced_scale = 1.0 if args.sales_and_traffic_at_scale_1 else SPACED_SCALE

    after, back = daily_fire(per_day=False, backfill=True, spaced_scale=spaced_scale)
    fire = print_fire(
        "Daily fire, one report per range (SP-API and Ads stand-ins at Amazon's rates, scale 1):", after, spaced_scale
    )
    ranged = [f.requests for n, f in after.items() if not f.every_s and n != "sales_and_traffic"]
    kiosk = after["sales_and_traffic"]
    print(
        f"  goals: requests per type {max(ranged)} where the API allows a range (1; Data Kiosk: {kiosk.requests} "
        f"queries for its 4 days, one per 30 ASINs after the one finding them); whole daily fire "
        f"{fire.wall_s:.1f} s (<= 120 s): {'PASS' if fire.wall_s <= 120 else 'FAIL'}"
    )
    explain_spaced(after)
    assert back is not None
    print(
        f"90-day backfill of sales_report: {back.requests} report requests (<= 3), {back.calls} API calls, "
        f"{back.throttled} throttled, {back.wall_s:.1f} s"
    )
    if args.per_day:
        before, _ = daily_fire(per_day=True, backfill=False, spaced_scale=spaced_scale)
        base = print_fire(
            "Baseline, one report per day (as before issue 13), same stand-ins and rates:", before, spaced_scale
        )
        print(
            f"  ratio after/before (the active demo types): report requests "
            f"{fire.requests / base.requests:.2f}, API calls {fire.calls / base.calls:.2f}, wall time "
            f"{fire.wall_s / base.wall_s:.2f} ({base.wall_s / fire.wall_s:.1f}x faster)"
        )


if __name__ == "__main__":
    main()
