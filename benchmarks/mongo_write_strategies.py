"""Compare atomic-replace strategies for report loads against a plain insert_many, on one server.

    .venv/bin/python benchmarks/mongo_write_strategies.py [--rows 50000] [--uri mongodb://...]

Without --uri a SecantusDB stand-in is started for the run. Rows: 20 string fields of 12 characters,
already parsed (the download+parse cost is not included). Each strategy loads the same day twice (a
first load, then a re-load that replaces it); the ratio is rows/s over the plain insert_many baseline.
"""

from __future__ import annotations

import argparse
import random
import string
import time
from contextlib import ExitStack

from pymongo import MongoClient

from paperplan_sync.local.mongo import CACHE_SIZE, MongoStandIn
from paperplan_sync.storage import loads
from paperplan_sync.storage.common import batched
from paperplan_sync.storage.rows import ensure_row_indexes

DAY = "2026-11-25"
FIELDS = 20
BATCH = loads.BATCH_ROWS


def make_rows(n: int) -> list[dict[str, str]]:
    rnd = random.Random(7)
    return [{f"field_{i:02d}": "".join(rnd.choices(string.ascii_letters, k=12)) for i in range(FIELDS)}
            for _ in range(n)]


def plain(db, rows, indexed: bool, replace: bool = False) -> None:
    coll = db["plain_indexed" if indexed else "plain"]
    if replace:  # the non-atomic way to re-load a day: the fair baseline for re-loads
        coll.delete_many({"_report_date": DAY})
    for batch in batched(rows, BATCH):
        coll.insert_many([{**r, "_report_date": DAY, "_load_id": "x"} for r in batch], ordered=False)


def product(db, rows, mode: str, snapshot: bool = False) -> None:
    name = f"bench_{mode}{'_snap' if snapshot else ''}"
    load = loads.start_load(db, report_name=name, report_date=None if snapshot else DAY,
                            snapshot_day=DAY, mode=mode)
    loads.write_rows(load, batched(rows, BATCH))
    loads.commit_load(load, rows=len(rows))


def staging_copy(db, rows) -> None:
    """Option (b): write to <type>__staging, then delete old + copy in one transaction."""
    main, staging = db["bench_copy"], db["bench_copy__staging"]
    staging.drop()
    for batch in batched(rows, BATCH):
        staging.insert_many([{**r, "_report_date": DAY, "_load_id": "x"} for r in batch], ordered=False)
    with db.client.start_session() as s, s.start_transaction():
        main.delete_many({"_report_date": DAY}, session=s)
        for batch in batched(staging.find({}, session=s, batch_size=BATCH), BATCH):
            main.insert_many(batch, ordered=False, session=s)
    staging.drop()


def timed(label: str, n: int, fn, base: float | None) -> float:
    t0 = time.perf_counter()
    fn()
    rate = n / (time.perf_counter() - t0)
    ratio = f"{rate / base:5.2f}x" if base else "  1.00x"
    print(f"{label:46s} {rate:9.0f} rows/s  {ratio}", flush=True)
    return rate


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=50_000)
    ap.add_argument("--uri")
    ap.add_argument("--cache-size", default=CACHE_SIZE, help="stand-in WiredTiger cache (without --uri)")
    args = ap.parse_args()
    rows = make_rows(args.rows)
    with ExitStack() as stack:
        uri = args.uri or stack.enter_context(MongoStandIn(cache_size=args.cache_size)).uri
        client = MongoClient(uri)
        client.drop_database("bench_write")
        db = client["bench_write"]
        ensure_row_indexes(db, "plain_indexed")
        loads.ensure_indexes(db)
        n = len(rows)
        print(f"{n} rows x {FIELDS} string fields, batches of {BATCH}, server {uri}")
        base = timed("plain insert_many, no secondary index", n, lambda: plain(db, rows, False), None)
        idx = timed("plain insert_many, (_report_date,_load_id) index", n, lambda: plain(db, rows, True), base)
        timed("plain delete_many + insert_many (non-atomic), index", n, lambda: plain(db, rows, True, True), base)
        for label, fn in [
            ("transaction (chosen): first load", lambda: product(db, rows, "transaction")),
            ("transaction (chosen): re-load", lambda: product(db, rows, "transaction")),
            ("staged + flip: first load", lambda: product(db, rows, "staged")),
            ("staged + flip: re-load", lambda: product(db, rows, "staged")),
            ("staging collection + copy: first load", lambda: staging_copy(db, rows)),
            ("staging collection + copy: re-load", lambda: staging_copy(db, rows)),
            ("snapshot, transaction (day + latest): first", lambda: product(db, rows, "transaction", True)),
        ]:
            rate = timed(label, n, fn, base)
            print(f"{'':46s} {'':15s}  {rate / idx:5.2f}x vs indexed plain", flush=True)
        client.drop_database("bench_write")


if __name__ == "__main__":
    main()
