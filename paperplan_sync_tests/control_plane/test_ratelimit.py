"""The shared Airtable limiter: a burst goes at once, then the long-run pace holds, across instances."""

from __future__ import annotations

import time

import pytest

from paperplan_sync.control_plane.ratelimit import RateLimited, SharedRateLimiter


def send_times(limiter: SharedRateLimiter, count: int) -> list[float]:
    started = time.monotonic()
    out = []
    for _ in range(count):
        limiter.acquire()
        out.append(time.monotonic() - started)
    return out


def test_a_burst_goes_at_once_and_the_next_waits_for_the_window(tmp_path):
    limiter = SharedRateLimiter(tmp_path / "slot", requests_per_second=20, burst=5)  # window 0.25 s

    times = send_times(limiter, 11)

    assert times[4] < 0.05  # the first five back to back
    assert times[5] >= 0.24 and times[10] >= 0.49  # then five more per window
    # Never more than `burst` sends in any window.
    assert all(later - earlier >= 0.24 for earlier, later in zip(times, times[5:]))


def test_instances_on_the_same_file_share_the_budget(tmp_path):
    first = SharedRateLimiter(tmp_path / "slot", requests_per_second=20, burst=3)
    second = SharedRateLimiter(tmp_path / "slot", requests_per_second=20, burst=3)
    for _ in range(3):
        first.acquire()

    assert second.acquire() >= 0.1  # the window is 0.15 s and the first three used it


def test_a_penalty_holds_every_sender_back_and_a_bounded_wait_fails_fast(tmp_path):
    limiter = SharedRateLimiter(tmp_path / "slot", requests_per_second=20, burst=5)
    limiter.penalize(0.3)

    with pytest.raises(RateLimited):
        limiter.acquire(max_wait_s=0.1)
    assert limiter.acquire() >= 0.2
