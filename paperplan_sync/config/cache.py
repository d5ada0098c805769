"""The last-known-good configuration: the raw Airtable rows of the last complete read, on disk."""

from __future__ import annotations

import json
import os
import tempfile
from datetime import datetime
from pathlib import Path
from typing import Any

from paperplan_sync.settings import state_dir

CACHE_FILE = "config_cache.json"


def cache_path(base_id: str) -> Path:
    return state_dir() / f"{base_id}-{CACHE_FILE}"


def save(path: Path, tables: dict[str, list[dict[str, Any]]], fetched_at: datetime) -> None:
    """Atomic write: a crash mid-write never leaves a half cache behind."""
    payload = {"fetched_at": fetched_at.isoformat(), "tables": tables}
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".tmp")
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(payload, fh)
    os.replace(tmp, path)


def load(path: Path) -> tuple[dict[str, list[dict[str, Any]]], datetime] | None:
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
        return payload["tables"], datetime.fromisoformat(payload["fetched_at"])
    except (OSError, ValueError, KeyError):
        return None
