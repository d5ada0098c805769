"""AirtableWriter: the outbox sent in order, in batches of 10; the background sender of a long-running writer."""

from __future__ import annotations

import threading
import time

from paperplan_sync.control_plane import records
from paperplan_sync.control_plane.schema import TABLE_LOGS, TABLE_REPORTS
from paperplan_sync.control_plane.writer import AirtableWriter
from paperplan_sync.storage import outbox


def wait_until(condition, timeout_s: float = 10.0):
    deadline = time.monotonic() + timeout_s
    while not (value := condition()):
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)
    return value


def log_summaries(airtable_resource) -> list[str]:
    return [r["fields"]["Summary"] for r in airtable_resource.table(TABLE_LOGS).all()]


def sender_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "airtable-writer"]


def write_logs(writer: AirtableWriter, n: int, start: int = 0) -> list[str]:
    summaries = [f"line {i}" for i in range(start, start + n)]
    for summary in summaries:
        writer.log(records.log_record(summary))
    return summaries


def test_flush_sends_in_order_ten_records_a_request(mongo, airtable, airtable_resource):
    writer = AirtableWriter(mongo.db(), airtable_resource)
    summaries = write_logs(writer, 25)

    result = writer.flush()

    assert (result.sent, result.stopped_by) == (25, None)
    assert airtable.stats()["requests"] == 3
    assert sorted(log_summaries(airtable_resource)) == sorted(summaries)


def test_the_background_sender_sends_full_batches_while_writing_then_flush_the_rest(mongo, airtable, airtable_resource):
    db = mongo.db()
    with AirtableWriter(db, airtable_resource, background=True) as writer:
        summaries = write_logs(writer, 35)
        # Sent before any flush; the last 5 wait for more writes to fill their request.
        wait_until(lambda: outbox.counts(db).get("done") == 30)
        time.sleep(0.2)
        assert outbox.counts(db) == {"done": 30, "pending": 5}

        result = writer.flush()

    assert (result.sent, result.stopped_by) == (35, None)
    assert outbox.counts(db) == {"done": 35}
    assert airtable.stats()["requests"] == 4  # full requests, nothing sent twice
    assert sorted(log_summaries(airtable_resource)) == sorted(summaries)
    assert not sender_threads()


def test_close_stops_the_sender_after_its_batch_and_a_later_flush_sends_the_rest(mongo, airtable, airtable_resource):
    db = mongo.db()
    with AirtableWriter(db, airtable_resource, background=True) as writer:
        summaries = write_logs(writer, 45)
    # No flush: the sender stopped after the batch it was sending, which is marked done.
    assert not sender_threads()
    assert len(log_summaries(airtable_resource)) == outbox.counts(db).get("done", 0)

    AirtableWriter(db, airtable_resource).flush()  # as the outbox sensor does
    assert sorted(log_summaries(airtable_resource)) == sorted(summaries)


def test_airtable_down_loses_nothing_and_the_writes_go_out_later_in_order(mongo, airtable, airtable_resource):
    db = mongo.db()
    down = airtable_resource.model_copy(update={"attempts": 1})  # give up at once instead of backing off
    airtable.inject(status=503, count=10_000)
    with AirtableWriter(db, down, background=True) as writer:
        summaries = write_logs(writer, 25)
        result = writer.flush()

    assert result.sent == 0 and "503" in result.stopped_by
    assert outbox.counts(db) == {"pending": 25}
    assert not sender_threads()

    airtable.clear_faults()
    retried = AirtableWriter(db, airtable_resource).flush()
    assert (retried.sent, retried.stopped_by) == (25, None)
    assert sorted(log_summaries(airtable_resource)) == sorted(summaries)


def test_the_newest_write_of_a_report_wins_while_sending_in_the_background(mongo, airtable_resource):
    def report(rows: int) -> dict:
        return records.report_success(
            report_name="sales_report",
            report_date="2026-11-15",
            real_time=False,
            load_id=f"load-{rows}",
            rows=rows,
            quarantined=0,
            api_report_id="1",
            run_url=None,
            repeat_done=False,
        )

    with AirtableWriter(mongo.db(), airtable_resource, background=True) as writer:
        writer.report(report(1))
        write_logs(writer, 12)
        writer.report(report(2))
        writer.flush()

    [record] = airtable_resource.table(TABLE_REPORTS).all(formula="{Report Type}='sales_report'")
    assert record["fields"]["Rows"] == 2


def test_without_airtable_there_is_no_sender_and_writes_wait(mongo):
    with AirtableWriter(mongo.db(), None, background=True) as writer:
        write_logs(writer, 3)
        assert not sender_threads()
        assert writer.flush().stopped_by == "Airtable is not configured"
    assert outbox.counts(mongo.db()) == {"pending": 3}
