"""What the product writes to the SYNC base, as Airtable field dicts (pure; the outbox sends them)."""

from __future__ import annotations

from datetime import UTC, datetime

REPORT_KEY_FIELDS = ("Report Type", "Date")
FAIL_REASON_MAX = 500


def airtable_time(moment: datetime | None = None) -> str:
    moment = (moment or datetime.now(UTC)).astimezone(UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


def report_success(
    *,
    report_name: str,
    report_date: str,
    real_time: bool,
    load_id: str,
    rows: int,
    quarantined: int,
    api_report_id: str,
    run_url: str | None,
    repeat_done: bool,
    now: datetime | None = None,
    note: str = "",
    loaded_at: datetime | None = None,
) -> dict:
    """``loaded_at``: when the rows readers see were loaded (an empty re-pull keeps an older load's rows)."""
    fields = {
        "Name": f"{report_name} {report_date}",
        "Report Type": report_name,
        "Date": report_date,
        "Real-time": real_time,
        "Last Updated": airtable_time(loaded_at or now),
        "Mongo Id": load_id,
        "Rows": rows,
        "Quarantined Rows": quarantined,
        "API Report Id": api_report_id,
        "Fail": False,
        "Fail Reason": "",
        "Dagster Run": run_url or "",
        "Note": note,
    }
    if repeat_done:
        fields["Update Repeated"] = airtable_time(now)
    return fields


def report_failure(*, report_name: str, report_date: str, real_time: bool, reason: str, run_url: str | None) -> dict:
    """Marks Fail. Last Updated / Mongo Id keep what the last good load wrote (the runbook reads them)."""
    return {
        "Name": f"{report_name} {report_date}",
        "Report Type": report_name,
        "Date": report_date,
        "Real-time": real_time,
        "Fail": True,
        "Fail Reason": reason[:FAIL_REASON_MAX],
        "Dagster Run": run_url or "",
    }


CHECK_MAX = 1000


def report_check(*, report_name: str, report_date: str, check: str) -> dict:
    """The day's data-quality verdict (reports/quality.py): "OK", or "Warning: ..." / "Failed: ..." with the
    reasons. Only this field (and the key): the load's own fields stay as its success record wrote them."""
    return {
        "Name": f"{report_name} {report_date}",
        "Report Type": report_name,
        "Date": report_date,
        "Check": check[:CHECK_MAX],
    }


EMPTY_REASON = "the API returned an empty report (no data)"


def report_empty(
    *, report_name: str, report_date: str, real_time: bool, fail: bool, api_report_id: str, run_url: str | None
) -> dict:
    """The runbook's scenario 2, a first pull with no data: Last Updated and Mongo Id stay empty."""
    return {
        "Name": f"{report_name} {report_date}",
        "Report Type": report_name,
        "Date": report_date,
        "Real-time": real_time,
        "Last Updated": None,
        "Mongo Id": "",
        "Rows": 0,
        "API Report Id": api_report_id,
        "Fail": fail,
        "Fail Reason": EMPTY_REASON,
        "Dagster Run": run_url or "",
        "Note": "",
    }


def report_missed(*, report_name: str, report_date: str, due_at: datetime) -> dict:
    """Scenario 1, a due day that never ran: Fail checked, Last Updated empty, so it shows in Failed Reports."""
    return {
        "Name": f"{report_name} {report_date}",
        "Report Type": report_name,
        "Date": report_date,
        "Real-time": False,
        "Fail": True,
        "Fail Reason": f"not run: its automation was due at {airtable_time(due_at)} while the scheduler was down",
    }


def log_record(
    summary: str,
    *,
    level: str = "INFO",
    event: str = "",
    report_type: str = "",
    details: str = "",
    run_id: str = "",
    now: datetime | None = None,
) -> dict:
    fields = {"Summary": summary[:250], "Timestamp": airtable_time(now), "Level": level, "Event": event}
    for name, value in (("Report Type", report_type), ("Details", details), ("Run Id", run_id)):
        if value:
            fields[name] = value
    return fields


def heartbeat_record(now: datetime | None = None, alive: bool = True) -> dict:
    return {"Name": "Sync application", "Alive": 1 if alive else 0, "Timestamp": airtable_time(now)}
