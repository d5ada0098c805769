"""What an operator sees in the Dagster UI, in a real (headless) browser: a report day that failed shows as
failed on the asset's partitions page, and after `paperplan-sync backfill --failed` (the same GraphQL
helpers) it shows as materialized, with nothing failed left.

Needs Debian's `chromium` (/usr/bin/chromium): `apt-get install -y chromium`; `.ci/run` installs it.
Screenshots are written to the test's tmp_path; their paths are printed.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
import requests

from paperplan_local.stack import dagster_dev, finished_run_status, launch_partition_run, stand_ins
from paperplan_sync.ops.backfill import backfill_progress, failed_partitions, launch_backfill
from paperplan_sync_tests.fixtures.dagster_dev import wait_until

pytestmark = pytest.mark.e2e

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--virtual-time-budget=15000",
    "--window-size=1400,1000",
]

ASSET = ("amazon_sp", "sales_report")
FAILED_DAY = "2026-11-10"
ORDERS_REPORT = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"  # what sales_report requests
SPAPI = {"today": lambda: date(2026, 11, 20), "enable_fault_injection": True, "processing_delay_s": 0.5}
PARTITIONS_PAGE = "/assets/{path}?view=partitions"


# What the partitions page renders: status checkboxes "Failed (1)", "Materialized (0)", ..., a header
# "86 Partitions Selected", and one row per listed partition with data-tooltip="<key>".
STATUS_COUNT = re.compile(r"\b(Failed|Materialized|Materializing|Missing) \((\d+)\)")
SELECTED = re.compile(r">(\d+) Partitions? Selected<")
ROW = re.compile(r'data-tooltip="(\d{4}-\d{2}-\d{2})"')


@pytest.fixture
def chromium() -> Path:
    if not CHROMIUM.exists():
        message = f"{CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium), or run .ci/run"
        if os.environ.get("CI"):
            pytest.fail(f"{message}. CI must install it.")
        pytest.skip(message)
    return CHROMIUM


@dataclass
class Page:
    url: str
    dom: str
    screenshot: Path

    @property
    def counts(self) -> dict[str, int]:
        return {name: int(n) for name, n in STATUS_COUNT.findall(self.dom)}

    @property
    def selected(self) -> int | None:
        match = SELECTED.search(self.dom)
        return int(match.group(1)) if match else None

    @property
    def rows(self) -> list[str]:
        return list(dict.fromkeys(ROW.findall(self.dom)))


class Browser:
    def __init__(self, binary: Path, out_dir: Path) -> None:
        self.binary, self.out_dir, self.visits = binary, out_dir, 0

    def open(self, url: str, name: str) -> Page:
        """Render ``url`` once (fresh profile: the UI keeps state in localStorage): its DOM and a screenshot."""
        screenshot, problem = self.out_dir / f"{name}.png", ""
        for _ in range(2):  # one retry: a page that did not finish rendering within the virtual time budget
            self.visits += 1
            profile = self.out_dir / f"chromium-profile-{self.visits}"
            screenshot.unlink(missing_ok=True)
            try:
                proc = subprocess.run(
                    [
                        str(self.binary),
                        *CHROMIUM_FLAGS,
                        f"--user-data-dir={profile}",
                        f"--screenshot={screenshot}",
                        "--dump-dom",
                        url,
                    ],
                    capture_output=True,
                    text=True,
                    timeout=90,
                )
            except subprocess.TimeoutExpired:
                problem = "timed out after 90 s"
                continue
            finally:
                shutil.rmtree(profile, ignore_errors=True)
            page = Page(url, proc.stdout, screenshot)
            if proc.returncode == 0 and screenshot.exists() and page.counts:
                return page
            problem = (
                f"rc={proc.returncode}, no partition status counts in the DOM: "
                f"{proc.stderr[-1500:]}\n{proc.stdout[:1500]}"
            )
        raise AssertionError(f"chromium did not render {url}: {problem}")


def test_a_failed_day_shows_in_the_ui_and_backfilling_it_clears_it(chromium, tmp_path, capsys):
    browser = Browser(chromium, tmp_path)
    pages: list[Page] = []
    home = tmp_path / "dagster_home"
    home.mkdir()
    try:
        with stand_ins(spapi_kwargs=SPAPI) as env, dagster_dev(env, home=home) as stack:
            spapi, page_url = env["SPAPI_ENDPOINT"], stack.webserver_url + PARTITIONS_PAGE.format(path="/".join(ASSET))

            # One day fails: Amazon answers FATAL for the orders report.
            requests.post(
                f"{spapi}/_test/faults", json={"fatal": True, "report_type": ORDERS_REPORT}, timeout=10
            ).raise_for_status()
            run_id = launch_partition_run(stack, ASSET, FAILED_DAY)
            assert wait_until(lambda: finished_run_status(stack, run_id), 90, 1.0, f"run {run_id}") == "FAILURE"
            assert failed_partitions(stack.webserver_url, report=ASSET[-1]) == {ASSET: [FAILED_DAY]}

            pages.append(everything := browser.open(page_url, "1-partitions-failed"))
            assert everything.counts["Failed"] == 1, everything.counts
            pages.append(failed := browser.open(page_url + "&status=FAILED", "2-partitions-failed-filter"))
            assert failed.selected == 1 and failed.rows == [FAILED_DAY], (failed.selected, failed.rows)

            # The fix is in; backfill the failed days as `paperplan-sync backfill --failed --report sales_report` does.
            requests.delete(f"{spapi}/_test/faults", timeout=10).raise_for_status()
            to_backfill = failed_partitions(stack.webserver_url, report=ASSET[-1])
            assert to_backfill == {ASSET: [FAILED_DAY]}
            for path, days in to_backfill.items():
                backfill_id = launch_backfill(stack.webserver_url, path, days)
                # The backfill daemon ticks every 30 s: one tick submits the run, a later one marks it done.
                progress = wait_until(
                    lambda backfill_id=backfill_id: (
                        (p := backfill_progress(stack.webserver_url, backfill_id)).done and p
                    ),
                    120,
                    1.0,
                    "the backfill",
                )
                assert (progress.status, progress.materialized, progress.failed) == (
                    "COMPLETED_SUCCESS",
                    len(days),
                    0,
                ), progress
            assert failed_partitions(stack.webserver_url, report=ASSET[-1]) == {}

            pages.append(after := browser.open(page_url, "3-partitions-after-backfill"))
            # (>= 1: the seed's "Daily reports" automation, 13:00 UTC, may materialize recent days meanwhile.)
            assert after.counts["Failed"] == 0 and after.counts["Materialized"] >= 1, after.counts
            pages.append(
                materialized := browser.open(page_url + "&status=MATERIALIZED", "4-partitions-materialized-filter")
            )
            assert FAILED_DAY in materialized.rows and materialized.selected == after.counts["Materialized"], (
                materialized.selected,
                materialized.rows,
            )
            pages.append(no_failed := browser.open(page_url + "&status=FAILED", "5-partitions-failed-filter-after"))
            assert no_failed.selected == 0 and no_failed.rows == [], (no_failed.selected, no_failed.rows)
    finally:
        with capsys.disabled():
            print("\nscreenshots:\n" + "\n".join(f"  {p.screenshot}  ({p.url})" for p in pages))
