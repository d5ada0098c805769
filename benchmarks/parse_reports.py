"""Benchmark: the SP-API client's download-and-parse path vs pandas.read_csv of the same report, and the Ads
JSON parser (ijson) vs the hand-written one it replaced.

    .venv/bin/python benchmarks/parse_reports.py [--rows 1000000] [--encodings cp1252,utf-8]

1. Generates a gzipped GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL flat file once into a temp dir
   (windows-1252 like Amazon's NA flat files; also a UTF-8 copy unless --encodings says otherwise).
2. Serves it through the local SP-API stand-in (as a report document behind getReportDocument + a
   presigned URL) on 127.0.0.1.
3. Candidate, in a fresh subprocess: ``AmazonSPReportsResource.report_rows`` (LWA token, getReportDocument,
   streaming HTTP download, gunzip, decode, TSV -> columnar ``RowBatch`` chunks), consuming every batch of
   ``stream.batches()`` -- what the product's load path consumes once the storage layer builds each MongoDB
   document straight from a batch's ``values`` (the dict view ``stream.chunks()`` is then off that path). Every
   row is parsed into its batch and counted: the batch sizes are summed and the total must equal pandas'
   row count.
   Baseline, in a fresh subprocess: ``pandas.read_csv(path, sep="\\t", compression="gzip")`` of the local
   file into memory (``encoding="cp1252"`` for the cp1252 file: pandas cannot detect it and fails on it
   with its UTF-8 default; the client detects it per line).
4. Prints rows/s and peak RSS (ru_maxrss of each child, imports included) and PASS/FAIL against the
   targets: throughput >= 1.0x baseline, peak RSS <= 0.25x baseline; the throughput verdict also requires
   the candidate's row count to equal pandas'.
5. Ads JSON (issue 23): a gzipped Ads GZIP_JSON document of ``--ads-rows`` spCampaigns rows, parsed in
   memory by the product's parser (ijson, C backend yajl2_c) and by the hand-written parser it replaced
   (benchmarks/_handwritten_json.py), gunzip included in both, best CPU time of ``--repeat`` interleaved runs;
   prints rows/s of each and the ratio ijson / hand-written (target >= 1.0x: ijson is kept only if it is at
   least as fast). ``--ads-only`` runs this part alone. Always exits 0: it is a report.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

REPORT_TYPE = "GET_FLAT_FILE_ALL_ORDERS_DATA_BY_ORDER_DATE_GENERAL"
THROUGHPUT_TARGET = 1.0
RSS_TARGET = 0.25


def _peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _cpu_s() -> float:
    ru = resource.getrusage(resource.RUSAGE_SELF)
    return ru.ru_utime + ru.ru_stime


# --- children ---------------------------------------------------------------------------------------------


def child_candidate(url: str, doc_id: str, chunk_rows: int) -> dict:
    from paperplan_local.spapi import DEV_CLIENT_ID, DEV_CLIENT_SECRET, DEV_REFRESH_TOKEN
    from paperplan_sync.sources.amazon_sp import AmazonSPReportsResource
    from paperplan_sync.sources.base import ReadyReport, ReportRequest

    res = AmazonSPReportsResource(
        client_id=DEV_CLIENT_ID,
        client_secret=DEV_CLIENT_SECRET,
        refresh_token=DEV_REFRESH_TOKEN,
        endpoint=url,
        lwa_endpoint=url + "/auth/o2/token",
        rate_limit_scale=1000.0,
        chunk_rows=chunk_rows,
    )
    ready = ReadyReport("bench", "DONE", doc_id, {"reportType": REPORT_TYPE})
    rss_before, cpu0 = _peak_rss_mb(), _cpu_s()
    t0 = time.perf_counter()
    stream = res.report_rows(ready, ReportRequest(REPORT_TYPE))
    rows = max_chunk = 0
    for batch in stream.batches():
        rows += len(batch.values)
        max_chunk = max(max_chunk, len(batch.values))
    elapsed = time.perf_counter() - t0
    return {
        "rows": rows,
        "seconds": elapsed,
        "cpu_s": _cpu_s() - cpu0,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_after_imports_mb": rss_before,
        "max_chunk": max_chunk,
        "quarantined": len(stream.quarantined),
        "columns": len(stream.columns),
    }


def child_baseline(path: str, encoding: str) -> dict:
    import pandas as pd

    rss_before, cpu0 = _peak_rss_mb(), _cpu_s()
    t0 = time.perf_counter()
    df = pd.read_csv(path, sep="\t", compression="gzip", encoding=encoding)
    elapsed = time.perf_counter() - t0
    return {
        "rows": len(df),
        "seconds": elapsed,
        "cpu_s": _cpu_s() - cpu0,
        "peak_rss_mb": _peak_rss_mb(),
        "rss_after_imports_mb": rss_before,
        "columns": len(df.columns),
    }


def ads_document(rows: int) -> bytes:
    """A gzipped Ads spCampaigns document (one JSON array of row objects), like the local Ads server's."""
    import gzip
    import random

    rng = random.Random(23)
    return gzip.compress(
        json.dumps(
            [
                {
                    "date": f"2026-10-{1 + i % 31:02d}",
                    "campaignId": str(10**9 + i),
                    "campaignName": f"Campagne d'été {i}",
                    "campaignStatus": "ENABLED",
                    "campaignBudgetAmount": round(rng.random() * 100, 2),
                    "campaignBudgetCurrencyCode": "USD",
                    "impressions": rng.randint(0, 10**5),
                    "clicks": rng.randint(0, 1000),
                    "cost": round(rng.random() * 500, 2),
                    "purchases7d": rng.randint(0, 50),
                    "sales7d": round(rng.random() * 900, 2),
                    "unitsSoldClicks7d": rng.randint(0, 60),
                    "purchases14d": rng.randint(0, 70),
                    "sales14d": round(rng.random() * 1200, 2),
                }
                for i in range(rows)
            ]
        ).encode()
    )


def ads_json(rows: int, repeat: int) -> None:
    """The Ads JSON parse throughput: ijson (the product) vs the hand-written parser, in this process."""
    import ijson

    from benchmarks._handwritten_json import iter_json_array as handwritten
    from benchmarks._handwritten_json import utf8_text
    from paperplan_sync.sources.amazon_ads.parsing import gunzip_if_needed, iter_json_array

    packed = ads_document(rows)
    blocks = [packed[i : i + (1 << 16)] for i in range(0, len(packed), 1 << 16)]  # network-sized reads
    runs = {
        "ijson": lambda: iter_json_array(gunzip_if_needed(blocks)),
        "hand-written": lambda: handwritten(utf8_text(gunzip_if_needed(blocks))),
    }
    best: dict[str, float] = {}
    counts: dict[str, int] = {}
    for _ in range(repeat):
        for name, parse in runs.items():
            t0 = time.process_time()  # CPU time: the machine is shared, wall time is noisy
            counts[name] = sum(1 for _ in parse())
            best[name] = min(best.get(name, float("inf")), time.process_time() - t0)
    print()
    print(f"Ads JSON: {rows:,} rows, {len(packed) / 1e6:.1f} MB gzip; ijson backend {ijson.backend}; best of {repeat}")
    for name in runs:
        print(
            f"  {name:13} {counts[name]:>9,} rows {best[name]:>7.2f} CPU s {counts[name] / best[name]:>12,.0f} rows/s"
        )
    ratio = best["hand-written"] / best["ijson"]
    same = counts["ijson"] == counts["hand-written"] == rows
    print(
        f"throughput ratio ijson/hand-written: {ratio:.2f}x (target >= 1.00x) "
        f"{'PASS' if ratio >= 1.0 and same else 'FAIL'}; rows match: {same}"
    )


def run_child(*args: str) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", *args], capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"child {args[0]} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


# --- files ------------------------------------------------------------------------------------------------


def transcode_gzip(src: str, dst: str, frm: str, to: str) -> None:
    """Re-encode a gzipped text file, streaming (whole lines per step, so no character is split)."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    c = zlib.compressobj(6, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    pending = b""
    with open(src, "rb") as fin, open(dst, "wb") as fout:
        while block := fin.read(1 << 20):
            data = pending + d.decompress(block)
            cut = data.rfind(b"\n") + 1
            pending = data[cut:]
            fout.write(c.compress(data[:cut].decode(frm).encode(to)))
        fout.write(c.compress((pending + d.flush()).decode(frm).encode(to)))
        fout.write(c.flush())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--encodings", default="cp1252,utf-8", help="comma-separated: cp1252 and/or utf-8")
    ap.add_argument("--chunk-rows", type=int, default=5000)
    ap.add_argument("--ads-rows", type=int, default=200_000)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--ads-only", action="store_true", help="only the Ads JSON comparison")
    ap.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.ads_only:
        ads_json(args.ads_rows, args.repeat)
        return

    if args.child:
        kind, *rest = args.child
        result = child_candidate(rest[0], rest[1], int(rest[2])) if kind == "candidate" else child_baseline(*rest)
        print(json.dumps(result))
        return

    from paperplan_local.runner import ServerThread
    from paperplan_local.spapi import build_app, write_orders_file

    encodings = [e.strip() for e in args.encodings.split(",") if e.strip()]
    with tempfile.TemporaryDirectory(prefix="pp-bench-") as tmp:
        files: dict[str, str] = {}
        t0 = time.perf_counter()
        cp1252 = os.path.join(tmp, "orders-cp1252.tsv.gz")
        size = write_orders_file(cp1252, args.rows)
        files["cp1252"] = cp1252
        print(f"generated {args.rows:,} rows -> {size / 1e6:.1f} MB gzip (cp1252) in {time.perf_counter() - t0:.1f}s")
        if "utf-8" in encodings:
            files["utf-8"] = os.path.join(tmp, "orders-utf8.tsv.gz")
            transcode_gzip(cp1252, files["utf-8"], "cp1252", "utf-8")
        server = ServerThread(
            build_app(rate_limit_scale=1000.0, document_files={f"bench-{e}": files[e] for e in encodings})
        ).start()
        try:
            results = []
            for enc in encodings:
                cand = run_child("candidate", server.url, f"bench-{enc}", str(args.chunk_rows))
                base = run_child("baseline", files[enc], enc)
                results.append((enc, cand, base))
        finally:
            server.stop()

    print()
    print(f"rows={args.rows:,}  chunk_rows={args.chunk_rows}  python={sys.version.split()[0]}  cpus={os.cpu_count()}")
    hdr = (
        f"{'file':8} {'path':34} {'rows':>9} {'seconds':>8} {'CPU s':>6} {'rows/s':>10} {'peak RSS MB':>12} "
        f"{'RSS growth MB':>14}"
    )
    for enc, cand, base in results:
        print()
        print(hdr)
        print("-" * len(hdr))
        for name, r in (("client: HTTP+gunzip+decode+parse", cand), ("pandas.read_csv (local file)", base)):
            growth = r["peak_rss_mb"] - r["rss_after_imports_mb"]
            print(
                f"{enc:8} {name:34} {r['rows']:>9,} {r['seconds']:>8.2f} {r['cpu_s']:>6.2f} "
                f"{r['rows'] / r['seconds']:>10,.0f} "
                f"{r['peak_rss_mb']:>12.0f} {growth:>14.0f}"
            )
        speed = (cand["rows"] / cand["seconds"]) / (base["rows"] / base["seconds"])
        rss = cand["peak_rss_mb"] / base["peak_rss_mb"]
        rows_match = cand["rows"] == base["rows"]
        ok_speed, ok_rss = speed >= THROUGHPUT_TARGET and rows_match, rss <= RSS_TARGET
        print(
            f"throughput ratio client/pandas: {speed:.2f}x (target >= {THROUGHPUT_TARGET:.2f}x) "
            f"{'PASS' if ok_speed else 'FAIL'}"
        )
        print(
            f"peak RSS ratio client/pandas:   {rss:.2f}x (target <= {RSS_TARGET:.2f}x) {'PASS' if ok_rss else 'FAIL'}"
        )
        print(
            f"client: max chunk {cand['max_chunk']} rows, {cand['quarantined']} quarantined, "
            f"{cand['columns']} columns; rows match pandas: {rows_match}"
        )
    ads_json(args.ads_rows, args.repeat)


if __name__ == "__main__":
    main()
