"""Time to load the code location with 10 and with 200 active report types in the local Airtable.

Each load is a fresh process doing what the code server does: import paperplan_sync.definitions (which
reads the configuration from Airtable and builds one asset per active report type) and resolve the
repository. Best of 3 per size; the figure is the ratio 200 / 10 (target <= 1.5).

    .venv/bin/python benchmarks/load_definitions.py
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile

from pyairtable import Api

from paperplan_local.airtable import DEFAULT_API_KEY, DEFAULT_BASE_ID, build_app
from paperplan_local.runner import ServerThread

LOAD = """
import time
started = time.perf_counter()
import dagster as dg
from paperplan_sync import definitions
definitions.defs.get_repository_def().get_all_jobs()
assets = len(definitions.defs.resolve_asset_graph().get_all_asset_keys())
print(f"{time.perf_counter() - started:.3f} {assets}")
"""


def set_report_types(api: Api, count: int) -> None:
    table = api.table(DEFAULT_BASE_ID, "Report Types")
    table.batch_delete([r["id"] for r in table.all(fields=["Name"])])
    table.batch_create(
        [
            {
                "Name": f"report_{i:03d}",
                "Status": "Active",
                "Source": "amazon_sp",
                "Report Type Id": "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL",
                "Offset": 1,
                "Start Date": "2026-06-01",
                "Notify On Fail": True,
            }
            for i in range(count)
        ]
    )


def load_seconds(env: dict[str, str]) -> tuple[float, int]:
    runs = [
        subprocess.run([sys.executable, "-c", LOAD], env=env, capture_output=True, text=True, check=True).stdout.split()
        for _ in range(3)
    ]
    return min(float(r[0]) for r in runs), int(runs[0][1])


def main() -> None:
    with ServerThread(build_app(rate_limit_per_s=0)) as server:
        env = {
            **os.environ,
            "AIRTABLE_ENDPOINT_URL": server.url,
            "AIRTABLE_API_KEY": DEFAULT_API_KEY,
            "AIRTABLE_BASE_ID": DEFAULT_BASE_ID,
        }
        env.pop("MONGODB_URI", None)  # the configuration snapshot stays in each size's own state directory
        api = Api(DEFAULT_API_KEY, endpoint_url=server.url)
        results = {}
        for count in (10, 200):
            set_report_types(api, count)
            # A fresh state directory: no snapshot yet, so the first load reads Airtable (as a first start does)
            # and the next two read the snapshot it left (as every later start does).
            state = {"PAPERPLAN_STATE_DIR": tempfile.mkdtemp(prefix=f"bench-defs-{count}-")}
            results[count] = load_seconds({**env, **state})
    (t10, a10), (t200, a200) = results[10], results[200]
    print("Code location load time (fresh process: import definitions + resolve repository; best of 3)")
    print(f"   10 active report types: {t10:6.2f} s  ({a10} assets)")
    print(f"  200 active report types: {t200:6.2f} s  ({a200} assets)")
    print(f"  ratio 200 / 10:          {t200 / t10:6.2f}x  (target <= 1.50)")


if __name__ == "__main__":
    main()
