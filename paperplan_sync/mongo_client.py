"""One cached ``MongoClient`` per process and URI, for every module that talks to MongoDB.

A top-level helper (below ``sources`` and ``storage``) so that ``shared_state`` reaches MongoDB without
importing ``storage``: ``storage.mongo`` builds its resource on these clients. ``MongoClient`` is
thread-safe and pools connections, but is not fork-safe, hence one per process.
"""

from __future__ import annotations

import os
import threading
from datetime import UTC
from typing import Any

from pymongo import MongoClient

DEFAULT_DATABASE = "paperplan_sync"
APP_NAME = "paperplan-sync"

# Fail fast when the server is unreachable, but never cut off a legitimately long server-side operation
# (e.g. publishing a staged load of a few hundred thousand rows).
CLIENT_OPTIONS: dict[str, Any] = {
    "appname": APP_NAME,
    "serverSelectionTimeoutMS": 15_000,
    "connectTimeoutMS": 10_000,
    "socketTimeoutMS": 300_000,
    "retryWrites": True,
    "retryReads": True,
    "tz_aware": True,  # datetimes come back as tz-aware UTC, like the ones we write
    "tzinfo": UTC,
}

_clients: dict[tuple[int, str], MongoClient] = {}
_lock = threading.Lock()


def get_client(uri: str) -> MongoClient:
    """The client of this process for ``uri``, created at first use."""
    key = (os.getpid(), uri)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = MongoClient(uri, **CLIENT_OPTIONS)
        return client


def close_clients() -> list[str]:
    """Close this process's cached clients (tests, shutdown); returns their URIs."""
    closed = []
    with _lock:
        for pid, uri in list(_clients):
            if pid == os.getpid():
                _clients.pop((pid, uri)).close()
                closed.append(uri)
    return closed
