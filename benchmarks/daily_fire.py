"""One daily fire of every active demo report type at Amazon's real rate limits, and a 90-day backfill.

Each active report type of the demo base runs as its automation launches it: one run over today minus
Offset plus its Repeat-after-N-days window (a snapshot type: one snapshot), against the SP-API and Ads
stand-ins at rate-limit scale 1 (SP-API usage plans as Amazon publishes them: createReport and
getReportDocument 0.0167/s after a burst of 15, getReports 0.0222/s after 10). Printed per type: report
requests (createReport / Ads report create), API calls, throttled answers (429) and wall time; then a
90-day backfill of sales_report (its Start Date moved back so 90 days exist).

Goals (issue 13): 1 report request per type per daily fire where the API allows a range; the whole
daily fire <= 120 s; the 90-day backfill <= 3 report requests.

``--per-day`` also runs the daily fire the old way, one report per day (every day of the window as its own
one-partition run, as many requests as before the range reports), on fresh stand-ins, and prints the
ratio. It takes ~10 minutes: its 22 getReports lookups for sales_report alone wait 45 s each past the burst.

Stand-in processing delays (unchanged at scale 1): SP-API 0.3 s per report, Ads 2 s per report. The Ads
stand-in has no rate limiter (Amazon publishes no fixed Ads reporting rate); its throttled count is 0.
The stand-in does not enforce Amazon's one-per-15-minutes createReport limit of GET_SALES_AND_TRAFFIC_REPORT.

    .venv/bin/python benchmarks/daily_fire.py [--per-day]
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

from paperplan_sync.config.loader import load_config
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.config.models import ReportType
from paperplan_sync.local.runner import ServerThread
from paperplan_sync.local.stack import stand_in_environment
from paperplan_sync.reports.factory import build_report_asset
from paperplan_sync.reports.partitions import day_key, scheduled_days
from paperplan_sync.sources.amazon_ads import AmazonAdsReportsResource
from paperplan_sync.sources.amazon_sp import AmazonSPReportsResource, clear_token_cache, reset_buckets
from paperplan_sync.storage.mongo import MongoResource

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"
BACKFILL_DAYS = 90


@dataclass
class Figures:
    requests: int = 0
    calls: int = 0
    throttled: int = 0
    wall_s: float = 0.0

    def __add__(self, other: Figures) -> Figures:
        return Figures(self.requests + other.requests, self.calls + other.calls, self.throttled + other.throttled,
                       self.wall_s + other.wall_s)


@contextmanager
def stand_ins():
    """Every stand-in at Amazon's real rates, with their statistics endpoints on."""
    from paperplan_sync.local import ads, airtable, slack, spapi
    from paperplan_sync.local.mongo import MongoStandIn

    with ExitStack() as stack:
        at = stack.enter_context(ServerThread(airtable.build_app(rate_limit_per_s=0)))
        sp = stack.enter_context(ServerThread(spapi.build_app(rate_limit_scale=1.0, enable_fault_injection=True)))
        ad = stack.enter_context(ServerThread(ads.build_app(enable_fault_injection=True)))
        sl = stack.enter_context(ServerThread(slack.build_app()))
        mongo = stack.enter_context(MongoStandIn())
        env = stand_in_environment(airtable_url=at.url, mongo_uri=mongo.uri, spapi_url=sp.url, ads_url=ad.url,
                                   slack_url=sl.url)
        yield {**env, "SPAPI_RATE_LIMIT_SCALE": "1", "PAPERPLAN_STATE_DIR": tempfile.mkdtemp(prefix="daily-fire-")}


def api_counts(env: dict[str, str], source: str) -> Figures:
    """(report requests, API calls, throttled) so far, from the stand-in's own statistics."""
    if source == "amazon_sp":
        stats = httpx.get(env["SPAPI_ENDPOINT"] + "/_test/stats").json()
        return Figures(sum(stats["create_calls"].values()), sum(stats["calls"].values()), sum(stats["throttled"].values()))
    stats = httpx.get(env["ADS_ENDPOINT"] + "/_test/stats").json()
    return Figures(stats["reports_created"], stats["api_calls"], stats["injected_429"])


def run(rt: ReportType, days: list[date], resources: dict, instance: dg.DagsterInstance, env: dict[str, str]) -> Figures:
    before = api_counts(env, rt.source)
    tags = {RANGE_START: day_key(days[0]), RANGE_END: day_key(days[-1])} if len(days) > 1 else None
    partition = day_key(days[0]) if len(days) == 1 else None
    started = time.perf_counter()
    result = dg.materialize([build_report_asset(rt)], partition_key=partition, tags=tags, resources=resources,
                            instance=instance, raise_on_error=False)
    wall = time.perf_counter() - started
    if not result.success:
        raise SystemExit(f"{rt.name} failed: {[e.message for e in result.all_events if e.is_failure]}")
    after = api_counts(env, rt.source)
    return Figures(after.requests - before.requests, after.calls - before.calls,
                   after.throttled - before.throttled, wall)


def resources_for(env: dict[str, str]) -> dict:
    """The product's resources pointed at the stand-ins, at Amazon's rates; polls start at 0.5 s."""
    return {
        "airtable": AirtableResource(api_key=env["AIRTABLE_API_KEY"], base_id=env["AIRTABLE_BASE_ID"],
                                     endpoint_url=env["AIRTABLE_ENDPOINT_URL"]),
        "mongo": MongoResource(uri=env["MONGODB_URI"], database=env["MONGODB_DATABASE"]),
        "amazon_sp": AmazonSPReportsResource(
            lwa_client_id=env["SPAPI_LWA_CLIENT_ID"], lwa_client_secret=env["SPAPI_LWA_CLIENT_SECRET"],
            refresh_token=env["SPAPI_REFRESH_TOKEN"], endpoint=env["SPAPI_ENDPOINT"],
            lwa_endpoint=env["SPAPI_LWA_ENDPOINT"], rate_limit_scale=1.0, poll_initial_s=0.5),
        "amazon_ads": AmazonAdsReportsResource(
            client_id=env["ADS_LWA_CLIENT_ID"], client_secret=env["ADS_LWA_CLIENT_SECRET"],
            refresh_token=env["ADS_REFRESH_TOKEN"], profile_id=env["ADS_PROFILE_ID"], endpoint=env["ADS_ENDPOINT"],
            lwa_endpoint=env["ADS_LWA_ENDPOINT"], poll_initial_s=0.5),
    }


def daily_fire(*, per_day: bool, backfill: bool) -> tuple[dict[str, Figures], Figures | None]:
    reset_buckets()
    clear_token_cache()
    with stand_ins() as env, dg.instance_for_test() as instance:
        os.environ["PAPERPLAN_STATE_DIR"] = env["PAPERPLAN_STATE_DIR"]
        resources = resources_for(env)
        config = load_config(resources["airtable"])
        now = datetime.now(UTC)
        figures: dict[str, Figures] = {}
        for rt in config.active_report_types:
            days = scheduled_days(rt, now) if rt.partitioned else []
            if not days:
                figures[rt.name] = run(rt, [], resources, instance, env) if not rt.partitioned else Figures()
            elif per_day:  # the old way: every day its own report
                figures[rt.name] = sum((run(rt, [d], resources, instance, env) for d in days), Figures())
            else:
                figures[rt.name] = run(rt, days, resources, instance, env)
            figures[rt.name].days = len(days) or 1  # type: ignore[attr-defined]
        back = None
        if backfill:
            rt = config.report_type("sales_report")
            last = scheduled_days(rt, now)[-1]
            first = last - timedelta(days=BACKFILL_DAYS - 1)
            rt = rt.model_copy(update={"start_date": first, "repeat_days": 0})
            back = run(rt, [first + timedelta(days=n) for n in range(BACKFILL_DAYS)], resources, instance, env)
        return figures, back


def print_fire(title: str, figures: dict[str, Figures]) -> Figures:
    print(title)
    print(f"  {'report type':<20} {'days':>4} {'requests':>8} {'API calls':>9} {'throttled':>9} {'wall s':>8}")
    for name, f in figures.items():
        print(f"  {name:<20} {f.days:>4} {f.requests:>8} {f.calls:>9} {f.throttled:>9} {f.wall_s:>8.1f}")  # type: ignore[attr-defined]
    total = sum(figures.values(), Figures())
    print(f"  {'whole daily fire':<20} {'':>4} {total.requests:>8} {total.calls:>9} {total.throttled:>9} {total.wall_s:>8.1f}")
    return total


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--per-day", action="store_true", help="also run the one-report-per-day baseline (~10 min)")
    args = parser.parse_args()

    after, back = daily_fire(per_day=False, backfill=True)
    total = print_fire("Daily fire, one report per range (SP-API and Ads stand-ins at Amazon's rates, scale 1):", after)
    print(f"  goals: requests per type {max(f.requests for f in after.values())} (1 where splittable; "
          f"sales_and_traffic needs one per day); whole fire {total.wall_s:.1f} s (<= 120 s)")
    assert back is not None
    print(f"90-day backfill of sales_report: {back.requests} report requests (<= 3), {back.calls} API calls, "
          f"{back.throttled} throttled, {back.wall_s:.1f} s")
    if args.per_day:
        before, _ = daily_fire(per_day=True, backfill=False)
        base = print_fire("Baseline, one report per day (as before issue 13), same stand-ins and rates:", before)
        print(f"  ratio after/before: report requests {total.requests / base.requests:.2f}, "
              f"API calls {total.calls / base.calls:.2f}, wall time {total.wall_s / base.wall_s:.2f} "
              f"({base.wall_s / total.wall_s:.1f}x faster)")


if __name__ == "__main__":
    main()
