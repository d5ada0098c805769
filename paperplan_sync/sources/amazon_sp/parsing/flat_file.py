"""Tab-separated flat files (header first, unquoted: a ``"`` is data) -> columnar ``RowBatch`` objects of at
most ``chunk_rows`` rows whose ``values`` are field lists aligned with one ``columns`` list shared by the
stream; values stay unstripped strings. A line that cannot be decoded or has the wrong number of fields is
quarantined, never dropped."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from itertools import repeat

from paperplan_sync.sources.base import QuarantinedRow, RowBatch, RowStream

from .charsets import decode_cp1252_block, decode_header, decode_line, python_codec
from .compression import DocumentTruncated
from .gcpause import gc_paused_steps

# Whole lines split per C-level pass. Measured end to end (download included): 32-64 KiB equal, 8-16 KiB
# ~5 % and 256 KiB-1 MiB ~15 % slower -- small runs keep the fresh strings and lists in CPU cache.
PARSE_RUN_BYTES = 32 << 10


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
        self.cols = decode_header(raw, self.codec)
        self.stream.columns = list(self.cols)  # the caller's copy: editing it cannot corrupt the batches
        self.line_no = 1

    def header_end(self, data: bytes) -> int:
        """Where the rows of ``data`` start: past the header line, read here the first time; -1 while the
        header line is still incomplete."""
        if self.cols:
            return 0
        nl = data.find(b"\n")
        if nl < 0:
            return -1
        self.set_header(data[:nl])
        return nl + 1

    def last_line(self, pending: bytes) -> list[list[str]]:
        """The document's last line, which has no newline (the header, in a document of one line)."""
        if not self.cols:
            self.set_header(pending)
            return []
        return self.values_of(self.decode(pending))

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
            cp1252 = decode_cp1252_block(body)
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


def _no_charset() -> None:
    return None


def parse_flat_file(
    blocks: Iterable[bytes], stream: RowStream, chunk_rows: int, *, charset: Callable[[], str | None] = _no_charset
) -> Iterator[RowBatch]:
    """Tab-separated flat file -> columnar batches of at most ``chunk_rows`` rows. Sets ``stream.columns``.
    ``charset()`` is the declared charset, asked once the first bytes are in."""
    return gc_paused_steps(_parse_flat_file(blocks, stream, chunk_rows, charset))


def _parse_flat_file(
    blocks: Iterable[bytes], stream: RowStream, chunk_rows: int, charset: Callable[[], str | None]
) -> Iterator[RowBatch]:
    st = _FlatFileState(stream, charset)
    pending = b""
    out: list[list[str]] = []
    try:
        for data in blocks:
            data = pending + data if pending else data
            pos = st.header_end(data)
            if pos < 0:
                pending = data
                continue
            for start, cut in _whole_lines(data, pos):
                out += st.values_of(st.decode(data[start:cut]))
                pos = cut + 1
                while len(out) >= chunk_rows:
                    yield RowBatch(st.cols, out[:chunk_rows])
                    del out[:chunk_rows]
            pending = data[pos:]
    except DocumentTruncated:
        if pending:
            raw = pending.decode("utf-8", errors="backslashreplace")
            st.quarantine(st.line_no + 1, "truncated document: incomplete last line", raw)
        raise
    if pending:  # last line without a trailing newline
        out += st.last_line(pending)
    for i in range(0, len(out), chunk_rows):
        yield RowBatch(st.cols, out[i : i + chunk_rows])
