"""The document parser on hand-made bytes: decoding rule, line numbers, damage, gzip edge cases."""

from __future__ import annotations

import gc
import gzip
import json

import pytest

from paperplan_sync.sources.amazon_sp.errors import ReportDocumentError
from paperplan_sync.sources.amazon_sp.parsing import (
    PARSE_RUN_BYTES,
    DocumentTruncated,
    bound_stream,
    gunzip,
    parse_flat_file,
    parse_json_document,
    python_codec,
)
from paperplan_sync.sources.base import RowBatch

HEADER = "sku\tproduct-name\tqty\n"


def parse(data: bytes, *, chunk_rows: int = 1000, pieces: int = 7):
    """Parse ``data`` fed in awkward pieces (so lines and characters straddle reads)."""
    blocks = [data[i : i + pieces] for i in range(0, len(data), pieces)] if pieces else [data]
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
    data = (
        HEADER.replace("\n", "\r\n") + "A1\tx\t1\r\n" + "A2\tx\r\n" + "\r\n" + "A3\tx\t3\textra\r\n" + "A4\tx\t4\r\n"
    ).encode()
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


def batches_of(data: bytes, *, chunk_rows: int = 1000, pieces: int = 4096):
    blocks = [data[i : i + pieces] for i in range(0, len(data), pieces)]
    stream = bound_stream(lambda s: parse_flat_file(iter(blocks), s, chunk_rows))
    return stream, list(stream.batches())


def expected_dicts(text: str) -> list[dict[str, str]]:
    """The row dicts the dict-building parser produced, for a clean, single-encoding document."""
    header, *lines = text.replace("\r\n", "\n").rstrip("\n").split("\n")
    cols = [c.strip() for c in header.split("\t")]
    return [dict(zip(cols, line.split("\t"), strict=True)) for line in lines]


def test_clean_flat_file_is_parsed_into_columnar_batches():
    text = HEADER + "".join(f'S{i}\tNiño "{i}" – Größe\t{i}\r\n' for i in range(2_345))
    for encoding in ("utf-8", "cp1252"):
        stream, batches = batches_of(text.encode(encoding), chunk_rows=500)
        assert [len(b) for b in batches] == [500] * 4 + [345]
        assert all(isinstance(b, RowBatch) and b.values is not None for b in batches)  # columnar, no dicts
        assert all(b.columns is batches[0].columns for b in batches)  # one shared list per stream
        assert batches[0].columns == stream.columns == ["sku", "product-name", "qty"]
        assert all(type(v) is list and len(v) == 3 for b in batches for v in b.values)
        assert batches[0].values[7] == ["S7", 'Niño "7" – Größe', "7"]
        assert [r for b in batches for r in b.dicts()] == expected_dicts(text)
        assert batches[-1].column("qty")[-1] == "2344" and stream.rows_read == 2_345


def test_chunks_view_equals_batch_dicts():
    text = HEADER + "".join(f"S{i}\tname {i}\t{i}\n" for i in range(1_234))
    _, rows = parse(text.encode(), chunk_rows=100)
    _, batches = batches_of(text.encode(), chunk_rows=100)
    assert rows == [r for b in batches for r in b.dicts()] == expected_dicts(text)


def test_mixed_and_damaged_file_keeps_columnar_batches_and_line_numbers():
    lines = [f"S{i}\tcafé {i}\t{i}\n" for i in range(12_000)]
    damaged = {
        10: b"S10\tbad \x81 byte\t10\n",  # undecodable
        4_000: b"S4000\tshort\n",  # wrong field count
        4_001: b"\n",  # blank: not a row, not quarantined
        7_777: b"S7777\ta\tb\tc\n",  # wrong field count
        11_999: b"S11999\tbad \x9d byte\t11999\n",  # undecodable, last line
    }
    # Mixed per line in the first half (line-by-line decoding), all cp1252 in the second (fast path).
    raw = [line.encode("cp1252" if i >= 6_000 or i % 3 else "utf-8") for i, line in enumerate(lines)]
    for i, b in damaged.items():
        raw[i] = b
    data = HEADER.encode() + b"".join(raw)
    assert len(data) > 5 * PARSE_RUN_BYTES
    stream, batches = batches_of(data, chunk_rows=999)
    assert [(q.line, q.reason.split(" ")[0]) for q in stream.quarantined] == [
        (12, "undecodable"),
        (4_002, "expected"),
        (7_779, "expected"),
        (12_001, "undecodable"),
    ]  # +1 header
    assert all(b.values is not None and len(b) <= 999 for b in batches)
    rows = [r for b in batches for r in b.dicts()]
    kept = [i for i in range(12_000) if i not in damaged]
    assert [r["sku"] for r in rows] == [f"S{i}" for i in kept]
    assert all(r["product-name"] == f"café {r['qty']}" for r in rows)


def test_gc_is_paused_only_while_a_batch_is_built():
    data = (HEADER + "".join(f"S{i}\tn\t{i}\n" for i in range(5_000))).encode()
    inside: list[bool] = []

    def blocks():
        for i in range(0, len(data), 4096):
            inside.append(gc.isenabled())
            yield data[i : i + 4096]

    assert gc.isenabled()
    seen = [gc.isenabled() for _ in bound_stream(lambda s: parse_flat_file(blocks(), s, 100)).batches()]
    assert inside and not any(inside)  # paused while parsing (and waiting for bytes) ...
    assert seen and all(seen) and gc.isenabled()  # ... on while the consumer runs, and afterwards
    gc.disable()
    try:  # a caller's choice to run without the collector is kept
        assert sum(map(len, bound_stream(lambda s: parse_flat_file(iter([data]), s, 100)).batches())) == 5_000
        assert not gc.isenabled()
    finally:
        gc.enable()
    comp = gzip.compress(data)
    with pytest.raises(DocumentTruncated):
        list(bound_stream(lambda s: parse_flat_file(gunzip([comp[: len(comp) // 2]]), s, 100)).batches())
    assert gc.isenabled()
    abandoned = bound_stream(lambda s: parse_flat_file(iter([data]), s, 100)).batches()
    next(abandoned)
    abandoned.close()
    assert gc.isenabled()


def test_json_document_batches_keep_their_dicts():
    doc = {"salesAndTrafficByAsin": [{"childAsin": "B0X", "trafficByAsin": {"sessions": 4}}, {"childAsin": "B0Y"}]}
    stream = bound_stream(lambda s: parse_json_document([json.dumps(doc).encode()], s, 10))
    (batch,) = stream.batches()
    assert batch.values is None and len(batch) == 2
    assert batch.dicts()[1] == {"record_type": "by_asin", "childAsin": "B0Y"}


def test_json_document_rows():
    doc = {
        "salesAndTrafficByDate": [
            {
                "date": "2026-11-03",
                "salesByDate": {"unitsOrdered": 3, "orderedProductSales": {"amount": 9.5, "currencyCode": "USD"}},
            }
        ],
        "salesAndTrafficByAsin": [{"childAsin": "B0X", "trafficByAsin": {"sessions": 4, "x": None, "flag": True}}],
    }
    stream = bound_stream(lambda s: parse_json_document([json.dumps(doc).encode()], s, 10))
    rows = [r for c in stream.chunks() for r in c]
    assert rows == [
        {
            "record_type": "by_date",
            "date": "2026-11-03",
            "salesByDate_unitsOrdered": "3",
            "salesByDate_orderedProductSales_amount": "9.5",
            "salesByDate_orderedProductSales_currencyCode": "USD",
        },
        {
            "record_type": "by_asin",
            "childAsin": "B0X",
            "trafficByAsin_sessions": "4",
            "trafficByAsin_x": "",
            "trafficByAsin_flag": "true",
        },
    ]
    assert stream.columns[0] == "record_type" and "trafficByAsin_sessions" in stream.columns


def test_invalid_json_document_is_an_error():
    stream = bound_stream(lambda s: parse_json_document([b"{not json"], s, 10))
    with pytest.raises(ReportDocumentError, match="not valid JSON"):
        list(stream.chunks())


def parse_declared(data: bytes, charset: str | None):
    stream = bound_stream(
        lambda s: parse_flat_file(
            iter([data[i : i + 5] for i in range(0, len(data), 5)]), s, 1000, charset=lambda: charset
        )
    )
    return stream, [r for c in stream.chunks() for r in c]


def test_a_declared_cp1252_document_is_decoded_as_cp1252_even_where_it_looks_like_utf8():
    # "Ã©" in windows-1252 is the bytes C3 A9: valid UTF-8 for "é". Only the declared charset tells them apart.
    data = (HEADER + "A1\tCrÃ©me Ã©dition\t1\nA2\tplain\t2\n").encode("cp1252")
    _, declared = parse_declared(data, "Cp1252")
    _, undeclared = parse_declared(data, None)
    assert declared[0]["product-name"] == "CrÃ©me Ã©dition"
    assert undeclared[0]["product-name"] == "Créme édition"  # the fallback rule: UTF-8 first, then cp1252


def test_a_line_the_declared_charset_cannot_map_is_quarantined():
    data = HEADER.encode() + b"A1\tok\t1\n" + b"A2\t\x81bad\t2\n" + "A3\tCafé\t3\n".encode("cp1252")
    stream, rows = parse_declared(data, "Cp1252")
    assert [r["sku"] for r in rows] == ["A1", "A3"] and rows[1]["product-name"] == "Café"
    assert [q.line for q in stream.quarantined] == [3] and "cp1252" in stream.quarantined[0].reason


@pytest.mark.parametrize(
    ("declared", "codec"),
    [
        ("Cp1252", "cp1252"),
        ("UTF-8", "utf-8"),
        ("utf8", "utf-8"),
        ("ISO8859_1", "iso8859-1"),
        ("MS932", "cp932"),
        ("windows-1252", "cp1252"),
        (None, None),
        ("x-no-such-charset", None),
    ],
)
def test_java_charset_names_map_to_python_codecs(declared, codec):
    assert python_codec(declared) == codec


def test_an_unknown_or_utf8_declaration_keeps_the_per_line_fallback():
    data = (HEADER + "A1\tCafé\t1\n").encode("utf-8") + "A2\tCafé – crème\t2\n".encode("cp1252")
    for charset in ("UTF-8", "x-no-such-charset"):
        _, rows = parse_declared(data, charset)
        assert [r["product-name"] for r in rows] == ["Café", "Café – crème"]
