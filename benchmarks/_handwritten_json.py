"""The hand-written streaming JSON array parser the Ads source used before ijson (kept as the baseline of
benchmarks/parse_reports.py; not product code): UTF-8 text pieces -> elements, via json.JSONDecoder.raw_decode."""

from __future__ import annotations

import codecs
import json
from collections.abc import Iterable, Iterator
from typing import Any

_WS = " \t\r\n"


class ParseError(ValueError):
    pass


AdsReportParseError = ParseError


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
