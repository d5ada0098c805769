"""Streaming decode + parsing of report documents: bytes in, bounded chunks of row dicts out.

Flat files (every report type but the JSON ones) are tab-separated, one record per line, header first, and
*unquoted*: a literal ``"`` is data (item descriptions contain them). Lines are therefore split on tabs with
``str.split`` -- what ``csv.reader(..., quoting=csv.QUOTE_NONE)`` would do, measured ~2x faster here -- in
runs of ~32 KiB of whole lines, with the row dicts built by C-level ``map`` chains (no bytecode per row).
Values stay strings, unstripped (typing and cleaning happen later); only column names are stripped.

Encoding: Amazon serves flat files as UTF-8 *or* windows-1252/ISO-8859-1 without saying which. The rule is
**per line**: a line that is valid UTF-8 is UTF-8, otherwise it is windows-1252; a line even cp1252 cannot
map (bytes 0x81 0x8D 0x8F 0x90 0x9D) is quarantined with its line number. UTF-8 first is safe because real
cp1252 text is almost never valid UTF-8, while cp1252 would "decode" UTF-8 bytes as mojibake. The rule is
applied per run with two exact fast paths (the whole run is valid UTF-8; or no line of it holds a valid
non-ASCII UTF-8 sequence, so it is all cp1252), and line by line only for mixed or damaged runs.

Damage: a line with the wrong number of fields is quarantined (never dropped silently); blank lines are not
rows. A gzip stream that ends early or is corrupt raises ``ReportDocumentError`` / ``DocumentTruncated``
(after quarantining the partial last line): rows already yielded must then be treated as void by the
caller -- a partial report never looks complete.

Memory stays flat: at most a few network reads, a few decompressed blocks (capped per step, so a gzip bomb
cannot blow up) and about one output chunk are alive at a time, whatever the document size.
"""

from __future__ import annotations

import json
import zlib
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from itertools import repeat
from typing import Any

from paperplan_sync.sources.base import QuarantinedRow, Row, RowStream

from .errors import ReportDocumentError
from .settings import SALES_AND_TRAFFIC_SECTIONS

MAX_BLOCK_BYTES = 256 << 10  # cap on the decompressed output of one step
PARSE_RUN_BYTES = 32 << 10  # lines parsed per batch


class DocumentTruncated(ReportDocumentError):
    """The compressed stream ended before its end-of-stream marker (a cut download or a broken upload)."""


def gunzip(chunks: Iterable[bytes]) -> Iterator[bytes]:
    """Incrementally gunzip (multi-member aware). Raises DocumentTruncated / ReportDocumentError at the end."""
    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
    seen_input = False
    for chunk in chunks:
        buf = chunk
        while buf:
            seen_input = True
            try:
                out = d.decompress(buf, MAX_BLOCK_BYTES)
            except zlib.error as exc:
                raise ReportDocumentError(f"corrupt gzip stream in report document: {exc}") from exc
            if out:
                yield out
            if d.eof:
                buf = d.unused_data
                if buf.strip(b"\0"):  # another gzip member follows (concatenated gzip files)
                    d = zlib.decompressobj(16 + zlib.MAX_WBITS)
                else:
                    buf = b""
            else:
                buf = d.unconsumed_tail
    if not seen_input or not d.eof:
        tail = d.flush() if seen_input else b""
        if tail:
            yield tail
        raise DocumentTruncated("gzip report document is truncated (stream ended before the gzip trailer)")


def decode_line(raw: bytes) -> str | None:
    """UTF-8, else windows-1252; None when even cp1252 cannot map a byte."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return None


def _decode_header(raw: bytes) -> list[str]:
    text = decode_line(raw)
    if text is None:
        text = raw.decode("latin-1")  # never fails; column names are ASCII in practice
    names = [c.strip() for c in text.lstrip("\ufeff").rstrip("\r").split("\t")]
    seen: dict[str, int] = {}
    out = []
    for name in names:  # duplicate names would silently overwrite each other in a dict
        seen[name] = seen.get(name, 0) + 1
        out.append(name if seen[name] == 1 else f"{name}_{seen[name]}")
    return out


class _FlatFileState:
    def __init__(self, stream: RowStream):
        self.stream = stream
        self.cols: list[str] = []
        self.template: dict[str, None] = {}
        self.line_no = 0  # 1-based number of the last line consumed

    def set_header(self, raw: bytes) -> None:
        self.cols = _decode_header(raw)
        self.template = dict.fromkeys(self.cols)
        self.stream.columns = list(self.cols)
        self.line_no = 1

    def quarantine(self, line: int, reason: str, raw: str) -> None:
        self.stream.quarantined.append(QuarantinedRow(line=line, reason=reason, raw=raw))

    def decode(self, body: bytes) -> str | list[str | None]:
        """A block of whole lines -> its text (fast paths) or, failing those, a per-line list (None =
        undecodable, already quarantined)."""
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            text = _decode_cp1252_block(body)
            if text is None:
                return self._decode_lines(body)
        if "\r" in text:  # CRLF files; the run's last line lost its "\n" to the cut, not its "\r"
            text = text.replace("\r\n", "\n")
            if text.endswith("\r"):
                text = text[:-1]
        return text

    def _decode_lines(self, body: bytes) -> list[str | None]:
        lines: list[str | None] = []
        for i, raw in enumerate(body.split(b"\n"), start=self.line_no + 1):
            line = decode_line(raw)
            if line is None:
                self.quarantine(i, "undecodable bytes (neither UTF-8 nor windows-1252)",
                                raw.decode("utf-8", errors="backslashreplace"))
            elif line.endswith("\r"):
                line = line[:-1]
            lines.append(line)
        return lines

    def rows_of(self, decoded: str | list[str | None]) -> list[Row]:
        cols = self.cols
        lines = decoded.split("\n") if isinstance(decoded, str) else decoded
        first = self.line_no + 1
        self.line_no += len(lines)
        if isinstance(decoded, str):
            splits = list(map(str.split, lines, repeat("\t")))
            if set(map(len, splits)) == {len(cols)}:
                # Every line has the right shape: fill copies of a pre-sized template dict -- all loops in C
                # (map/deque), no per-row bytecode, no dict resizing.
                rows = list(map(dict.copy, repeat(self.template, len(splits))))
                deque(map(dict.update, rows, map(zip, repeat(cols), splits)), maxlen=0)
                return rows
        rows = []
        for i, line in enumerate(lines, start=first):  # rare: some lines are damaged
            if line is None:
                continue
            fields = line.split("\t")
            if len(fields) == len(cols):
                rows.append(dict(zip(cols, fields)))
            elif line.strip():  # blank lines are not rows
                self.quarantine(i, f"expected {len(cols)} tab-separated fields, found {len(fields)}", line)
        self.stream.quarantined.sort(key=lambda q: q.line)
        return rows


def _decode_cp1252_block(body: bytes) -> str | None:
    """The whole block as windows-1252 when that equals the per-line rule, else None (go per line).

    Equal when no line holds a valid non-ASCII UTF-8 sequence: decoding with errors="ignore" then leaves
    pure ASCII (``isascii`` is O(1) on CPython), so every non-ASCII line failed UTF-8 and is cp1252 anyway.
    Two C passes instead of one Python step per line."""
    if not body.decode("utf-8", "ignore").isascii():
        return None
    try:
        return body.decode("cp1252")
    except UnicodeDecodeError:  # a byte cp1252 leaves undefined: find and quarantine its line
        return None


def parse_flat_file(blocks: Iterable[bytes], stream: RowStream, chunk_rows: int) -> Iterator[list[Row]]:
    """Tab-separated flat file -> chunks of at most ``chunk_rows`` row dicts. Sets ``stream.columns``."""
    st = _FlatFileState(stream)
    pending = b""
    out: list[Row] = []
    try:
        for data in blocks:
            if pending:
                data = pending + data
            pos, size = 0, len(data)
            if not st.cols:
                nl = data.find(b"\n")
                if nl < 0:
                    pending = data
                    continue
                st.set_header(data[:nl])
                pos = nl + 1
            # Parse in ~32 KiB runs of whole lines: small enough that the rows being built stay in CPU cache
            # (measured ~25 % faster than 1 MiB runs), big enough to amortise the per-run calls.
            while pos < size:
                cut = data.find(b"\n", pos + PARSE_RUN_BYTES) if pos + PARSE_RUN_BYTES < size else -1
                if cut < 0:
                    cut = data.rfind(b"\n", pos)
                    if cut < 0:
                        break
                out += st.rows_of(st.decode(data[pos:cut]))
                pos = cut + 1
                while len(out) >= chunk_rows:
                    yield out[:chunk_rows]
                    out = out[chunk_rows:]
            pending = data[pos:]
    except DocumentTruncated:
        if pending:
            st.quarantine(st.line_no + 1, "truncated document: incomplete last line",
                          pending.decode("utf-8", errors="backslashreplace"))
        raise
    if pending:  # last line without a trailing newline
        if not st.cols:
            st.set_header(pending)
        else:
            out += st.rows_of(st.decode(pending))
    for i in range(0, len(out), chunk_rows):
        yield out[i:i + chunk_rows]


# --- JSON (GET_SALES_AND_TRAFFIC_REPORT) -----------------------------------------------------------------

def _flatten(prefix: str, value: Any, into: dict[str, str]) -> None:
    if isinstance(value, dict):
        for k, v in value.items():
            _flatten(f"{prefix}_{k}" if prefix else k, v, into)
    elif isinstance(value, list):
        into[prefix] = json.dumps(value, ensure_ascii=False)
    elif value is None:
        into[prefix] = ""
    elif isinstance(value, bool):
        into[prefix] = "true" if value else "false"
    else:
        into[prefix] = str(value)


def sales_and_traffic_rows(doc: dict[str, Any]) -> list[Row]:
    """One row per salesAndTrafficByDate / salesAndTrafficByAsin entry, nested keys joined with '_'."""
    rows: list[Row] = []
    for section, record_type in SALES_AND_TRAFFIC_SECTIONS.items():
        for entry in doc.get(section) or []:
            row: dict[str, str] = {"record_type": record_type}
            _flatten("", entry, row)
            rows.append(row)
    return rows


def parse_json_document(blocks: Iterable[bytes], stream: RowStream, chunk_rows: int) -> Iterator[list[Row]]:
    """The sales & traffic document is loaded whole: it is one JSON object (no line structure to stream on)
    and small -- one entry per day plus one per ASIN, kilobytes to a few MB even for large catalogues."""
    raw = b"".join(blocks)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("cp1252", errors="replace")
    try:
        doc = json.loads(text) if text.strip() else {}
    except ValueError as exc:
        raise ReportDocumentError(f"report document is not valid JSON: {exc}") from exc
    rows = sales_and_traffic_rows(doc)
    cols: dict[str, None] = {}
    for r in rows:
        cols.update(dict.fromkeys(r))
    stream.columns = list(cols)
    for i in range(0, len(rows), chunk_rows):
        yield rows[i:i + chunk_rows]


def bound_stream(make_chunks: Callable[[RowStream], Iterator[list[Row]]]) -> RowStream:
    """A RowStream whose generator can fill in that same stream's columns / quarantine as it runs."""
    holder: list[RowStream] = []

    def run() -> Iterator[list[Row]]:
        yield from make_chunks(holder[0])

    stream = RowStream(run())
    holder.append(stream)
    return stream
