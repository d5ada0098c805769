"""Incremental gunzip of a report document (multi-member aware); a cut or corrupt stream is an error."""

from __future__ import annotations

import zlib
from collections.abc import Iterable, Iterator

from ..errors import ReportDocumentError

MAX_BLOCK_BYTES = 256 << 10  # cap on the decompressed output of one step


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
