"""The sales and traffic JSON document (GET_SALES_AND_TRAFFIC_REPORT): sections flattened into rows."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Iterator
from typing import Any

from paperplan_sync.sources.base import Row, RowBatch, RowStream, flatten_json

from ..errors import ReportDocumentError
from ..settings import SALES_AND_TRAFFIC_SECTIONS
from .charsets import python_codec


def _no_charset() -> None:
    return None


def sales_and_traffic_rows(doc: dict[str, Any]) -> list[Row]:
    """One row per salesAndTrafficByDate / salesAndTrafficByAsin entry, nested keys joined with '_'."""
    rows: list[Row] = []
    for section, record_type in SALES_AND_TRAFFIC_SECTIONS.items():
        for entry in doc.get(section) or []:
            row: dict[str, str] = {"record_type": record_type}
            flatten_json("", entry, row)
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
