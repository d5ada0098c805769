"""MongoDB storage: the resource, the atomic report write path, datapoints and the Airtable outbox.

- ``mongo``: ``MongoResource`` (a Dagster resource; one cached client per process).
- ``loads``: ``start_load`` / ``write_rows`` / ``commit_load`` / ``fail_load`` (the write path), built on
  ``load_record`` (the load and its metadata document, the reads), ``load_documents`` (rows as documents)
  and ``load_publish`` (the publishing transaction).
- ``rows``: row collections (one per report type, rows keyed by day in ``_id``) and consistent reads
  (``current_rows``; ``day_filter`` for other readers).
- ``datapoints``: ``upsert_datapoints``.
- ``outbox``: durable queue of Airtable writes.
"""

from paperplan_sync.storage.loads import (
    ReportLoad,
    commit_load,
    current_load,
    fail_load,
    previous_successful_load,
    start_load,
    write_rows,
)
from paperplan_sync.storage.mongo import MongoResource
from paperplan_sync.storage.rows import (
    collection_name,
    count_current_rows,
    current_rows,
    day_filter,
)

__all__ = [
    "MongoResource",
    "ReportLoad",
    "collection_name",
    "commit_load",
    "count_current_rows",
    "current_load",
    "current_rows",
    "day_filter",
    "fail_load",
    "previous_successful_load",
    "start_load",
    "write_rows",
]
