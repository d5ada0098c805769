"""Client-side usage-plan buckets: burst, rate, sharing across resource instances and threads."""

from __future__ import annotations

import threading
import time

from paperplan_sync.retry import backoff
from paperplan_sync.sources.amazon_sp.ratelimit import TokenBucket, bucket_for, reset_buckets
from paperplan_sync.sources.amazon_sp.settings import USAGE_PLANS


def test_documented_usage_plans():
    plans = {op: (p.rate, p.burst) for op, p in USAGE_PLANS.items()}
    assert plans["createReport"] == (0.0167, 15)
    assert plans["getReport"] == (2.0, 15)
    assert plans["getReports"] == (0.0222, 10)
    assert plans["getReportDocument"] == (0.0167, 15)


def test_burst_then_rate():
    bucket = TokenBucket(rate=20.0, burst=3)
    t0 = time.monotonic()
    waits = [bucket.acquire() for _ in range(5)]
    elapsed = time.monotonic() - t0
    assert waits[:3] == [0.0, 0.0, 0.0]
    assert 0.08 <= elapsed < 0.5  # two tokens at 20/s


def test_buckets_are_shared_per_endpoint_and_operation():
    reset_buckets()
    a = bucket_for("http://x/", "getReport", 10)
    assert bucket_for("http://x", "getReport", 10) is a
    assert bucket_for("http://x", "createReport", 10) is not a
    assert bucket_for("http://y", "getReport", 10) is not a
    assert a.rate == 20.0 and a.burst == 15


def test_threads_share_one_bucket_fairly():
    bucket = TokenBucket(rate=50.0, burst=1)
    stamps: list[float] = []
    lock = threading.Lock()

    def worker():
        for _ in range(3):
            bucket.acquire()
            with lock:
                stamps.append(time.monotonic())

    threads = [threading.Thread(target=worker) for _ in range(4)]
    t0 = time.monotonic()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(stamps) == 12
    assert max(stamps) - t0 >= 11 / 50 * 0.9  # 12 tokens, 1 burst, 50/s: no thread got extra


def test_drain_after_a_429():
    bucket = TokenBucket(rate=10.0, burst=5)
    bucket.drain()
    assert bucket.reserve() > 0.05


def test_backoff_is_capped():
    assert all(backoff(a, 1.0, 30.0) <= 30.0 * 1.25 for a in range(20))
    assert 0.75 <= backoff(1, 1.0, 30.0) <= 1.25
