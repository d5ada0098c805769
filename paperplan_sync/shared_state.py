"""Small documents every process of the product shares: the Airtable limiter and the month's call count,
the webhook's cursor and secret, the last good configuration.

``MongoState`` keeps them in MongoDB, which every deployment already has, so processes on different
machines (Docker or K8s run launchers) share one limiter and one configuration. ``FileState`` keeps them
in ``flock``ed files under PAPERPLAN_STATE_DIR: a fallback for a single machine only, because file locks
are not shared between machines.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from pymongo.collection import Collection
from pymongo.errors import DuplicateKeyError

from paperplan_sync.mongo_client import DEFAULT_DATABASE, get_client
from paperplan_sync.settings import state_dir

STATE_COLLECTION = "paperplan_state"
Change = Callable[[dict], dict | None]  # gets a copy of the document; returns the new one, or None to keep it


class SharedState(Protocol):
    def read(self, key: str) -> dict: ...

    def update(self, key: str, change: Change) -> dict:
        """Atomically apply ``change`` to the document ``key`` ({} when absent); returns what is stored now."""
        ...


class FileState:
    """One JSON file per key, changed under an exclusive ``flock``. Single machine only."""

    def __init__(self, directory: Path):
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.directory / (re.sub(r"[^A-Za-z0-9_.-]", "_", key) + ".json")

    def read(self, key: str) -> dict:
        try:
            return json.loads(self._path(key).read_text(encoding="utf-8") or "{}")
        except (OSError, ValueError):
            return {}

    def update(self, key: str, change: Change) -> dict:
        fd = os.open(self._path(key), os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 1 << 20, 0)
            try:
                current = json.loads(raw or b"{}")
            except ValueError:  # a torn file from a crash mid-write: start over
                current = {}
            new = change(dict(current))
            if new is None:
                return current
            data = json.dumps(new).encode()
            os.pwrite(fd, data, 0)
            os.ftruncate(fd, len(data))
            return new
        finally:
            os.close(fd)  # closing releases the lock


class MongoState:
    """One document per key; changes are compare-and-set on a version number, retried on a race."""

    def __init__(self, collection: Collection):
        self.collection = collection

    def read(self, key: str) -> dict:
        doc = self.collection.find_one({"_id": key}) or {}
        return {k: v for k, v in doc.items() if k not in ("_id", "_v")}

    def update(self, key: str, change: Change) -> dict:
        while True:
            doc = self.collection.find_one({"_id": key})
            current = {k: v for k, v in (doc or {}).items() if k not in ("_id", "_v")}
            new = change(dict(current))
            if new is None:
                return current
            if doc is None:
                try:
                    self.collection.insert_one({"_id": key, "_v": 1, **new})
                    return new
                except DuplicateKeyError:
                    continue
            replaced = self.collection.replace_one({"_id": key, "_v": doc["_v"]}, {"_v": doc["_v"] + 1, **new})
            if replaced.matched_count:
                return new


def shared_state(mongodb_uri: str = "", database: str = "") -> SharedState:
    """MongoDB when a URI is given (every deployment), else files under the state directory."""
    if mongodb_uri:
        return MongoState(get_client(mongodb_uri)[database or DEFAULT_DATABASE][STATE_COLLECTION])
    return FileState(state_dir())
