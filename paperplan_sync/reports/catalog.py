"""What the product knows about each API report type id, collected from the registered sources.

Each source registers its own entries (``sources/<api>/catalog.py``); adding a report type = one entry
there plus one canned document under ``paperplan_sync_tests/fixtures/documents/`` (named after the report
type id); the parametrized catalog test then runs it through parse, split and store. A type id missing
from its source's catalog still works: it is requested one day at a time, parsed in the source's default
format, with no duplicate check and no datapoints.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from paperplan_sync.sources import registry
from paperplan_sync.sources.base import RowStream, bound_stream
from paperplan_sync.sources.catalog import DatapointMapping, ReportKind

__all__ = ["DatapointMapping", "ReportKind", "document_parser", "kind_of", "parse_document"]


def __getattr__(name: str) -> Any:
    if name == "CATALOG":  # every registered source's entries, by report type id
        return registry.report_kinds()
    raise AttributeError(name)


def document_parser(document_format: str) -> Callable[..., Iterator[Any]]:
    """``parse(blocks, stream, chunk_rows, *, charset)`` for a document format: bytes in, row chunks out."""
    return registry.parser(document_format)


def parse_document(
    kind: ReportKind, blocks: Iterable[bytes], *, chunk_rows: int = 5000, charset: str | None = None
) -> RowStream:
    """A whole document's rows as a stream (canned documents in tests, benchmarks)."""
    parse = document_parser(kind.document_format)
    stream = bound_stream(lambda own: parse(blocks, own, chunk_rows, charset=lambda: charset))
    stream.columns = list(kind.columns)  # the requested columns, when the request names them
    return stream


def kind_of(report_type_id: str, source: str | None = None) -> ReportKind:
    """The catalog entry of ``source`` (default: the default source), or its cautious default for an id
    its catalog does not know."""
    return registry.get(source or registry.default_name()).kind_of(report_type_id)
