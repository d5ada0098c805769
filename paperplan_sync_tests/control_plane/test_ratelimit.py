"""The shared Airtable limiter: a burst goes at once, then the long-run pace holds, across instances and
across processes that share only MongoDB; it counts the month's calls."""

from __future__ import annotations

import time

import pytest

from paperplan_sync.ratelimit import RateLimited, SharedRateLimiter
from paperplan_sync.shared_state import FileState, MongoState


def send_times(limiter: SharedRateLimiter, count: int) -> list[float]:
    started = time.monotonic()
    out = []
    for _ in range(count):
        limiter.acquire()
        out.append(time.monotonic() - started)
    return out


@pytest.fixture(params=["file", "mongo"])
def state(request, tmp_path):
    if request.param == "file":
        return FileState(tmp_path)
    mongo = request.getfixturevalue("mongo")
    return MongoState(mongo.db()["paperplan_state"])


def test_a_burst_goes_at_once_and_the_next_waits_for_the_window(state):
    limiter = SharedRateLimiter(state, "limiter", requests_per_second=20, burst=5)  # window 0.25 s

    times = send_times(limiter, 11)

    assert times[4] < 0.1  # the first five back to back
    assert times[5] >= 0.24 and times[10] >= 0.49  # then five more per window
    # Never more than `burst` sends in any window.
    assert all(later - earlier >= 0.24 for earlier, later in zip(times, times[5:], strict=False))


def test_instances_on_the_same_state_share_the_budget(state):
    first = SharedRateLimiter(state, "limiter", requests_per_second=20, burst=3)
    second = SharedRateLimiter(state, "limiter", requests_per_second=20, burst=3)
    for _ in range(3):
        first.acquire()

    assert second.acquire() >= 0.1  # the window is 0.15 s and the first three used it


def test_a_penalty_holds_every_sender_back_and_a_bounded_wait_fails_fast(state):
    limiter = SharedRateLimiter(state, "limiter", requests_per_second=20, burst=5)
    limiter.penalize(0.3)

    with pytest.raises(RateLimited):
        limiter.acquire(max_wait_s=0.1)
    assert limiter.acquire() >= 0.2


@pytest.mark.slow
def test_the_month_is_counted_and_a_used_up_quota_slows_the_pace(state):
    limiter = SharedRateLimiter(state, "limiter", requests_per_second=50, burst=5)
    send_times(limiter, 4)
    assert limiter.usage().calls == 4 and not limiter.usage().quota_exceeded

    assert limiter.mark_quota_exceeded() is True
    assert limiter.mark_quota_exceeded() is False  # only the first mark of the month tells people
    times = send_times(limiter, 3)

    assert times[2] - times[0] >= 2 * 0.5  # Airtable's 2 requests/s, not 50
    assert limiter.usage().calls == 7 and limiter.usage().quota_exceeded
