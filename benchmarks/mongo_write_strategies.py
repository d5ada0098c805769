"""Compare atomic-replace strategies for report loads against a plain insert_many, on one server.

    .venv/bin/python benchmarks/mongo_write_strategies.py [--rows 50000] [--uri mongodb://...]

Without --uri a SecantusDB stand-in is started for the run. Rows: 20 string fields of 12 characters,
already parsed (the download+parse cost is not included). Each strategy loads the same day twice (a
first load, then a re-load that replaces it); the ratio is rows/s over the plain insert_many baseline.

Everything is measured in the server's steady state: the run starts by writing enough to push the oplog
past its cap. SecantusDB trims its oplog (100,000 entries) synchronously inside the writes that overflow
it, so on a fresh server the first ~100,000 writes are much cheaper than all later ones, and whichever
strategy ran first would be flattered.
"""

from __future__ import annotations

import argparse
import random
import string
import time
from contextlib import ExitStack

from bson import ObjectId
from pymongo import MongoClient

from paperplan_local.mongo import CACHE_SIZE, MongoStandIn
from paperplan_sync.sources.base import RowBatch
from paperplan_sync.storage import loads
from paperplan_sync.storage.common import batched
from paperplan_sync.storage.rows import day_filter, id_prefix, row_id

DAY = "2026-11-25"
FIELDS = 20
BATCH = loads.BATCH_ROWS
OPLOG_FILL = 110_000  # writes that put SecantusDB's oplog (capped at 100,000 entries) past its cap
LEGACY_INDEX = [("_report_date", 1), ("_load_id", 1)]


def make_rows(n: int) -> list[dict[str, str]]:
    rnd = random.Random(7)
    return [
        {f"field_{i:02d}": "".join(rnd.choices(string.ascii_letters, k=12)) for i in range(FIELDS)} for _ in range(n)
    ]


def fill_oplog(db, rows) -> None:
    written = 0
    while written < OPLOG_FILL:
        for batch in batched(rows, BATCH):
            db["oplog_fill"].insert_many([dict(r) for r in batch], ordered=False)
        written += len(rows)


def plain(db, rows, collection: str) -> None:
    for batch in batched(rows, BATCH):
        db[collection].insert_many([{**r, "_report_date": DAY, "_load_id": "x"} for r in batch], ordered=False)


def keyed_delete_insert(db, rows) -> None:
    """The cheapest possible re-load of the day-keyed layout: delete_many + insert_many, NOT atomic."""
    coll, load_id = db["keyed_plain"], str(ObjectId())
    coll.delete_many(day_filter(DAY))
    prefix = id_prefix(DAY, load_id)
    for first, batch in zip(range(0, len(rows), BATCH), batched(rows, BATCH), strict=True):
        coll.insert_many(
            [
                {**r, "_id": row_id(prefix, first + i), "_report_date": DAY, "_load_id": load_id}
                for i, r in enumerate(batch)
            ],
            ordered=False,
        )


def legacy_transaction(db, rows) -> None:
    """The previous layout: ObjectId ids, a (_report_date, _load_id) index, the same transaction."""
    coll = db["legacy_txn"]
    with db.client.start_session() as s, s.start_transaction():
        coll.delete_many({"_report_date": DAY}, session=s)
        for batch in batched(rows, BATCH):
            coll.insert_many([{**r, "_report_date": DAY, "_load_id": "x"} for r in batch], ordered=False, session=s)


def product(db, rows, mode: str, snapshot: bool = False) -> None:
    name = f"bench_{mode}{'_snap' if snapshot else ''}"
    load = loads.start_load(db, report_name=name, report_date=None if snapshot else DAY, snapshot_day=DAY, mode=mode)
    columns = list(rows[0])
    loads.write_rows(load, (RowBatch(columns, [list(r.values()) for r in batch]) for batch in batched(rows, 5000)))
    loads.commit_load(load, rows=len(rows))


def timed(label: str, n: int, fn, base: float | None) -> float:
    t0 = time.perf_counter()
    fn()
    rate = n / (time.perf_counter() - t0)
    ratio = f"{rate / base:5.2f}x" if base else "  1.00x"
    print(f"{label:52s} {rate:9,.0f} rows/s  {ratio}", flush=True)
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
        db["plain_indexed"].create_index(LEGACY_INDEX)
        db["legacy_txn"].create_index(LEGACY_INDEX)
        loads.ensure_indexes(db)
        n = len(rows)
        print(
            f"{n} rows x {FIELDS} string fields, batches of {BATCH}, server {uri}; filling the oplog first", flush=True
        )
        fill_oplog(db, rows)
        base = timed("plain insert_many, no secondary index", n, lambda: plain(db, rows, "plain"), None)
        timed("plain insert_many, (_report_date,_load_id) index", n, lambda: plain(db, rows, "plain_indexed"), base)
        for label, fn in [
            ("day-keyed _id, delete+insert (NOT atomic): first", lambda: keyed_delete_insert(db, rows)),
            ("day-keyed _id, delete+insert (NOT atomic): re-load", lambda: keyed_delete_insert(db, rows)),
            ("transaction, day-keyed _id (chosen): first load", lambda: product(db, rows, "transaction")),
            ("transaction, day-keyed _id (chosen): re-load", lambda: product(db, rows, "transaction")),
            ("transaction, ObjectId + index (before): first", lambda: legacy_transaction(db, rows)),
            ("transaction, ObjectId + index (before): re-load", lambda: legacy_transaction(db, rows)),
            ("staged + flip: first load", lambda: product(db, rows, "staged")),
            ("staged + flip: re-load", lambda: product(db, rows, "staged")),
            ("snapshot, transaction (day + latest): first", lambda: product(db, rows, "transaction", True)),
        ]:
            timed(label, n, fn, base)
        if args.uri:
            client.drop_database("bench_write")  # a started stand-in is thrown away with its data


if __name__ == "__main__":
    main()
