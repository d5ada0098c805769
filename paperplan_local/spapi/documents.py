"""Report documents, produced lazily: rows -> encoded lines (with injected damage) -> gzip chunks.

Nothing here holds a whole document: a 200,000-row report is a generator feeding a StreamingResponse.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time

from . import data
from .constants import (
    DOCUMENT_ENCODING,
    FBA_INVENTORY,
    MARKETPLACE_CHANNELS,
    MERCHANT_LISTINGS,
    ORDERS_BY_DATE,
    ORDERS_BY_UPDATE,
    SALES_AND_TRAFFIC,
)

PIECE_BYTES = 1 << 18  # raw bytes per compressed flush: the granularity of the stream


@dataclass(frozen=True)
class DocumentSpec:
    """Everything that determines a document's bytes (captured when the report was created)."""

    report_type: str
    start: datetime
    end: datetime
    as_of: datetime  # the server's "now" at creation: order statuses / inventory as of then
    options: dict[str, str]
    marketplace_ids: list[str]
    seed: int
    rows: int | None = None  # load-test hook: this many synthetic order rows
    malformed_rows: frozenset[int] = frozenset()  # 1-based line numbers given a missing field
    undecodable_rows: frozenset[int] = frozenset()  # 1-based line numbers given a byte cp1252 cannot map
    truncate: bool = False
    empty_days: frozenset[str] = frozenset()  # order reports: no order on these days (the window's timezone)
    # Answers that load but are wrong (flat files): only this share of rows, these marketplaces' orders
    # missing -- on ``fault_days`` only (local days of the window; empty: every day) -- and renamed columns.
    keep_fraction: float | None = None
    drop_marketplaces: frozenset[str] = frozenset()
    fault_days: frozenset[str] = frozenset()
    rename_columns: tuple[tuple[str, str], ...] = ()


def _table(spec: DocumentSpec) -> tuple[list[str], Callable[[], Iterator[list[str]]]]:
    s = spec
    if s.rows is not None:
        return data.ORDER_COLUMNS, lambda: data.synthetic_orders(s.seed, s.start, s.rows)
    if s.report_type == ORDERS_BY_DATE:
        return data.ORDER_COLUMNS, lambda: data.orders_by_purchase(s.seed, s.start, s.end, s.as_of, s.marketplace_ids)
    if s.report_type == ORDERS_BY_UPDATE:
        return data.ORDER_COLUMNS, lambda: data.orders_by_update(s.seed, s.start, s.end, s.as_of, s.marketplace_ids)
    if s.report_type == FBA_INVENTORY:
        return data.INVENTORY_COLUMNS, lambda: data.inventory(s.seed, s.as_of.date())
    if s.report_type == MERCHANT_LISTINGS:
        return data.LISTING_COLUMNS, lambda: data.listings(s.seed, s.as_of.date())
    raise ValueError(f"no flat file for {s.report_type}")


def _without_empty_days(
    spec: DocumentSpec, rows: Callable[[], Iterator[list[str]]]
) -> Callable[[], Iterator[list[str]]]:
    if not spec.empty_days or spec.report_type not in (ORDERS_BY_DATE, ORDERS_BY_UPDATE):
        return rows
    column = 2 if spec.report_type == ORDERS_BY_DATE else 3  # purchase-date / last-updated-date
    tz = spec.start.tzinfo

    def kept() -> Iterator[list[str]]:
        for fields in rows():
            if datetime.fromisoformat(fields[column]).astimezone(tz).date().isoformat() not in spec.empty_days:
                yield fields

    return kept


def _row_day(spec: DocumentSpec, columns: list[str], fields: list[str]) -> str | None:
    """The local day (the window's timezone) of an order row; None for other reports."""
    name = {ORDERS_BY_DATE: "purchase-date", ORDERS_BY_UPDATE: "last-updated-date"}.get(spec.report_type)
    if name is None:
        return None
    return datetime.fromisoformat(fields[columns.index(name)]).astimezone(spec.start.tzinfo).date().isoformat()


def _wrong_but_loading(
    spec: DocumentSpec, columns: list[str], rows: Callable[[], Iterator[list[str]]]
) -> Callable[[], Iterator[list[str]]]:
    """Rows thinned to ``keep_fraction`` (deterministically, by row content) and without the orders of
    ``drop_marketplaces``, on ``fault_days`` (every day when empty)."""
    if spec.keep_fraction is None and not spec.drop_marketplaces:
        return rows
    dropped = {MARKETPLACE_CHANNELS.get(m, m) for m in spec.drop_marketplaces}
    channel = columns.index("sales-channel") if "sales-channel" in columns else None

    def kept() -> Iterator[list[str]]:
        for fields in rows():
            if spec.fault_days and _row_day(spec, columns, fields) not in spec.fault_days:
                yield fields
                continue
            if channel is not None and fields[channel] in dropped:
                continue
            if spec.keep_fraction is not None and zlib.crc32("\t".join(fields).encode()) % 1000 >= (
                spec.keep_fraction * 1000
            ):
                continue
            yield fields

    return kept


def _encoded_lines(spec: DocumentSpec) -> Callable[[], Iterator[bytes]]:
    """A re-runnable generator of encoded lines (each ending in \\n), damage applied."""
    columns, rows = _table(spec)
    rows = _wrong_but_loading(spec, columns, _without_empty_days(spec, rows))
    renamed = dict(spec.rename_columns)
    columns = [renamed.get(c, c) for c in columns]
    enc = DOCUMENT_ENCODING.get(spec.report_type, "utf-8")

    def lines() -> Iterator[bytes]:
        yield ("\t".join(columns) + "\n").encode(enc)
        for n, fields in enumerate(rows(), start=2):
            if n in spec.malformed_rows:
                fields = fields[:-1]
            line = ("\t".join(fields) + "\n").encode(enc, errors="replace")
            if n in spec.undecodable_rows:
                line = b"\x81" + line  # 0x81 is undefined in windows-1252 and invalid UTF-8
            yield line

    return lines


def _pieces(lines: Iterable[bytes]) -> Iterator[bytes]:
    buf: list[bytes] = []
    size = 0
    for line in lines:
        buf.append(line)
        size += len(line)
        if size >= PIECE_BYTES:
            yield b"".join(buf)
            buf, size = [], 0
    if buf:
        yield b"".join(buf)


def raw_pieces(spec: DocumentSpec) -> Iterator[bytes]:
    """The uncompressed document, in pieces; truncated halfway through a line if asked."""
    if spec.report_type == SALES_AND_TRAFFIC:  # JSON; the ``rows`` load-test hook is for flat files
        doc = data.sales_and_traffic(spec.seed, spec.start, spec.end, spec.as_of, spec.options, spec.marketplace_ids)
        body = json.dumps(doc, ensure_ascii=False).encode()
        yield body[: len(body) * 2 // 3] if spec.truncate else body
        return
    lines = _encoded_lines(spec)
    if not spec.truncate:
        yield from _pieces(lines())
        return
    # Deterministic generator: count in a first pass (nothing kept), then stop mid-way through a line.
    total = sum(1 for _ in lines())
    cut_at = max(2, total * 2 // 3)

    def cut() -> Iterator[bytes]:
        for n, line in enumerate(lines(), start=1):
            if n == cut_at:
                yield line[: max(1, len(line) // 2)]
                return
            yield line

    yield from _pieces(cut())


def gzip_pieces(pieces: Iterable[bytes], *, level: int = 6, finish: bool = True) -> Iterator[bytes]:
    """Streaming gzip; ``finish=False`` leaves the stream without its end block and trailer (truncated)."""
    c = zlib.compressobj(level, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    for piece in pieces:
        out = c.compress(piece) + c.flush(zlib.Z_SYNC_FLUSH)
        if out:
            yield out
    if finish:
        yield c.flush()


def document_stream(spec: DocumentSpec, *, gzip: bool) -> Iterator[bytes]:
    pieces = raw_pieces(spec)
    level = 1 if (spec.rows or 0) > 50_000 else 6  # big load-test documents: favour speed
    if gzip:
        return gzip_pieces(pieces, level=level, finish=not spec.truncate)
    return pieces


def error_document(message: str, *, gzip: bool) -> Iterator[bytes]:
    body = json.dumps({"errorDetails": message}).encode()
    return gzip_pieces([body]) if gzip else iter([body])


def file_stream(path: str, chunk: int = 1 << 20) -> Iterator[bytes]:
    with open(path, "rb") as f:
        while block := f.read(chunk):
            yield block


def write_orders_file(path: str, n_rows: int, *, seed: int = 0, day: str = "2026-01-15") -> int:
    """Write an n-row gzipped orders flat file (benchmarks). Returns its size in bytes."""
    start = datetime.combine(datetime.fromisoformat(day).date(), time(0), tzinfo=UTC)
    spec = DocumentSpec(ORDERS_BY_DATE, start, start, start, {}, ["ATVPDKIKX0DER"], seed, rows=n_rows)
    size = 0
    with open(path, "wb") as f:
        for block in gzip_pieces(raw_pieces(spec), level=6):
            f.write(block)
            size += len(block)
    return size
