"""The MongoDB resource: one cached ``MongoClient`` per process and URI, indexes ensured at first use.

Production sets ``MONGODB_URI`` to a real MongoDB replica set (e.g. Atlas); tests and local development
point it at the SecantusDB stand-in (``paperplan_local.mongo``). Nothing here depends on which.
"""

from __future__ import annotations

import logging
import os
import threading
from datetime import UTC

import dagster as dg
from pydantic import Field
from pymongo import MongoClient
from pymongo.database import Database

from paperplan_sync.storage import datapoints, loads, logs, outbox

log = logging.getLogger(__name__)

DEFAULT_DATABASE = "paperplan_sync"
APP_NAME = "paperplan-sync"

# Fail fast when the server is unreachable, but never cut off a legitimately long server-side operation
# (e.g. publishing a staged load of a few hundred thousand rows).
CLIENT_OPTIONS = {
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
_indexed: set[tuple[int, str, str]] = set()
_lock = threading.Lock()


def get_client(uri: str) -> MongoClient:
    """One client per (process, uri): MongoClient is thread-safe and pools connections, but is not fork-safe."""
    key = (os.getpid(), uri)
    with _lock:
        client = _clients.get(key)
        if client is None:
            client = _clients[key] = MongoClient(uri, **CLIENT_OPTIONS)
        return client


def close_clients() -> None:
    """Close this process's cached clients (tests, shutdown)."""
    with _lock:
        for (pid, uri), client in list(_clients.items()):
            if pid == os.getpid():
                client.close()
                del _clients[(pid, uri)]
                _indexed.difference_update({k for k in _indexed if k[:2] == (pid, uri)})


def ensure_indexes(db: Database) -> None:
    """Every index on the fixed collections. Idempotent: missing indexes are created, existing left alone."""
    loads.ensure_indexes(db)
    datapoints.ensure_indexes(db)
    outbox.ensure_indexes(db)
    logs.ensure_indexes(db)


class MongoResource(dg.ConfigurableResource):
    """MongoDB for report rows, load metadata, datapoints and the Airtable outbox.

    Production builds it in resources.py (``MONGODB_URI`` read at run time); tests pass explicit values.
    """

    uri: str = Field(description="MongoDB connection string (MONGODB_URI); a replica set for atomic loads.")
    database: str = Field(default=DEFAULT_DATABASE, description="Database name (MONGODB_DATABASE).")

    @property
    def client(self) -> MongoClient:
        return get_client(self.uri)

    def db(self) -> Database:
        """The database, with the fixed collections' indexes ensured once per process."""
        db = self.client[self.database]
        key = (os.getpid(), self.uri, self.database)
        if key not in _indexed:
            ensure_indexes(db)
            with _lock:
                _indexed.add(key)
        return db

    def ping(self) -> None:
        self.client.admin.command("ping")
