"""Data Kiosk query text and planning: ranges, ASIN batches, size limit -- and every query we build is one the
stand-in (which validates against the dataset's schema, as Amazon does) accepts."""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from paperplan_local.spapi.datakiosk_queries import TRENDS, parse_query
from paperplan_sync.sources.amazon_datakiosk import queries, settings

TODAY = date(2026, 11, 20)
US = ["ATVPDKIKX0DER"]
ASINS = [f"B0{n:08d}" for n in range(65)]


def test_a_two_year_onboarding_is_one_query_per_30_asins():
    first, last = TODAY - timedelta(days=730), TODAY - timedelta(days=1)
    plan = queries.plan(settings.BY_ASIN_DAILY, first, last, US, today=TODAY, asins=ASINS)
    assert plan.unavailable is None
    assert [(q.first, q.last, len(q.asins)) for q in plan.queries] == [
        (first, last, 30),
        (first, last, 30),
        (first, last, 5),
    ]
    assert sorted(a for q in plan.queries for a in q.asins) == ASINS
    by_date = queries.plan(settings.BY_DATE, first, last, US, today=TODAY)
    assert [(q.first, q.last) for q in by_date.queries] == [(first, last)]


def test_a_daily_fire_with_its_late_data_days_is_one_query():
    plan = queries.plan(settings.BY_DATE, date(2026, 11, 16), date(2026, 11, 19), US, today=TODAY)
    assert len(plan.queries) == 1 and 'startDate:"2026-11-16" endDate:"2026-11-19"' in plan.queries[0].text


def test_days_older_than_two_years_are_unavailable_not_queried():
    plan = queries.plan(settings.BY_DATE, date(2024, 11, 1), date(2024, 12, 31), US, today=TODAY)
    assert plan.unavailable == (date(2024, 11, 1), date(2024, 11, 19))
    assert [(q.first, q.last) for q in plan.queries] == [(date(2024, 11, 20), date(2024, 12, 31))]
    gone = queries.plan(settings.BY_DATE, date(2023, 1, 1), date(2023, 1, 31), US, today=TODAY)
    assert gone.queries == () and gone.unavailable == (date(2023, 1, 1), date(2023, 1, 31))
    assert queries.earliest_day(date(2028, 2, 29)) == date(2026, 2, 28)


def test_ranges_longer_than_the_limit_are_chunked():
    assert queries.day_ranges(date(2026, 1, 1), date(2026, 1, 10), max_days=4) == [
        (date(2026, 1, 1), date(2026, 1, 4)),
        (date(2026, 1, 5), date(2026, 1, 8)),
        (date(2026, 1, 9), date(2026, 1, 10)),
    ]
    assert queries.day_ranges(date(2026, 1, 1), date(2026, 1, 1)) == [(date(2026, 1, 1), date(2026, 1, 1))]
    with pytest.raises(ValueError):
        queries.day_ranges(date(2026, 1, 2), date(2026, 1, 1))


def test_asin_batches_are_distinct_sorted_and_at_most_30():
    batches = queries.asin_batches(["B2", "B1", "", " B1 ", *ASINS[:40]])
    assert [len(b) for b in batches] == [30, 12] and batches[0][:2] == ("B0" + "0" * 8, "B000000001")
    assert queries.asin_batches([]) == []


def test_query_text_is_minimal_and_under_the_size_limit():
    text = queries.trends_query(date(2026, 1, 1), date(2026, 1, 2), US, ASINS[:30])
    assert "  " not in text and "\n" not in text and len(text) < settings.MAX_QUERY_CHARS
    with pytest.raises(ValueError, match="1 to 30"):
        queries.trends_query(date(2026, 1, 1), date(2026, 1, 2), US, ASINS[:31])
    with pytest.raises(ValueError, match="marketplaceIds"):
        queries.by_date_query(date(2026, 1, 1), date(2026, 1, 2), [])
    many_markets = [f"A{n:012d}" for n in range(300)]  # 300 filters of 30 ASINs cannot fit in 8,000 characters
    with pytest.raises(ValueError, match="8000"):
        queries.trends_query(date(2026, 1, 1), date(2026, 1, 2), many_markets, ASINS[:30])


@pytest.mark.parametrize(
    "text",
    [
        queries.by_date_query(date(2025, 1, 1), date(2026, 11, 19), US),
        queries.trends_query(date(2025, 1, 1), date(2026, 11, 19), US, ASINS[:30]),
        queries.trends_query(date(2025, 1, 1), date(2026, 11, 19), ["ATVPDKIKX0DER", "A2EUQ1WTGCTBG2"], ASINS[:2]),
        queries.by_asin_query(date(2025, 1, 1), date(2026, 11, 19), US),
    ],
)
def test_every_query_we_build_passes_the_stand_ins_schema_validation(text):
    selection = parse_query(text, TODAY)
    assert selection.start == date(2025, 1, 1) and selection.end == date(2026, 11, 19)
    if selection.name == TRENDS:
        assert selection.args["asinAggregation"] == "CHILD" and selection.args["dateAggregation"] == "DAY"


def test_not_a_data_kiosk_type():
    with pytest.raises(ValueError, match="not a Data Kiosk report type"):
        queries.plan("GET_SALES_AND_TRAFFIC_REPORT", date(2026, 1, 1), date(2026, 1, 2), US, today=TODAY)
