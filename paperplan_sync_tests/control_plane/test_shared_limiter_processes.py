"""Processes that share no state directory (as runs on other machines do) share one Airtable budget
through MongoDB: together they stay under Airtable's 5 requests/s, and a penalty holds every one back."""

from __future__ import annotations

import multiprocessing
import time

import pytest

from paperplan_sync.control_plane.airtable import AirtableResource

pytestmark = pytest.mark.slow  # several processes paced for seconds

PROCESSES, REQUESTS_EACH = 3, 10


def _send(
    url: str, key: str, base: str, mongo_uri: str, database: str, state_dir: str, count: int, penalize_s: float
) -> None:
    import os

    os.environ["PAPERPLAN_STATE_DIR"] = state_dir  # a directory of its own: nothing shared through files
    airtable = AirtableResource(
        api_key=key, base_id=base, endpoint_url=url, state_mongodb_uri=mongo_uri, state_database=database
    )
    if penalize_s:
        airtable.limiter.penalize(penalize_s)
    started = time.monotonic()
    for _ in range(count):
        airtable.table("Logs").all(max_records=1, page_size=1)
    os.makedirs(state_dir, exist_ok=True)
    with open(os.path.join(state_dir, "sending_s"), "w") as out:  # the time spent sending, start-up excluded
        out.write(str(time.monotonic() - started))


def run_processes(args_list) -> None:
    spawn = multiprocessing.get_context("spawn")
    procs = [spawn.Process(target=_send, args=args) for args in args_list]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0


def test_processes_without_a_shared_directory_stay_under_5_per_second_together(start_airtable_server, mongo, tmp_path):
    with start_airtable_server(rate_limit_per_s=5, penalty_s=30) as strict:
        common = (strict.url, strict.api_key, strict.base_id, mongo.uri, mongo.database)
        run_processes([(*common, str(tmp_path / f"p{i}"), REQUESTS_EACH, 0.0) for i in range(PROCESSES)])
        stats = strict.stats()

    assert stats["requests"] == PROCESSES * REQUESTS_EACH
    assert stats["rate_limited"] == 0  # one 429 would have cost a 30 s penalty
    assert max(float((tmp_path / f"p{i}" / "sending_s").read_text()) for i in range(PROCESSES)) < 20


def test_a_penalty_taken_in_one_process_holds_back_the_others(start_airtable_server, mongo, tmp_path):
    with start_airtable_server(rate_limit_per_s=100, penalty_s=1) as server:
        common = (server.url, server.api_key, server.base_id, mongo.uri, mongo.database)
        run_processes([(*common, str(tmp_path / "a"), 0, 6.0)])  # takes a 6 s penalty, sends nothing
        run_processes([(*common, str(tmp_path / "b"), 1, 0.0)])

    assert float((tmp_path / "b" / "sending_s").read_text()) >= 1.5  # waited out what was left of it
