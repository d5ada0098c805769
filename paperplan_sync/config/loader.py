"""The configuration: read from Airtable once per change, then shared by every process as a snapshot.

``load_config`` reads Report Types and Automations from Airtable and stores them as the shared snapshot;
``current_config`` is what every process builds its definitions from (no Airtable call unless there is no
snapshot yet). The scheduler calls ``load_config`` when Airtable changed (control_plane/changes.py). An
Airtable outage, 5xx or 429 never breaks the code location: the last good read is used and the
configuration says so (``origin == "cache"``, ``unavailable_reason``).

Design notes: docs/design/airtable-quota.md.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
from datetime import UTC, datetime

from paperplan_sync import settings
from paperplan_sync.config import cache
from paperplan_sync.config.models import SyncConfig, ValidationProblem
from paperplan_sync.config.parse import missing_fields, parse_tables
from paperplan_sync.control_plane.airtable import AirtableResource, AirtableUnavailable
from paperplan_sync.control_plane.schema import CONFIG_TABLES, TABLE_AUTOMATIONS, TABLE_REPORT_TYPES

log = logging.getLogger(__name__)


def config_reader(airtable: AirtableResource) -> AirtableResource:
    """Loading must be quick: fail fast into the cache rather than wait out retries or a 30 s penalty."""
    return airtable.model_copy(update={"attempts": 2, "timeout_s": 10.0, "max_wait_s": 3.0})


def _fingerprint(tables: dict) -> str:
    return hashlib.sha256(json.dumps(tables, sort_keys=True).encode()).hexdigest()[:16]


def build_config(tables: dict, *, origin: str, fetched_at: datetime, reason: str | None = None) -> SyncConfig:
    report_types, automations, problems = parse_tables(
        tables.get(TABLE_REPORT_TYPES, []), tables.get(TABLE_AUTOMATIONS, [])
    )
    return SyncConfig(
        report_types=tuple(report_types),
        automations=tuple(automations),
        problems=tuple(problems),
        origin=origin,  # type: ignore[arg-type]
        fetched_at=fetched_at,
        unavailable_reason=reason,
        fingerprint=_fingerprint(tables),
        snapshot_json=json.dumps({"tables": tables, "fetched_at": fetched_at.isoformat()}),
    )


def config_from_snapshot_json(text: str) -> SyncConfig:
    """The configuration a code server built its definitions from (``SyncConfig.snapshot_json``)."""
    snapshot = json.loads(text)
    return build_config(
        snapshot["tables"], origin="snapshot", fetched_at=datetime.fromisoformat(snapshot["fetched_at"])
    )


def _fetch(airtable: AirtableResource) -> dict[str, list]:
    try:
        return {name: airtable.table(name).all() for name in CONFIG_TABLES}
    except AirtableUnavailable:
        raise
    except Exception as exc:  # HTTPError 401/404/422, JSON errors: all mean "cannot read the config now"
        raise AirtableUnavailable(f"{type(exc).__name__}: {exc}") from exc


def _snapshot_key(airtable: AirtableResource) -> str:
    return f"config-{airtable.base_id}"


def _save(airtable: AirtableResource, tables: dict, fetched_at: datetime) -> None:
    cache.save(cache.cache_path(airtable.base_id), tables, fetched_at)
    try:  # tables go in as JSON text: Airtable field names may hold characters MongoDB keys may not
        snapshot = {
            "tables": json.dumps(tables),
            "fetched_at": fetched_at.isoformat(),
            "fingerprint": _fingerprint(tables),
        }
        airtable.shared_state.update(_snapshot_key(airtable), lambda _: snapshot)
    except Exception as exc:  # MongoDB down: the machine-local copy still serves this machine
        log.warning("Could not share the configuration snapshot (%s); kept the local copy", type(exc).__name__)


def _snapshot(airtable: AirtableResource) -> tuple[dict, datetime] | None:
    """The shared snapshot, else this machine's copy."""
    try:
        doc = airtable.shared_state.read(_snapshot_key(airtable))
        if doc.get("tables"):
            return json.loads(doc["tables"]), datetime.fromisoformat(doc["fetched_at"])
    except Exception as exc:
        log.warning("Shared configuration snapshot unreadable (%s); trying the local copy", type(exc).__name__)
    return cache.load(cache.cache_path(airtable.base_id))


def _not_configured() -> SyncConfig:
    key, base = settings.AIRTABLE_API_KEY, settings.AIRTABLE_BASE_ID
    reason = f"{key} and {base} must be set to read the configuration from Airtable"
    return SyncConfig(
        origin="none", unavailable_reason=reason, problems=(ValidationProblem("(settings)", "-", None, key, reason),)
    )


def load_config(airtable: AirtableResource | None) -> SyncConfig:
    """The configuration read from Airtable now; on any failure, the last good one. None: Airtable is not set up."""
    if airtable is None:
        return _not_configured()
    try:
        tables = _fetch(config_reader(airtable))
    except AirtableUnavailable as exc:
        cached = _snapshot(airtable)
        if cached is None:
            log.error("Airtable unavailable (%s) and no cached configuration: no report types loaded", exc)
            return SyncConfig(origin="none", unavailable_reason=str(exc))
        tables, fetched_at = cached
        log.warning("Airtable unavailable (%s); using the configuration cached at %s", exc, fetched_at.isoformat())
        return build_config(tables, origin="cache", fetched_at=fetched_at, reason=str(exc))

    tables, broken = _keep_last_good(tables, _snapshot(airtable))
    now = datetime.now(UTC)
    _save(airtable, tables, now)
    config = build_config(tables, origin="airtable", fetched_at=now)
    return dataclasses.replace(config, problems=(*broken, *config.problems)) if broken else config


def _keep_last_good(tables: dict, cached: tuple[dict, datetime] | None) -> tuple[dict, list[ValidationProblem]]:
    """A table that lost a required field (renamed or deleted in the base) would make every row bad and stop
    everything: its last good copy is used instead, with one problem that says what happened."""
    problems, kept = [], dict(tables)
    for name, records in tables.items():
        for field in missing_fields(name, records):
            good = cached if cached is not None and not missing_fields(name, cached[0].get(name, [])) else None
            if good:
                kept[name] = good[0][name]
            how = f"the copy read at {good[1]:%Y-%m-%d %H:%M} UTC is used" if good else "no good copy to use"
            problems.append(
                ValidationProblem(
                    name,
                    "-",
                    None,
                    field,
                    f"no row has this field: it was renamed or deleted in the base; {how} until it is back "
                    "(rename it back; paperplan-sync doctor lists what differs)",
                )
            )
    return kept, problems


def snapshot_config(airtable: AirtableResource) -> SyncConfig | None:
    """The shared snapshot only (never Airtable); None before the first read."""
    snapshot = _snapshot(airtable)
    return build_config(snapshot[0], origin="snapshot", fetched_at=snapshot[1]) if snapshot else None


def current_config(airtable: AirtableResource | None) -> SyncConfig:
    """The shared snapshot (no Airtable call); Airtable is read only when there is none yet."""
    if airtable is None:
        return _not_configured()
    return snapshot_config(airtable) or load_config(airtable)
