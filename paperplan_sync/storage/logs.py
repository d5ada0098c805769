"""The full history of the product's Logs records. Airtable's *Logs* table keeps only the last N days
(every Airtable plan caps records per base); MongoDB keeps everything."""

from __future__ import annotations

from datetime import datetime

from pymongo.database import Database

from paperplan_sync.storage.common import ensure_index, utcnow

LOGS = "logs"


def ensure_indexes(db: Database) -> None:
    ensure_index(db[LOGS], [("at", 1)], "at")


def record(db: Database, fields: dict) -> None:
    db[LOGS].insert_one({"at": utcnow(), "fields": fields})


def any_between(db: Database, start: datetime, end: datetime) -> bool:
    """Did the product write a Logs record in [start, end)? (Then Airtable holds one to prune.)"""
    return db[LOGS].find_one({"at": {"$gte": start, "$lt": end}}, projection={"_id": 1}) is not None
