"""The MongoDB resource: the process's cached ``MongoClient`` (``paperplan_sync.mongo_client``), indexes ensured
at first use.

Production sets ``MONGODB_URI`` to a real MongoDB replica set (e.g. Atlas); tests and local development
point it at the SecantusDB stand-in (``paperplan_local.mongo``). Nothing here depends on which.
"""

from __future__ import annotations

import logging
import os
import threading

import dagster as dg
from pydantic import Field
from pymongo import MongoClient
from pymongo.database import Database

from paperplan_sync import mongo_client
from paperplan_sync.mongo_client import DEFAULT_DATABASE, get_client
from paperplan_sync.storage import datapoints, loads, logs, outbox

__all__ = ["DEFAULT_DATABASE", "MongoResource", "close_clients", "ensure_indexes", "get_client"]

log = logging.getLogger(__name__)

_indexed: set[tuple[int, str, str]] = set()
_lock = threading.Lock()


def close_clients() -> None:
    """Close this process's cached clients (tests, shutdown); their indexes are checked again at next use."""
    closed = mongo_client.close_clients()
    pid = os.getpid()
    with _lock:
        _indexed.difference_update({k for k in _indexed if k[0] == pid and k[1] in closed})


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
