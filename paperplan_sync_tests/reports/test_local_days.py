"""A report's day is its Timezone's local day, as Seller Central shows it (issue 19): orders placed at chosen
instants in the SP-API stand-in, pulled over HTTP by a real materialization, land on their local day; the
two daylight-saving days of a range report hold 23 and 25 hours of orders."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from paperplan_local.spapi import placed
from paperplan_local.spapi.data import orders_on
from paperplan_sync.control_plane.schema import TABLE_REPORT_TYPES
from paperplan_sync.sources.amazon_sp.catalog import ORDERS_BY_DATE
from paperplan_sync.storage.rows import current_rows

pytestmark = pytest.mark.slow  # whole-product Dagster runs against the SP-API stand-in, several seconds each

LA, BERLIN = ZoneInfo("America/Los_Angeles"), ZoneInfo("Europe/Berlin")


@pytest.fixture
def placing() -> Iterator[None]:
    placed.clear()
    yield
    placed.clear()


def set_timezone(product, airtable_resource, name: str, value: str) -> None:
    """What the ops team does: type the zone into the report type's Timezone cell (and start it in January)."""
    table = airtable_resource.table(TABLE_REPORT_TYPES)
    table.update(table.first(formula=f"{{Name}}='{name}'")["id"], {"Timezone": value, "Start Date": "2026-01-01"})
    product.reload_config()
    assert not product.config.problems


def stored(product, day: str) -> dict[str, datetime]:
    """order id -> purchase instant of the rows stored for ``day``."""
    rows = current_rows(product.resources["mongo"].db(), "sales_report", day)
    return {r["amazon-order-id"]: datetime.fromisoformat(r["purchase-date"]) for r in rows}


def at(day: date, clock: time, tz: ZoneInfo) -> datetime:
    return datetime.combine(day, clock, tzinfo=tz)


@pytest.mark.parametrize("day", [date(2026, 1, 15), date(2026, 7, 15)], ids=["winter", "summer"])
def test_an_order_at_2330_in_los_angeles_lands_on_that_local_day(product, airtable_resource, placing, day):
    set_timezone(product, airtable_resource, "sales_report", "America/Los_Angeles")
    late = placed.place(at(day, time(23, 30), LA))  # 07:30 UTC (winter) / 06:30 UTC (summer), the next UTC day
    key, next_key = day.isoformat(), (day + timedelta(days=1)).isoformat()

    assert product.materialize("sales_report", key).success  # one day: the window Amazon is asked for
    assert late in stored(product, key)
    assert product.materialize("sales_report", days=(key, next_key)).success  # one range report, split into days
    assert late in stored(product, key) and late not in stored(product, next_key)


def test_the_daylight_saving_days_hold_23_and_25_hours_of_orders(product, airtable_resource, spapi, placing):
    set_timezone(product, airtable_resource, "sales_report", "America/Los_Angeles")
    for first, change, last in (
        ("2026-03-07", date(2026, 3, 8), "2026-03-09"),
        ("2026-10-31", date(2026, 11, 1), "2026-11-02"),
    ):
        # As instants: the difference of two datetimes of one ZoneInfo is their clock readings' (always 24 h).
        start, end = (
            at(change, time(0), LA).astimezone(UTC),
            at(change + timedelta(days=1), time(0), LA).astimezone(UTC),
        )
        edges = {placed.place(start + timedelta(seconds=30)), placed.place(end - timedelta(seconds=30))}
        spapi.reset_stats()

        assert product.materialize("sales_report", days=(first, last)).success
        assert spapi.stats()["create_calls"] == {ORDERS_BY_DATE: 1}

        day = stored(product, change.isoformat())
        hours = (end - start).total_seconds() / 3600
        assert hours == (23 if change.month == 3 else 25)
        assert edges <= set(day)
        assert max(day.values()) - min(day.values()) == timedelta(hours=hours, minutes=-1)
        # Exactly the stand-in's orders purchased in those 23 / 25 hours, none more, none fewer.
        seeded = {
            item.order_id
            for utc_day in (change, change + timedelta(days=1))
            for item in orders_on(0, utc_day)
            if start <= item.purchased < end
        }
        assert set(day) == seeded | edges


def test_a_german_order_at_0030_berlin_time_lands_on_its_berlin_day(product, airtable_resource, placing):
    set_timezone(product, airtable_resource, "sales_report", "Europe/Berlin")
    day = date(2026, 11, 10)
    early = placed.place(at(day, time(0, 30), BERLIN))  # 23:30 UTC the day before

    assert product.materialize("sales_report", days=("2026-11-09", "2026-11-10")).success

    assert early in stored(product, "2026-11-10") and early not in stored(product, "2026-11-09")
    assert stored(product, "2026-11-10")[early].astimezone(UTC).date() == date(2026, 11, 9)
