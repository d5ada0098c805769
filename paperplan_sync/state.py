"""Where the product keeps its local state (rate-limiter slots, last-known-good config).

One directory shared by every process of the product on a machine: code server, daemon and runs.
"""

from __future__ import annotations

import os
from pathlib import Path

STATE_DIR_ENV = "PAPERPLAN_STATE_DIR"


def state_dir() -> Path:
    """``$PAPERPLAN_STATE_DIR``, else ``$DAGSTER_HOME/paperplan``, else ``~/.cache/paperplan_sync``."""
    if explicit := os.environ.get(STATE_DIR_ENV):
        path = Path(explicit)
    elif dagster_home := os.environ.get("DAGSTER_HOME"):
        path = Path(dagster_home) / "paperplan"
    else:
        path = Path.home() / ".cache" / "paperplan_sync"
    path.mkdir(parents=True, exist_ok=True)
    return path
