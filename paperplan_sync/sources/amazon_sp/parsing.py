"""Streaming decode + parsing of report documents: bytes in, bounded columnar batches of rows out.

Flat files (tab-separated, header first, unquoted: a ``"`` is data) yield ``RowBatch`` objects of at most
``chunk_rows`` rows whose ``values`` are field lists aligned with one ``columns`` list shared by the stream;
values stay unstripped strings. JSON documents (sales and traffic) yield dict-based batches. A line is
decoded with the declared charset, else as UTF-8, else as windows-1252; a line that cannot be decoded or has
the wrong number of fields is quarantined, never dropped. A truncated or corrupt gzip stream raises
``ReportDocumentError`` / ``DocumentTruncated``: rows already yielded are then void. Memory stays flat.

Design notes and measurements: docs/design/parsing.md.
"""

from __future__ import annotations

import codecs
import gc
import json
import threading
import zlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat
from typing import Any, TypeVar

from paperplan_sync.readahead import close_iterator
from paperplan_sync.sources.base import QuarantinedRow, Row, RowBatch, RowStream

from .errors import ReportDocumentError
from .settings import SALES_AND_TRAFFIC_SECTIONS

MAX_BLOCK_BYTES = 256 << 10  # cap on the decompressed output of one step
# Whole lines split per C-level pass. Measured end to end (download included): 32-64 KiB equal, 8-16 KiB
# ~5 % and 256 KiB-1 MiB ~15 % slower -- small runs keep the fresh strings and lists in CPU cache.
PARSE_RUN_BYTES = 32 << 10

T = TypeVar("T")


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


# Java charset names Amazon may send that Python's codec registry does not know by that spelling.
_JAVA_CHARSETS = {
    "ms932": "cp932",
    "windows-31j": "cp932",
    "x-sjis": "shift_jis",
    "x-euc-jp": "euc_jp",
    "utf8": "utf-8",
    "iso8859_1": "latin-1",
}


def python_codec(charset: str | None) -> str | None:
    """The Python codec of a declared charset (``Cp1252`` -> ``cp1252``); None when absent or unknown."""
    if not charset:
        return None
    name = charset.strip().strip('"').lower()
    name = _JAVA_CHARSETS.get(name, name)
    try:
        return codecs.lookup(name).name
    except LookupError:
        return None


def decode_line(raw: bytes, codec: str | None = None) -> str | None:
    """The declared ``codec``, else UTF-8 then windows-1252; None when the line cannot be decoded."""
    if codec:
        try:
            return raw.decode(codec)
        except UnicodeDecodeError:
            return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        try:
            return raw.decode("cp1252")
        except UnicodeDecodeError:
            return None


def _decode_header(raw: bytes, codec: str | None = None) -> list[str]:
    text = decode_line(raw, codec)
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
    def __init__(self, stream: RowStream, charset: Callable[[], str | None]):
        self.stream = stream
        self.cols: list[str] = []  # one list object, shared by every batch of the stream
        self.line_no = 0  # 1-based number of the last line consumed
        self._charset = charset
        self.codec: str | None = None  # a declared charset other than UTF-8, known once bytes arrive

    def read_charset(self) -> None:
        codec = python_codec(self._charset())
        self.codec = None if codec in (None, "utf-8") else codec

    def set_header(self, raw: bytes) -> None:
        self.read_charset()
        self.cols = _decode_header(raw, self.codec)
        self.stream.columns = list(self.cols)  # the caller's copy: editing it cannot corrupt the batches
        self.line_no = 1

    def quarantine(self, line: int, reason: str, raw: str) -> None:
        self.stream.quarantined.append(QuarantinedRow(line=line, reason=reason, raw=raw))

    def decode(self, body: bytes) -> str | list[str | None]:
        """A block of whole lines -> its text (fast paths) or, failing those, a per-line list (None =
        undecodable, already quarantined)."""
        if self.codec:
            try:
                text = body.decode(self.codec)
            except UnicodeDecodeError:
                return self._decode_lines(body)
            return text.replace("\r\n", "\n").removesuffix("\r") if b"\r" in body else text
        try:
            text = body.decode("utf-8")
        except UnicodeDecodeError:
            cp1252 = _decode_cp1252_block(body)
            if cp1252 is None:
                return self._decode_lines(body)
            text = cp1252
        if b"\r" in body:  # CRLF files (looked for in the bytes: memchr, ~3x cheaper than in the text)
            text = text.replace("\r\n", "\n")
            if text.endswith("\r"):  # the run's last line lost its "\n" to the cut, not its "\r"
                text = text[:-1]
        return text

    def _decode_lines(self, body: bytes) -> list[str | None]:
        lines: list[str | None] = []
        for i, raw in enumerate(body.split(b"\n"), start=self.line_no + 1):
            line = decode_line(raw, self.codec)
            if line is None:
                self.quarantine(
                    i,
                    f"undecodable bytes (not {self.codec})"
                    if self.codec
                    else "undecodable bytes (neither UTF-8 nor windows-1252)",
                    raw.decode("utf-8", errors="backslashreplace"),
                )
            elif line.endswith("\r"):
                line = line[:-1]
            lines.append(line)
        return lines

    def values_of(self, decoded: str | list[str | None]) -> list[list[str]]:
        """The field lists of a run's well-formed lines, in order; damaged lines are quarantined."""
        first = self.line_no + 1
        if isinstance(decoded, str):
            lines: list[str] = decoded.split("\n")
            # One C-level pass per run: split every line, then one set of field counts says whether all are
            # well formed (the common case) -- no bytecode per row. The check costs ~2 % (measured); all()
            # or min/max over the counts are no faster.
            values = list(map(str.split, lines, repeat("\t")))
            self.line_no += len(lines)
            if set(map(len, values)) == {len(self.cols)}:
                return values
            return self._checked_values(lines, first)
        self.line_no += len(decoded)
        return self._checked_values(decoded, first)

    def _checked_values(self, lines: Sequence[str | None], first: int) -> list[list[str]]:
        """Rare: some line of the run is damaged (or was undecodable, None) -- sort it out line by line."""
        ncols = len(self.cols)
        values = []
        for i, line in enumerate(lines, start=first):
            if line is None:
                continue
            fields = line.split("\t")
            if len(fields) == ncols:
                values.append(fields)
            elif line.strip():  # blank lines are not rows
                self.quarantine(i, f"expected {ncols} tab-separated fields, found {len(fields)}", line)
        self.stream.quarantined.sort(key=lambda q: q.line)
        return values


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


def _whole_lines(data: bytes, pos: int) -> Iterator[tuple[int, int]]:
    """(start, end) of the runs of ~PARSE_RUN_BYTES of whole lines in ``data[pos:]``; the last run ends at the
    last newline (what follows it is the caller's pending partial line)."""
    size = len(data)
    while pos < size:
        cut = data.find(b"\n", pos + PARSE_RUN_BYTES) if pos + PARSE_RUN_BYTES < size else -1
        if cut < 0:
            cut = data.rfind(b"\n", pos)
            if cut < 0:
                return
        yield pos, cut
        pos = cut + 1


class _GCPause:
    """Pauses CPython's cyclic garbage collector; nestable and shared by threads (the collector is global):
    it is switched back on when the last pauser leaves, and only if it was on when the first one came (so a
    ``gc.disable()`` made elsewhere *during* a pause is undone at its end)."""

    lock = threading.Lock()
    depth = 0
    was_enabled = False

    @classmethod
    def enter(cls) -> None:
        with cls.lock:
            if cls.depth == 0:
                cls.was_enabled = gc.isenabled()
                gc.disable()
            cls.depth += 1

    @classmethod
    def leave(cls) -> None:
        with cls.lock:
            cls.depth -= 1
            if cls.depth == 0 and cls.was_enabled:
                gc.enable()


def _gc_paused_steps(steps: Iterator[T]) -> Iterator[T]:
    """Run each step of ``steps`` with the cyclic GC paused; whoever consumes the items runs with it on.

    Why: every row is a fresh list (lists, unlike dicts of strings, are GC-tracked), and a batch holds
    thousands of them while it fills, so the collector would run every 700 rows, find them all alive and
    promote them to older generations, which then triggers full collections of the whole heap (~35 % of the
    parse time, measured). Paused while a batch is built, the collector usually finds nothing new to look
    at: the consumer frees the previous batch as it takes the next one. Rows hold only strings (no cycles
    to miss); cyclic garbage other threads make meanwhile waits for the end of the pause, which lasts one
    batch: parsing it and waiting for its bytes (~150 KB compressed per 5,000 rows). The wait must be inside
    the pause: a collection while a batch is half built is the very cost avoided. Likewise no container may
    be allocated between ``leave`` and the ``yield``, hence no ``with`` block here (a context manager's exit
    raises, and so allocates, a StopIteration)."""
    done: Any = object()  # the end marker: typed Any so that `item` keeps T
    try:
        while True:
            _GCPause.enter()
            try:
                item = next(steps, done)
            finally:
                _GCPause.leave()
            if item is done:
                return
            yield item
    finally:
        close_iterator(steps)  # an abandoned stream: the parser generator unwinds now, not at its GC


def _no_charset() -> None:
    return None


def parse_flat_file(
    blocks: Iterable[bytes], stream: RowStream, chunk_rows: int, *, charset: Callable[[], str | None] = _no_charset
) -> Iterator[RowBatch]:
    """Tab-separated flat file -> columnar batches of at most ``chunk_rows`` rows. Sets ``stream.columns``.
    ``charset()`` is the declared charset, asked once the first bytes are in."""
    return _gc_paused_steps(_parse_flat_file(blocks, stream, chunk_rows, charset))


def _parse_flat_file(
    blocks: Iterable[bytes], stream: RowStream, chunk_rows: int, charset: Callable[[], str | None]
) -> Iterator[RowBatch]:
    st = _FlatFileState(stream, charset)
    pending = b""
    out: list[list[str]] = []
    try:
        for data in blocks:
            if pending:
                data = pending + data
            pos = 0
            if not st.cols:
                nl = data.find(b"\n")
                if nl < 0:
                    pending = data
                    continue
                st.set_header(data[:nl])
                pos = nl + 1
            for start, cut in _whole_lines(data, pos):
                out += st.values_of(st.decode(data[start:cut]))
                pos = cut + 1
                while len(out) >= chunk_rows:
                    yield RowBatch(st.cols, out[:chunk_rows])
                    del out[:chunk_rows]
            pending = data[pos:]
    except DocumentTruncated:
        if pending:
            st.quarantine(
                st.line_no + 1,
                "truncated document: incomplete last line",
                pending.decode("utf-8", errors="backslashreplace"),
            )
        raise
    if pending:  # last line without a trailing newline
        if not st.cols:
            st.set_header(pending)
        else:
            out += st.values_of(st.decode(pending))
    for i in range(0, len(out), chunk_rows):
        yield RowBatch(st.cols, out[i : i + chunk_rows])


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


def parse_json_document(
    blocks: Iterable[bytes], stream: RowStream, chunk_rows: int, *, charset: Callable[[], str | None] = _no_charset
) -> Iterator[RowBatch]:
    """The sales & traffic document is loaded whole: it is one JSON object (no line structure to stream on)
    and small -- one entry per day plus one per ASIN, kilobytes to a few MB even for large catalogues."""
    raw = b"".join(blocks)
    try:
        text = raw.decode(python_codec(charset()) or "utf-8")
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
    for i in range(0, len(rows), chunk_rows):  # rows of varying shape: these batches keep their dicts
        yield RowBatch.from_dicts(rows[i : i + chunk_rows])


def bound_stream(make_chunks: Callable[[RowStream], Iterator[RowBatch | list[Row]]]) -> RowStream:
    """A RowStream whose generator can fill in that same stream's columns / quarantine as it runs."""
    holder: list[RowStream] = []

    def run() -> Iterator[RowBatch | list[Row]]:
        yield from make_chunks(holder[0])

    stream = RowStream(run())
    holder.append(stream)
    return stream
