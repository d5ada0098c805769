"""Housekeeping of the SYNC base: the Logs table keeps the last N days (the history stays in MongoDB)."""

from __future__ import annotations

from datetime import UTC, datetime

import dagster as dg

from paperplan_sync import settings
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.retention import prune_logs
from paperplan_sync.storage.mongo import MongoResource


@dg.sensor(
    name="airtable_logs_retention",
    minimum_interval_seconds=settings.RETENTION_CHECK_S,
    description=f"Deletes Airtable Logs records older than {settings.LOGS_RETENTION_DAYS} days "
    "(PAPERPLAN_LOGS_RETENTION_DAYS); MongoDB's logs collection keeps them all.",
    default_status=dg.DefaultSensorStatus.RUNNING,
)
def airtable_logs_retention(context: dg.SensorEvaluationContext, airtable: AirtableResource, mongo: MongoResource):
    deleted = prune_logs(airtable, mongo.db(), keep_days=settings.LOGS_RETENTION_DAYS, now=datetime.now(UTC))
    return dg.SkipReason(f"deleted {deleted} Logs record(s) older than {settings.LOGS_RETENTION_DAYS} days")
