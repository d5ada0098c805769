"""A load's rows as MongoDB documents: each row once per target day, with its ``_id`` and stamps, in even
batches for ``insert_many`` whatever the producer's chunk size (many tiny chunks would mean many round trips).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

import bson

from paperplan_sync.readahead import close_iterator
from paperplan_sync.sources.base import RowBatch
from paperplan_sync.storage.load_record import Mode, ReportLoad
from paperplan_sync.storage.rows import DATE_FIELD, LOAD_FIELD, id_prefix, pending, row_id

ROW_SIZE_SAMPLE = 20

Chunk = RowBatch | list[dict[str, Any]]


def documents(load: ReportLoad, chunks: Iterable[Chunk], batch_rows: int) -> Iterator[tuple[list[dict[str, Any]], int]]:
    """(documents, rows) in even batches of about ``batch_rows`` documents. Each document is built once,
    stamps included."""
    # Row numbers continue across write_rows calls; one (id prefix, stamp) per target the load replaces.
    number = load.rows
    stamps = [
        (id_prefix(t, load.load_id), t if load.mode is Mode.TRANSACTION else pending(load.load_id, t))
        for t in load.targets
    ]
    per_row = len(stamps)
    take = max(per_row, batch_rows - batch_rows % per_row)  # a multiple of the copies per row: rows = docs / copies
    docs: list[dict[str, Any]] = []
    it = iter(chunks)
    try:
        for chunk in it:
            for prefix, stamp in stamps:
                docs += stamped(chunk, prefix, number, {DATE_FIELD: stamp, LOAD_FIELD: load.load_id})
            number += len(chunk)
            while len(docs) >= take:
                yield docs[:take], take // per_row
                docs = docs[take:]
    finally:
        close_iterator(it)  # stopped early: the source releases what it holds now
    if docs:
        yield docs, len(docs) // per_row


def stamped(chunk: Chunk, prefix: str, first: int, stamps: dict[str, str]) -> list[dict[str, Any]]:
    """The chunk's documents for one target: the row's fields, then ``_id`` and the stamps (which win over
    a report column of the same name). A columnar batch's documents are built straight from its values."""
    ids = [row_id(prefix, n) for n in range(first, first + len(chunk))]
    if isinstance(chunk, RowBatch) and chunk.values is not None:
        cols = chunk.columns
        return [dict(zip(cols, v, strict=True), _id=i, **stamps) for i, v in zip(ids, chunk.values, strict=True)]
    rows = chunk.dicts() if isinstance(chunk, RowBatch) else chunk
    return [{**row, "_id": i, **stamps} for i, row in zip(ids, rows, strict=True)]


def average_bytes(docs: list[dict[str, Any]]) -> float:
    """The average BSON size of a few documents: a cheap estimate of a load's size."""
    sample = docs[:ROW_SIZE_SAMPLE]
    return sum(len(bson.encode(d)) for d in sample) / len(sample)
