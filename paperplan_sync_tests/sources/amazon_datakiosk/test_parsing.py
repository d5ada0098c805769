"""Data Kiosk JSONL documents -> row batches: one row per ASIN per day / per day, flattened column names,
quarantined lines, gzip, and the FATAL error document."""

from __future__ import annotations

import gzip
import json

import pytest

from paperplan_sync.sources.amazon_datakiosk import parsing, settings
from paperplan_sync.sources.base import RowStream


def trend(day: str, asin: str, units: int = 3, end: str | None = None) -> dict:
    return {
        "startDate": day,
        "endDate": end or day,
        "marketplaceId": "ATVPDKIKX0DER",
        "parentAsin": asin,
        "childAsin": asin,
        "sales": {"orderedProductSales": {"amount": 29.97, "currencyCode": "USD"}, "unitsOrdered": units},
        "traffic": {"sessions": 40, "pageViews": 120, "buyBoxPercentage": 99.5},
    }


def jsonl(*records: dict) -> bytes:
    return b"".join(json.dumps(r).encode() + b"\n" for r in records)


def rows_of(parse, blocks, chunk_rows=1000):
    stream = RowStream.empty()
    batches = list(parse(blocks, stream, chunk_rows))
    return [r for b in batches for r in b.dicts()], stream, batches


def test_one_row_per_asin_per_day_with_the_datapoint_columns():
    doc = jsonl(trend("2026-11-02", "B0A"), trend("2026-11-02", "B0B", 5), trend("2026-11-03", "B0A", 1))
    rows, stream, _ = rows_of(parsing.parse_by_asin_daily, [doc])
    assert [(r["date"], r["childAsin"], r["sales_unitsOrdered"]) for r in rows] == [
        ("2026-11-02", "B0A", "3"),
        ("2026-11-02", "B0B", "5"),
        ("2026-11-03", "B0A", "1"),
    ]
    assert set(settings.DATAPOINT_METRICS.values()) <= set(stream.columns)
    assert rows[0]["sales_orderedProductSales_amount"] == "29.97" and rows[0]["traffic_pageViews"] == "120"
    assert stream.quarantined == []


def test_lines_split_across_network_blocks_and_batches_are_bounded():
    doc = jsonl(*[trend("2026-11-02", f"B0{n:08d}") for n in range(25)])
    blocks = [doc[i : i + 7] for i in range(0, len(doc), 7)]
    rows, _, batches = rows_of(parsing.parse_by_asin_daily, blocks, chunk_rows=10)
    assert [len(b) for b in batches] == [10, 10, 5] and len({r["childAsin"] for r in rows}) == 25


def test_gzip_is_undone_when_the_http_layer_left_it():
    doc = jsonl(trend("2026-11-02", "B0A"))
    rows, _, _ = rows_of(parsing.parse_by_asin_daily, [gzip.compress(doc)])
    assert rows[0]["childAsin"] == "B0A"
    with pytest.raises(parsing.DocumentError, match="truncated"):
        rows_of(parsing.parse_by_asin_daily, [gzip.compress(doc)[:-12]])


def test_bad_lines_are_quarantined_with_their_line_numbers():
    doc = b"\n".join(
        [
            json.dumps(trend("2026-11-02", "B0A")).encode(),
            b"{not json",
            json.dumps(trend("2026-11-02", "")).encode(),
            json.dumps(trend("2026-11-01", "B0C", end="2026-11-07")).encode(),
            b"",
            json.dumps(trend("2026-11-02", "B0D")).encode(),
        ]
    )  # no trailing newline on the last line
    rows, stream, _ = rows_of(parsing.parse_by_asin_daily, [doc])
    assert [r["childAsin"] for r in rows] == ["B0A", "B0D"]
    assert [(q.line, q.reason.split(":")[0]) for q in stream.quarantined] == [
        (2, "line is not JSON"),
        (3, "record has no childAsin"),
        (4, "record covers 2026-11-01..2026-11-07, not one day"),
    ]


def test_by_date_rows_and_an_empty_document():
    day = {"startDate": "2026-11-02", "endDate": "2026-11-02", "marketplaceId": "ATVPDKIKX0DER"}
    day |= {"sales": {"unitsOrdered": 283}, "traffic": {"sessions": 2464}}
    rows, stream, _ = rows_of(parsing.parse_by_date, [jsonl(day)])
    assert rows == [
        {
            "startDate": "2026-11-02",
            "endDate": "2026-11-02",
            "marketplaceId": "ATVPDKIKX0DER",
            "sales_unitsOrdered": "283",
            "traffic_sessions": "2464",
            "date": "2026-11-02",
        }
    ]
    assert rows_of(parsing.parse_by_date, [b""])[0] == [] and rows_of(parsing.parse_by_date, [])[0] == []


def test_a_line_wrapped_like_a_graphql_response_is_unwrapped():
    wrapped = {
        "data": {settings.DATASET: {settings.QUERY_TRENDS: [trend("2026-11-02", "B0A"), trend("2026-11-02", "B0B")]}}
    }
    rows, _, _ = rows_of(parsing.parse_by_asin_daily, [jsonl(wrapped)])
    assert [r["childAsin"] for r in rows] == ["B0A", "B0B"]


def test_error_document_text():
    assert parsing.error_message(b'{"errorMessage": "Query timed out."}') == "Query timed out."
    assert parsing.error_message(gzip.compress(b'{"errorMessage": "Gzipped."}')) == "Gzipped."
    assert parsing.error_message(b'{"errors": [{"code": "X", "message": "one"}]}') == "one"
    assert parsing.error_message(b"plain text failure") == "plain text failure"
    assert parsing.error_message(b"") == "no error document text"
