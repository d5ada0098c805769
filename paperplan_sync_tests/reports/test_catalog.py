"""Every report type of the catalog, through parse, split and store, from its canned document.

Adding a report type = one catalog entry + one document in fixtures/documents/ named after its id; this
test then fails until both exist and agree.
"""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

import pytest

from paperplan_sync.config.models import ReportType
from paperplan_sync.reports.catalog import CATALOG, ReportKind, kind_of, parse_document
from paperplan_sync.reports.load import plan_chunks, split_by_day, store_day
from paperplan_sync.sources import registry
from paperplan_sync.sources.amazon_sp.catalog import ORDERS_BY_DATE
from paperplan_sync.sources.base import RowStream
from paperplan_sync.storage.rows import LATEST, current_rows
from paperplan_sync.timezones import Zone

DOCUMENTS = Path(__file__).resolve().parents[1] / "fixtures" / "documents"
DAY = date(2026, 11, 10)
TZ = Zone.from_hours(-7).tzinfo


def canned(kind: ReportKind) -> bytes:
    [path] = DOCUMENTS.glob(f"{kind.report_type_id}.*")
    return path.read_bytes()


def report_type(kind: ReportKind) -> ReportType:
    return ReportType(
        record_id="recCatalog",
        name="catalog_" + kind.report_type_id.lower()[:40],
        active=True,
        source=kind.source,
        report_type_id=kind.report_type_id,
        real_time=kind.snapshot,
        add_to_datapoints=kind.datapoints is not None,
        zone=-7,
    )


def without_stamps(rows: list[dict]) -> list[dict]:
    return [{k: v for k, v in row.items() if not k.startswith("_")} for row in rows]


@pytest.mark.parametrize("kind", list(CATALOG.values()), ids=list(CATALOG))
def test_every_catalog_entry_parses_splits_and_stores(kind, mongo):
    db, rt = mongo.db(), report_type(kind)
    parsed = list(parse_document(kind, [canned(kind)]).chunks())
    rows = [row for chunk in parsed for row in chunk]
    assert rows, "the canned document has rows"

    stream = parse_document(kind, [canned(kind)])
    if kind.splittable:
        days = tuple(sorted({kind.row_day(row[kind.date_column], TZ) for row in rows}))
        assert len(days) > 1, "a splittable type's canned document spans several days"
        by_day, stray = split_by_day(stream, kind, TZ, days)
        assert not stray
    else:
        by_day = {None if kind.snapshot else DAY: list(stream.batches())}

    stored: list[dict] = []
    for day, batches in by_day.items():
        result = store_day(
            rt,
            day,
            RowStream(iter(batches), columns=stream.columns),
            db=db,
            run_id="catalog test",
            api_report_id="canned",
            cancelled=False,
        )
        day_rows = current_rows(db, rt.name, result.report_date or LATEST)
        assert result.rows == len(day_rows) == sum(len(b) for b in batches)
        assert result.duplicate_keys == 0
        if kind.splittable:
            assert {kind.row_day(r[kind.date_column], TZ) for r in day_rows} == {day}
        stored += day_rows
        if kind.datapoints:
            assert result.datapoints > 0
    if kind.datapoints:
        metrics = {p["metric"] for p in db["datapoints"].find({"report": rt.name})}
        assert metrics == set(kind.datapoints.metrics)

    key = kind.row_key or tuple(stream.columns)
    assert Counter(tuple(r.get(c) for c in key) for r in without_stamps(stored)) == Counter(
        tuple(r.get(c) for c in key) for r in rows
    )
    assert set(kind.row_key) <= set().union(*rows)  # the key columns exist in the document


def test_orders_near_midnight_land_on_their_local_day():
    kind = CATALOG[ORDERS_BY_DATE]
    by_day, stray = split_by_day(parse_document(kind, [canned(kind)]), kind, TZ, (DAY, date(2026, 11, 11)))
    ids = {day: sorted(r["amazon-order-id"] for b in batches for r in b.dicts()) for day, batches in by_day.items()}
    # 06:59:59 UTC on the 11th is 23:59:59 on the 10th in UTC-7; 07:00:00 UTC is midnight of the 11th.
    assert "111-0000003-0000003" in ids[DAY] and "111-0000004-0000004" in ids[date(2026, 11, 11)]
    assert "111-0000005-0000005" in ids[date(2026, 11, 11)]  # 06:00 UTC on the 12th
    assert not stray


def test_a_row_outside_the_range_is_quarantined_not_guessed():
    kind = CATALOG[ORDERS_BY_DATE]
    by_day, stray = split_by_day(parse_document(kind, [canned(kind)]), kind, TZ, (DAY,))
    assert sum(len(b) for b in by_day[DAY]) == 4
    assert len(stray) == 2 and all("outside the report's range" in q.reason for q in stray)


def test_a_range_longer_than_the_api_allows_is_chunked():
    kind = CATALOG[ORDERS_BY_DATE]
    rt = report_type(kind).model_copy(update={"name": "sales_report"})
    days = [date(2026, 8, 1).fromordinal(date(2026, 8, 1).toordinal() + n) for n in range(90)]
    chunks = plan_chunks(rt, days)
    assert [len(c.days) for c in chunks] == [30, 30, 30]
    assert chunks[1].request.day == days[30] and chunks[1].request.last_day == days[59]
    ads = report_type(CATALOG["spCampaigns"])
    assert [len(c.days) for c in plan_chunks(ads, days[:45])] == [31, 14]
    traffic = report_type(CATALOG["GET_SALES_AND_TRAFFIC_REPORT"])  # by-ASIN rows add up the whole range
    assert [len(c.days) for c in plan_chunks(traffic, days[:4])] == [1, 1, 1, 1]
    summary = ads.model_copy(update={"report_options": {"timeUnit": "SUMMARY"}})  # no date column to split on
    assert len(plan_chunks(summary, days[:3])) == 3


@pytest.mark.parametrize("kind", list(CATALOG.values()), ids=list(CATALOG))
def test_every_entry_is_registered_by_the_source_that_parses_it(kind):
    """One place per fact: a source registers its entries, and the parser of each entry's format is its own
    (reports/catalog.py only collects them from the registry)."""
    source = registry.get(kind.source)
    assert source.kinds[kind.report_type_id] is kind and kind_of(kind.report_type_id, kind.source) is kind
    assert registry.parser(kind.document_format) is source.parsers[kind.document_format]


def test_an_unknown_id_gets_its_sources_cautious_default():
    for name, source in registry.sources().items():
        kind = kind_of("SOME_NEW_REPORT_TYPE", name)
        assert (kind.source, kind.document_format, kind.max_range_days) == (name, source.default_format, 1)
        assert not kind.splittable and kind.datapoints is None
