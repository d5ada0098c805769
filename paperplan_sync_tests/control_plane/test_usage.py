"""What change detection costs, as doctor says it, and the month's count against the plan's quota."""

from __future__ import annotations

from datetime import UTC, datetime

from paperplan_sync.control_plane.changes import ChangeSettings
from paperplan_sync.control_plane.usage import fits, mode_line, month_line


def test_webhook_mode_costs_under_3000_calls_a_month_at_idle_and_poll_mode_says_its_price():
    webhook = mode_line(ChangeSettings(mode="webhook", public_url="https://sync.example.com"))
    poll = mode_line(ChangeSettings(mode="poll"))

    assert "https://sync.example.com/airtable/webhook" in webhook and "about 2,895 Airtable calls a month" in webhook
    # 40 s checks keep an edit within a minute without pings, at a price the ops team must see.
    assert "every 40 s" in poll and "about 66,255 Airtable calls a month" in poll and "about 2,895 calls" in poll


def test_poll_mode_does_not_fit_a_free_plan_and_fits_a_team_plan_only_just():
    poll, webhook = ChangeSettings(mode="poll"), ChangeSettings(mode="webhook", public_url="https://sync.example.com")

    assert not fits(poll, 1_000) and not fits(poll, 100_000) and fits(poll, 0)  # 0: unlimited
    assert fits(webhook, 100_000) and not fits(webhook, 1_000)
    assert "more than half of the plan's 100,000: give the api service a public URL" in mode_line(poll, 100_000)
    assert "more than half" not in mode_line(webhook, 100_000)


def test_the_months_calls_are_counted_and_projected_against_the_quota(airtable_resource):
    for _ in range(3):
        airtable_resource.table("Logs").all()

    ok, text = month_line(airtable_resource.model_copy(update={"monthly_quota": 1000}), datetime.now(UTC))

    assert text.startswith("3 Airtable calls in ") and "of the plan's 1,000" in text
