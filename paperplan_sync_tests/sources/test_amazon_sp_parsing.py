"""The document parser on hand-made bytes: decoding rule, line numbers, damage, gzip edge cases."""

from __future__ import annotations

import gzip
import json

import pytest

from paperplan_sync.sources.amazon_sp.parsing import (
    PARSE_RUN_BYTES,
    DocumentTruncated,
    bound_stream,
    gunzip,
    parse_flat_file,
    parse_json_document,
)
from paperplan_sync.sources.amazon_sp.errors import ReportDocumentError

HEADER = "sku\tproduct-name\tqty\n"


def parse(data: bytes, *, chunk_rows: int = 1000, pieces: int = 7):
    """Parse ``data`` fed in awkward pieces (so lines and characters straddle reads)."""
    blocks = [data[i:i + pieces] for i in range(0, len(data), pieces)] if pieces else [data]
    stream = bound_stream(lambda s: parse_flat_file(iter(blocks), s, chunk_rows))
    rows = [r for c in stream.chunks() for r in c]
    return stream, rows


def test_utf8_and_cp1252_lines_in_one_document_are_each_decoded_right():
    data = (HEADER + "A1\tCafé\t1\n").encode("utf-8") + "A2\tCafé – crème\t2\n".encode("cp1252") + b"A3\tplain\t3\n"
    stream, rows = parse(data)
    assert [r["product-name"] for r in rows] == ["Café", "Café – crème", "plain"]
    assert stream.columns == ["sku", "product-name", "qty"] and not stream.quarantined


def test_all_cp1252_document_fast_path_matches_per_line_rule():
    lines = [f"S{i}\tNiño Größe ×{i} – Déjà\t{i}\n" for i in range(3000)]
    data = HEADER.encode() + "".join(lines).encode("cp1252")
    _, rows = parse(data, pieces=0)
    assert len(rows) == 3000 and rows[-1]["product-name"] == "Niño Größe ×2999 – Déjà"


def test_byte_cp1252_cannot_map_quarantines_only_that_line():
    data = HEADER.encode() + b"A1\tok\t1\n" + b"A2\tbad \x81 byte\t2\n" + "A3\tcaf\xe9\t3\n".encode("latin-1")
    stream, rows = parse(data)
    assert [r["sku"] for r in rows] == ["A1", "A3"] and rows[1]["product-name"] == "café"
    assert [(q.line, q.reason.startswith("undecodable")) for q in stream.quarantined] == [(3, True)]
    assert "\\x81" in stream.quarantined[0].raw


def test_wrong_field_counts_are_quarantined_blank_lines_skipped_crlf_handled():
    data = (HEADER.replace("\n", "\r\n") + "A1\tx\t1\r\n" + "A2\tx\r\n" + "\r\n" + "A3\tx\t3\textra\r\n"
            + "A4\tx\t4\r\n").encode()
    stream, rows = parse(data)
    assert [r["sku"] for r in rows] == ["A1", "A4"] and rows[1]["qty"] == "4"
    assert [(q.line, q.raw) for q in stream.quarantined] == [(3, "A2\tx"), (5, "A3\tx\t3\textra")]


def test_line_numbers_stay_right_across_many_runs():
    good = "".join(f"S{i}\tname {i}\t{i}\n" for i in range(20_000))
    lines = good.splitlines(keepends=True)
    bad_at = [2, 777, 5_000, 19_999]  # 0-based indexes into the data lines
    for i in bad_at:
        lines[i] = lines[i].replace("\t", " ", 1)
    data = (HEADER + "".join(lines)).encode()
    assert len(data) > 5 * PARSE_RUN_BYTES
    stream, rows = parse(data, chunk_rows=999, pieces=4096)
    assert [q.line for q in stream.quarantined] == [i + 2 for i in bad_at]  # +1 header, +1 one-based
    assert len(rows) == 20_000 - len(bad_at)


def test_chunks_are_bounded_and_complete():
    data = (HEADER + "".join(f"S{i}\tn\t{i}\n" for i in range(10_007))).encode()
    stream = bound_stream(lambda s: parse_flat_file(iter([data]), s, 1000))
    sizes = [len(c) for c in stream.chunks()]
    assert sizes == [1000] * 10 + [7] and stream.rows_read == 10_007


def test_last_line_without_newline_and_header_only_documents():
    _, rows = parse((HEADER + "A1\tx\t1").encode())
    assert rows == [{"sku": "A1", "product-name": "x", "qty": "1"}]
    stream, rows = parse(HEADER.encode())
    assert rows == [] and stream.columns == ["sku", "product-name", "qty"]
    stream, rows = parse(HEADER.rstrip("\n").encode())
    assert rows == [] and stream.columns == ["sku", "product-name", "qty"]
    stream, rows = parse(b"")
    assert rows == [] and stream.columns == []


def test_bom_and_duplicate_header_names():
    stream, rows = parse(("\ufeffsku \tnote\tnote\n" + "A\tx\ty\n").encode())
    assert stream.columns == ["sku", "note", "note_2"] and rows == [{"sku": "A", "note": "x", "note_2": "y"}]


def test_gunzip_multi_member_and_truncation():
    a, b = gzip.compress(b"hello "), gzip.compress(b"world\n")
    assert b"".join(gunzip([a + b])) == b"hello world\n"
    whole = gzip.compress(b"x" * 100_000)
    with pytest.raises(DocumentTruncated):
        b"".join(gunzip([whole[: len(whole) // 2]]))
    with pytest.raises(DocumentTruncated):
        b"".join(gunzip([]))
    with pytest.raises(ReportDocumentError, match="corrupt gzip"):
        b"".join(gunzip([b"\x1f\x8b\x08\x00garbage-garbage-garbage"]))


def test_gunzip_output_is_capped_per_step():
    bomb = gzip.compress(b"\0" * (20 << 20))  # 20 MiB of zeros in ~20 KB
    sizes = [len(b) for b in gunzip([bomb])]
    assert sum(sizes) == 20 << 20 and max(sizes) <= 256 << 10


def test_truncated_document_quarantines_partial_line_then_raises():
    payload = (HEADER + "".join(f"S{i}\tname\t{i}\n" for i in range(2000))).encode()
    comp = gzip.compress(payload)
    stream = bound_stream(lambda s: parse_flat_file(gunzip([comp[: len(comp) * 3 // 4]]), s, 100))
    with pytest.raises(DocumentTruncated):
        for _ in stream.chunks():
            pass
    assert len(stream.quarantined) <= 1 and all("truncated" in q.reason for q in stream.quarantined)


def test_json_document_rows():
    doc = {"salesAndTrafficByDate": [{"date": "2026-11-03", "salesByDate": {"unitsOrdered": 3,
                                      "orderedProductSales": {"amount": 9.5, "currencyCode": "USD"}}}],
           "salesAndTrafficByAsin": [{"childAsin": "B0X", "trafficByAsin": {"sessions": 4, "x": None,
                                      "flag": True}}]}
    stream = bound_stream(lambda s: parse_json_document([json.dumps(doc).encode()], s, 10))
    rows = [r for c in stream.chunks() for r in c]
    assert rows == [
        {"record_type": "by_date", "date": "2026-11-03", "salesByDate_unitsOrdered": "3",
         "salesByDate_orderedProductSales_amount": "9.5", "salesByDate_orderedProductSales_currencyCode": "USD"},
        {"record_type": "by_asin", "childAsin": "B0X", "trafficByAsin_sessions": "4", "trafficByAsin_x": "",
         "trafficByAsin_flag": "true"},
    ]
    assert stream.columns[0] == "record_type" and "trafficByAsin_sessions" in stream.columns


def test_invalid_json_document_is_an_error():
    stream = bound_stream(lambda s: parse_json_document([b"{not json"], s, 10))
    with pytest.raises(ReportDocumentError, match="not valid JSON"):
        list(stream.chunks())
