"""What change detection costs, as doctor says it, and the month's count against the plan's quota."""

from __future__ import annotations

from datetime import UTC, datetime

from paperplan_sync.control_plane.changes import ChangeSettings
from paperplan_sync.control_plane.usage import mode_line, month_line


def test_webhook_mode_costs_under_3000_calls_a_month_at_idle_and_poll_mode_says_its_price():
    webhook = mode_line(ChangeSettings(mode="webhook", public_url="https://sync.example.com"))
    poll = mode_line(ChangeSettings(mode="poll"))

    assert "https://sync.example.com/airtable/webhook" in webhook and "about 2,885 Airtable calls a month" in webhook
    assert "every 2 min" in poll and "about 23,045 Airtable calls a month" in poll


def test_the_months_calls_are_counted_and_projected_against_the_quota(airtable_resource):
    for _ in range(3):
        airtable_resource.table("Logs").all()

    ok, text = month_line(airtable_resource.model_copy(update={"monthly_quota": 1000}), datetime.now(UTC))

    assert text.startswith("3 Airtable calls in ") and "of the plan's 1,000" in text
