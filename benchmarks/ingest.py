"""Rows/s for the whole ingest path of one day: local SP-API server -> download + parse -> MongoDB
replace of that day (the product's load_day), against a baseline measured in the same run: a plain
insert_many of the same, already-parsed documents into the same server. Target: >= 0.7x the baseline.

    .venv/bin/python benchmarks/ingest.py [--rows 50000]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from datetime import date

import httpx

from paperplan_sync.config.models import ReportType
from paperplan_sync.local.mongo import MongoStandIn
from paperplan_sync.local.runner import ServerThread
from paperplan_sync.local.spapi import DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN, build_app
from paperplan_sync.reports.load import load_day
from paperplan_sync.sources.amazon_sp import AmazonSPReportsResource
from paperplan_sync.storage.mongo import MongoResource
from paperplan_sync.storage.rows import current_rows

ORDERS = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
DAY = date(2026, 11, 10)
BATCH = 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=50_000)
    args = parser.parse_args()
    os.environ["PAPERPLAN_STATE_DIR"] = tempfile.mkdtemp(prefix="bench-ingest-")
    report_type = ReportType(record_id="recBench", name="sales_report", active=True, report_type_id=ORDERS, offset_days=1)

    app = build_app(rate_limit_scale=1000, enable_fault_injection=True, processing_delay_s=0.05, today=lambda: date(2026, 11, 20))
    with ServerThread(app) as spapi, MongoStandIn() as mongo:
        httpx.post(f"{spapi.url}/_test/faults", json={"report_type": ORDERS, "rows": args.rows}).raise_for_status()
        source = AmazonSPReportsResource(lwa_client_id=DEV_CLIENT_ID, lwa_client_secret=DEV_CLIENT_SECRET, refresh_token=DEV_REFRESH_TOKEN,
                                         endpoint=spapi.url, lwa_endpoint=f"{spapi.url}/auth/o2/token", rate_limit_scale=1000,
                                         poll_initial_s=0.05, poll_max_s=0.2)
        db = MongoResource(uri=mongo.uri, database="bench_ingest").db()

        load_day(report_type, DAY, source=source, db=db, run_id="warm-up")  # the day now has rows: measure a replace
        parsed = [{k: v for k, v in row.items() if not k.startswith("_")} for row in current_rows(db, "sales_report", DAY)]

        started = time.perf_counter()
        for i in range(0, len(parsed), BATCH):
            db["baseline_plain_insert"].insert_many(parsed[i:i + BATCH], ordered=False)
        baseline_s = time.perf_counter() - started

        started = time.perf_counter()
        result = load_day(report_type, DAY, source=source, db=db, run_id="measured")
        product_s = time.perf_counter() - started
        assert db["sales_report"].count_documents({"_report_date": DAY.isoformat()}) == result.rows == len(parsed)

    base_rate, rate = len(parsed) / baseline_s, result.rows / product_s
    print(f"Ingest of one day, {result.rows:,} rows (SecantusDB MongoDB-wire server, same process tree)")
    print(f"  baseline: plain insert_many of the parsed documents   {base_rate:10,.0f} rows/s  ({baseline_s:.2f} s)")
    print(f"  product:  request -> download -> parse -> replace day  {rate:10,.0f} rows/s  ({product_s:.2f} s)")
    print(f"  ratio:                                                 {rate / base_rate:10.2f}x   (target >= 0.70)")


if __name__ == "__main__":
    main()
