"""Incremental parsing of an Ads report document: (gzip) bytes -> UTF-8 text -> elements of a JSON array.

A GZIP_JSON report is one JSON array of row objects. It is parsed element by element while it downloads,
so memory stays bounded by one network chunk plus one row, whatever the report size.
"""

from __future__ import annotations

import codecs
import json
import zlib
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from paperplan_sync.sources.amazon_ads.errors import AdsReportParseError
from paperplan_sync.sources.base import QuarantinedRow, Row, RowStream

_GZIP_MAGIC = b"\x1f\x8b"
_WS = " \t\r\n"
_RAW_LIMIT = 500  # keep quarantined raw text short


def gunzip_if_needed(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Decompress when the bytes start with the gzip magic, else pass through.

    The magic bytes decide, not the requested format: a document may arrive already decompressed
    (e.g. when a proxy or the HTTP layer undid a Content-Encoding).
    """
    it = iter(chunks)
    head = b""
    for piece in it:
        head += piece
        if len(head) >= 2:
            break
    if not head.startswith(_GZIP_MAGIC):
        if head:
            yield head
        yield from it
        return
    try:
        yield from _gunzip(head, it)
    except zlib.error as exc:
        raise AdsReportParseError(f"report document is not valid gzip: {exc}") from None


def _gunzip(head: bytes, it: Iterator[bytes]) -> Iterator[bytes]:
    inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
    pending = head
    while True:
        while pending:
            out = inflater.decompress(pending)
            if out:
                yield out
            pending = b""
            if inflater.eof and inflater.unused_data:  # concatenated gzip members
                pending = inflater.unused_data
                inflater = zlib.decompressobj(wbits=16 + zlib.MAX_WBITS)
        piece = next(it, None)
        if piece is None:
            break
        pending = piece
    tail = inflater.flush()
    if tail:
        yield tail
    if not inflater.eof:
        raise AdsReportParseError("report document is a truncated gzip stream")


def utf8_text(chunks: Iterable[bytes]) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")(errors="strict")
    try:
        for piece in chunks:
            text = decoder.decode(piece)
            if text:
                yield text
        text = decoder.decode(b"", final=True)
    except UnicodeDecodeError as exc:
        raise AdsReportParseError(f"report document is not UTF-8: {exc.reason}") from None
    if text:
        yield text


def iter_json_array(text_chunks: Iterable[str]) -> Iterator[Any]:
    """Yield the elements of one top-level JSON array as the text arrives. An empty document yields nothing."""
    decoder = json.JSONDecoder()
    it = iter(text_chunks)
    buf, pos, eof = "", 0, False

    def more() -> bool:
        nonlocal buf, pos, eof
        if eof:
            return False
        for piece in it:
            if piece:
                buf, pos = buf[pos:] + piece, 0
                return True
        eof = True
        return False

    def skip_ws() -> bool:
        """Advance past whitespace; False when the document ended."""
        nonlocal pos
        while True:
            while pos < len(buf) and buf[pos] in _WS:
                pos += 1
            if pos < len(buf):
                return True
            if not more():
                return False

    def value(index: int) -> Any:
        nonlocal pos
        while True:
            try:
                result, end = decoder.raw_decode(buf, pos)
            except json.JSONDecodeError as exc:
                if more():
                    continue  # most likely an element split across network chunks
                raise AdsReportParseError(f"invalid JSON in report element {index + 1}: {exc.msg}") from None
            # A number or literal at the very end of the buffer may continue in the next chunk.
            if end >= len(buf) and more():
                continue
            pos = end
            return result

    if not skip_ws():
        return
    if buf[pos] != "[":
        raise AdsReportParseError("report document is not a JSON array")
    pos += 1
    if not skip_ws():
        raise AdsReportParseError("report document ends inside the array")
    if buf[pos] == "]":
        pos += 1
    else:
        index = 0
        while True:
            yield value(index)
            index += 1
            if not skip_ws():
                raise AdsReportParseError(f"report document ends after element {index}")
            sep = buf[pos]
            pos += 1
            if sep == "]":
                break
            if sep != "," or not skip_ws():
                raise AdsReportParseError(f"expected ',' or ']' after report element {index}")
    if skip_ws():
        raise AdsReportParseError("unexpected data after the report's JSON array")


def row_chunks(
    elements: Iterable[Any],
    *,
    chunk_rows: int,
    quarantine: Callable[[QuarantinedRow], None],
    seen_column: Callable[[str], None],
) -> Iterator[list[Row]]:
    """Group object elements into lists of at most ``chunk_rows``; quarantine anything else.

    A quarantined element's ``line`` is its 1-based position in the array (the document has no lines).
    """
    chunk: list[Row] = []
    for index, element in enumerate(elements):
        if not isinstance(element, dict):
            raw = json.dumps(element, ensure_ascii=False)[:_RAW_LIMIT]
            quarantine(QuarantinedRow(line=index + 1, reason=f"not a JSON object ({type(element).__name__})", raw=raw))
            continue
        for key in element:
            seen_column(key)
        chunk.append(element)
        if len(chunk) >= chunk_rows:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def parse_ads_document(
    blocks: Iterable[bytes], stream: RowStream, chunk_rows: int, *, charset: Callable[[], str | None] | None = None
) -> Iterator[list[Row]]:
    """A GZIP_JSON document (bytes, compressed or not) -> chunks of row dicts; non-objects are quarantined
    into ``stream``, and columns seen beyond ``stream.columns`` are appended to it. (Always UTF-8: JSON.)"""
    known = set(stream.columns)

    def seen_column(name: str) -> None:
        if name not in known:
            known.add(name)
            stream.columns.append(name)

    elements = iter_json_array(utf8_text(gunzip_if_needed(blocks)))
    yield from row_chunks(
        elements, chunk_rows=max(1, chunk_rows), quarantine=stream.quarantined.append, seen_column=seen_column
    )
