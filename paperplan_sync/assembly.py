"""Build the Definitions from a loaded configuration and a set of resources (tests pass their own)."""

from __future__ import annotations

from collections.abc import Mapping

import dagster as dg

from paperplan_sync.alerting.alerts import build_alert_sensors
from paperplan_sync.config.models import SyncConfig
from paperplan_sync.reports.factory import build_report_assets, build_report_jobs
from paperplan_sync.scheduling.housekeeping import airtable_logs_retention
from paperplan_sync.scheduling.scheduler import build_scheduler_sensor


def build_definitions(config: SyncConfig, resources: Mapping[str, object]) -> dg.Definitions:
    jobs = build_report_jobs(config)
    return dg.Definitions(
        assets=build_report_assets(config),
        jobs=list({job.name: job for job in jobs.values()}.values()),
        sensors=[build_scheduler_sensor(config, jobs), *build_alert_sensors(config), airtable_logs_retention],
        resources=resources,
    )
