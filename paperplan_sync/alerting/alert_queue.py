"""Failure alerts that must not be lost: kept in MongoDB until Slack takes them.

``send(db, slack, text, blocks)`` stores the alert, then posts it. When Slack refuses or cannot be reached
(an outage, a revoked token) the alert stays pending and ``flush(db, slack)`` (the outbox sensor, every
minute) posts it later, backing off 15 s doubling up to 5 min: posted once, within minutes of Slack coming
back, however long it was away. Dagster's run failure sensor moves past a run whose alert raised, so without
this an alert sent while Slack is down was lost. Delivery is at least once: a crash between Slack's answer and
marking the alert sent posts it again.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import dagster as dg
from bson import ObjectId
from pymongo import ReturnDocument
from pymongo.database import Database

from paperplan_sync.alerting.slack import SlackError, SlackResource
from paperplan_sync.storage.common import ensure_index, utcnow

ALERTS = "slack_alerts"
PENDING, POSTING, SENT = "pending", "posting", "sent"
BACKOFF_BASE = timedelta(seconds=15)
BACKOFF_MAX = timedelta(minutes=5)  # Slack back after an hour: the alert follows within 5 minutes
CLAIM_TIMEOUT = timedelta(minutes=5)  # a claim this old belongs to a process that died while posting
SENT_TTL = timedelta(days=30)
FLUSH_LIMIT = 50


@dataclass
class FlushResult:
    sent: int = 0
    waiting: int = 0  # still pending after this flush (Slack refused, or not yet due)
    error: str = ""  # Slack's refusal that stopped this flush


def ensure_indexes(db: Database) -> None:
    ensure_index(db[ALERTS], [("status", 1), ("next_attempt_at", 1)], "status_due")
    ensure_index(db[ALERTS], [("sent_at", 1)], "sent_ttl", expireAfterSeconds=int(SENT_TTL.total_seconds()))


def send(db: Database, slack: SlackResource, text: str, blocks: list[dict[str, Any]] | None = None) -> bool:
    """Post now if Slack answers (True); else keep the alert for ``flush`` (False). Never raises SlackError."""
    ensure_indexes(db)
    now = utcnow()
    alert = {
        "_id": ObjectId(),
        "text": text,
        "blocks": blocks,
        "status": POSTING,  # claimed by this call: a concurrent flush leaves it alone
        "claimed_at": now,
        "attempts": 0,
        "last_error": None,
        "next_attempt_at": now,
        "created_at": now,
    }
    db[ALERTS].insert_one(alert)
    return _post(db, slack, alert, now) == ""


def flush(db: Database, slack: SlackResource, *, now: datetime | None = None) -> FlushResult:
    """Post the kept alerts that are due, oldest first; stops at Slack's first refusal (it is still away)."""
    now = now or utcnow()
    result = FlushResult()
    for _ in range(FLUSH_LIMIT):
        alert = _claim_next(db, now)
        if alert is None:
            break
        result.error = _post(db, slack, alert, now)
        if result.error:
            break
        result.sent += 1
    result.waiting = db[ALERTS].count_documents({"status": {"$ne": SENT}})
    return result


def backoff(attempts: int) -> timedelta:
    """15 s, 30 s, 1 min, 2 min, 4 min, then every 5 min."""
    return min(BACKOFF_BASE * 2 ** max(attempts - 1, 0), BACKOFF_MAX)


def _claim_next(db: Database, now: datetime) -> dict[str, Any] | None:
    due = {"status": PENDING, "next_attempt_at": {"$lte": now}}
    abandoned = {"status": POSTING, "claimed_at": {"$lt": now - CLAIM_TIMEOUT}}
    return db[ALERTS].find_one_and_update(
        {"$or": [due, abandoned]},
        {"$set": {"status": POSTING, "claimed_at": now}},
        sort=[("created_at", 1)],
        return_document=ReturnDocument.AFTER,
    )


def _post(db: Database, slack: SlackResource, alert: dict[str, Any], now: datetime) -> str:
    """Post one claimed alert; returns "" when Slack took it, else Slack's error (the alert is kept)."""
    try:
        slack.post(alert["text"], blocks=alert.get("blocks"))
    except SlackError as exc:
        attempts = alert.get("attempts", 0) + 1
        db[ALERTS].update_one(
            {"_id": alert["_id"]},
            {
                "$set": {
                    "status": PENDING,
                    "attempts": attempts,
                    "last_error": str(exc),
                    "next_attempt_at": now + backoff(attempts),
                }
            },
        )
        dg.get_dagster_logger().warning("Slack alert kept for a later try (attempt %d): %s", attempts, exc)
        return exc.error or "error"
    db[ALERTS].update_one({"_id": alert["_id"]}, {"$set": {"status": SENT, "sent_at": utcnow()}})
    return ""
