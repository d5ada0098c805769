"""Streaming decode + parsing of report documents: bytes in, bounded columnar batches of rows out.

Flat files (tab-separated, header first, unquoted: a ``"`` is data) yield ``RowBatch`` objects of at most
``chunk_rows`` rows whose ``values`` are field lists aligned with one ``columns`` list shared by the stream;
values stay unstripped strings. JSON documents (sales and traffic) yield dict-based batches. A line is
decoded with the declared charset, else as UTF-8, else as windows-1252; a line that cannot be decoded or has
the wrong number of fields is quarantined, never dropped. A truncated or corrupt gzip stream raises
``ReportDocumentError`` / ``DocumentTruncated``: rows already yielded are then void. Memory stays flat.

Modules: compression (gunzip), charsets (the decoding rule), flat_file (the tab-separated parser),
gcpause (the collector paused per batch), sales_traffic (the JSON document).

Design notes and measurements: docs/design/parsing.md.
"""

from __future__ import annotations

from paperplan_sync.sources.base import bound_stream

from .charsets import decode_line, python_codec
from .compression import MAX_BLOCK_BYTES, DocumentTruncated, gunzip
from .flat_file import PARSE_RUN_BYTES, parse_flat_file
from .sales_traffic import parse_json_document, sales_and_traffic_rows

__all__ = [
    "MAX_BLOCK_BYTES",
    "PARSE_RUN_BYTES",
    "DocumentTruncated",
    "bound_stream",
    "decode_line",
    "gunzip",
    "parse_flat_file",
    "parse_json_document",
    "python_codec",
    "sales_and_traffic_rows",
]
