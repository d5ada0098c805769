"""Records/s for writing records through the product's Airtable write path, against Airtable's limits.

The path is the one a report run's writes take: each record queued durably in the MongoDB outbox (one
at a time, as runs and sensors write them), sent meanwhile by the writer's background sender in batches of
10 under the shared limiter (kept in MongoDB, as in production), the rest by the final AirtableWriter.flush().
The local Airtable enforces Airtable's 5 requests/s per base with its 30 s penalty, so one 429 would cost 30 s
and show in the figure.

    .venv/bin/python benchmarks/airtable_writes.py [--records 500]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import httpx
from pymongo import MongoClient

from paperplan_local.airtable import build_app
from paperplan_local.mongo import MongoStandIn
from paperplan_local.runner import ServerThread
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.records import log_record
from paperplan_sync.control_plane.writer import AirtableWriter

AIRTABLE_RATE, RECORDS_PER_REQUEST = 5, 10


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--records", type=int, default=500)
    args = parser.parse_args()
    os.environ["PAPERPLAN_STATE_DIR"] = tempfile.mkdtemp(prefix="bench-state-")

    app = build_app(seed=True, rate_limit_per_s=AIRTABLE_RATE, penalty_s=30.0, enable_fault_injection=True)
    with ServerThread(app) as server, MongoStandIn() as mongo:
        from paperplan_local.airtable import DEFAULT_API_KEY, DEFAULT_BASE_ID

        airtable = AirtableResource(
            api_key=DEFAULT_API_KEY,
            base_id=DEFAULT_BASE_ID,
            endpoint_url=server.url,
            state_mongodb_uri=mongo.uri,
            state_database="bench_airtable_writes",
        )
        db = MongoClient(mongo.uri)["bench_airtable_writes"]
        time.sleep(1.1)  # start with the server's bucket full, as a product that has been idle would

        started = time.perf_counter()
        with AirtableWriter(db, airtable, background=True) as writer:
            for i in range(args.records):
                writer.log(log_record(f"benchmark record {i}", event="benchmark"))
            enqueued = time.perf_counter()
            result = writer.flush(limit=args.records + 10)
        elapsed = time.perf_counter() - started
        final_flush = time.perf_counter() - enqueued

        landed = sum(1 for r in airtable.table("Logs").all(fields=["Event"]) if r["fields"].get("Event") == "benchmark")
        stats = httpx.get(f"{server.url}/_test/stats").json()

    ceiling = AIRTABLE_RATE * RECORDS_PER_REQUEST
    rate = result.sent / elapsed
    print(
        f"Airtable writes: {args.records} records via outbox -> AirtableWriter(background=True) "
        f"(limit {AIRTABLE_RATE} req/s, 30 s penalty)"
    )
    print(
        f"  elapsed            {elapsed:8.2f} s  (durable enqueue {elapsed - final_flush:.2f} s while sending, "
        f"then final flush {final_flush:.2f} s)"
    )
    print(f"  throughput         {rate:8.1f} records/s")
    print(f"  ceiling            {ceiling:8.1f} records/s  ({AIRTABLE_RATE} req/s x {RECORDS_PER_REQUEST} records)")
    print(f"  ratio to ceiling   {rate / ceiling:8.2f}x   (target >= 0.90)")
    print(f"  records lost       {args.records - landed:8d}     (target 0)")
    print(f"  429s received      {stats['rate_limited']:>8}     (target 0)")
    print(f"  server stats       {stats}")


if __name__ == "__main__":
    main()
