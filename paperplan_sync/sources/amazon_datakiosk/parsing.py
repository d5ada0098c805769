"""Data Kiosk JSONL documents -> row batches, streamed line by line (memory: one network chunk plus a batch).

A data document has one JSON object per line: one record of the selected query (for
``salesAndTrafficTrends``: one ASIN, marketplace and day). Nested keys are joined with "_" and values kept as
text, as the Reports-API Sales & Traffic parser does (``sales_unitsOrdered``, ``traffic_sessions``, ...), and
each row gets a ``date`` column, the record's ``startDate``. ``parse_by_asin_daily`` quarantines a record that
is not one ASIN on one day; ``parse_by_date`` one that is not one day. A line that is not JSON is quarantined
with its line number. Bytes are gunzipped when they start with the gzip magic (a Content-Encoding the HTTP
layer left alone). ``error_message`` reads a FATAL query's error document.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from paperplan_sync.sources.base import QuarantinedRow, Row, RowBatch, RowStream, flatten_json

from .settings import ASIN_COLUMN, DATASET, DATE_COLUMN

_GZIP_MAGIC = b"\x1f\x8b"
_RAW_LIMIT = 500  # quarantined raw text is kept short
Check = Callable[[dict[str, Any]], str | None]  # a record -> why it is refused, or None


class DocumentError(ValueError):
    """The downloaded bytes are not a whole document (bad or truncated gzip): download it again."""


def gunzip_if_needed(blocks: Iterable[bytes]) -> Iterator[bytes]:
    it = iter(blocks)
    head = b""
    for block in it:
        head += block
        if len(head) >= 2:
            break
    if not head.startswith(_GZIP_MAGIC):
        yield from ([head] if head else [])
        yield from it
        return
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    try:
        yield inflater.decompress(head)
        for block in it:
            yield inflater.decompress(block)
        yield inflater.flush()
    except zlib.error as exc:
        raise DocumentError(f"document is not valid gzip: {exc}") from None
    if not inflater.eof:
        raise DocumentError("document ends before its gzip stream does (truncated download)")


def lines(blocks: Iterable[bytes]) -> Iterator[tuple[int, bytes]]:
    """(1-based line number, line without its end) for each non-blank line, across block boundaries."""
    pending = b""
    number = 0
    for block in gunzip_if_needed(blocks):
        pending += block
        *complete, pending = pending.split(b"\n")
        for line in complete:
            number += 1
            if line.strip():
                yield number, line
    if pending.strip():
        yield number + 1, pending


def records_of(obj: Any) -> list[dict[str, Any]]:
    """The records a JSONL line holds: the line itself, or -- should a line ever arrive wrapped the way a
    GraphQL response is (``{"data": {DATASET: {query: [...]}}}``) -- the records inside it."""
    if not isinstance(obj, dict):
        return []
    body = obj["data"] if isinstance(obj.get("data"), dict) else obj
    inner = body.get(DATASET)
    if isinstance(inner, dict):
        return [r for value in inner.values() if isinstance(value, list) for r in value if isinstance(r, dict)]
    return [obj]


def flatten(record: dict[str, Any]) -> Row:
    row: Row = {}
    flatten_json("", record, row)
    row[DATE_COLUMN] = row.get("startDate", "")
    return row


def one_day(record: dict[str, Any]) -> str | None:
    start, end = record.get("startDate"), record.get("endDate")
    if not start:
        return "record has no startDate"
    if end and end != start:
        return f"record covers {start}..{end}, not one day"
    return None


def one_asin_one_day(record: dict[str, Any]) -> str | None:
    return one_day(record) or (None if record.get(ASIN_COLUMN) else "record has no childAsin")


def parse_jsonl(blocks: Iterable[bytes], stream: RowStream, chunk_rows: int, check: Check) -> Iterator[RowBatch]:
    """Row batches of at most ``chunk_rows`` rows; refused lines go to ``stream.quarantined``."""
    batch: list[Row] = []
    for number, raw in lines(blocks):
        for record, reason in _decoded(raw):
            reason = reason or check(record)
            if reason:
                text = raw.decode("utf-8", errors="replace")[:_RAW_LIMIT]
                stream.quarantined.append(QuarantinedRow(number, reason, text))
                continue
            batch.append(flatten(record))
            if len(batch) >= chunk_rows:
                yield _emit(batch, stream)
                batch = []
    if batch:
        yield _emit(batch, stream)


def _decoded(raw: bytes) -> list[tuple[dict[str, Any], str | None]]:
    try:
        obj = json.loads(raw)
    except ValueError as exc:  # UnicodeDecodeError is a ValueError too
        return [({}, f"line is not JSON: {exc}")]
    found = records_of(obj)
    return [(r, None) for r in found] if found else [({}, "line holds no record")]


def _emit(batch: list[Row], stream: RowStream) -> RowBatch:
    out = RowBatch.from_dicts(batch)
    if not stream.columns:
        stream.columns = list(out.columns)
    return out


def parse_by_asin_daily(
    blocks: Iterable[bytes], stream: RowStream, chunk_rows: int, *, charset: Callable[[], str | None] | None = None
) -> Iterator[RowBatch]:
    """DATAKIOSK_SALES_AND_TRAFFIC_BY_ASIN_DAILY: one row per ASIN per day (the catalog's parser signature;
    JSONL is UTF-8 whatever the charset)."""
    return parse_jsonl(blocks, stream, chunk_rows, one_asin_one_day)


def parse_by_date(
    blocks: Iterable[bytes], stream: RowStream, chunk_rows: int, *, charset: Callable[[], str | None] | None = None
) -> Iterator[RowBatch]:
    """DATAKIOSK_SALES_AND_TRAFFIC_BY_DATE: one row per day (and marketplace)."""
    return parse_jsonl(blocks, stream, chunk_rows, one_day)


def error_message(document: bytes) -> str:
    """The text of a FATAL query's error document (JSON; its message under ``errorMessage``), or the
    document itself, shortened, when it is not the JSON we expect."""
    raw = b"".join(gunzip_if_needed([document]))
    text = raw.decode("utf-8", errors="replace").strip()
    try:
        body = json.loads(text)
    except ValueError:
        return text[:_RAW_LIMIT] or "no error document text"
    if isinstance(body, dict):
        for key in ("errorMessage", "message", "errorDetails", "error"):
            if isinstance(body.get(key), str) and body[key].strip():
                return body[key].strip()
        errors = body.get("errors")
        if isinstance(errors, list) and errors and isinstance(errors[0], dict):
            return "; ".join(str(e.get("message") or e) for e in errors)
    return text[:_RAW_LIMIT]
