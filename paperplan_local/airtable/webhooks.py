"""Airtable webhooks: create / list / refresh / delete / enable notifications, payloads with cursors, expiry,
and MAC-signed notification pings sent from a background thread (never inside an API request).

Wire details from Airtable's Web API docs: at most 10 webhooks per base; a webhook expires 7 days after its
creation or last refresh (listing payloads extends it too) and then stops generating payloads and pings; an
expired webhook and its payloads stay readable 7 more days; payloads are kept 1 week; at most 50 payloads a
page; a ping is {"base":{"id"},"webhook":{"id"},"timestamp"} with ``X-Airtable-Content-MAC: hmac-sha256=<hex>``;
a failed ping (no 200/204 within 25 s) is retried 13 times from 10 s with exponential backoff, then
notifications are disabled. Pings are coalesced: changes made while a ping is pending share it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import threading
import time
from datetime import datetime, timedelta
from typing import Any

import httpx

from paperplan_local.airtable.clock import Clock
from paperplan_local.airtable.errors import ApiError, invalid_request, not_found
from paperplan_local.airtable.model import new_id, utc_timestamp
from paperplan_local.airtable.store import Store
from paperplan_local.airtable.webhook_spec import PayloadBuilder, net_changes, validate_spec

MAX_WEBHOOKS_PER_BASE = 10
LIFETIME = timedelta(days=7)
READABLE_AFTER_EXPIRY = timedelta(days=7)
PAYLOAD_RETENTION = timedelta(days=7)
MAX_PAYLOADS_PER_PAGE = 50
PING_TIMEOUT_S = 25.0
PING_RETRIES = 13
FIRST_RETRY_S = 10.0

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS webhooks (id TEXT PRIMARY KEY, seq INTEGER NOT NULL, hook TEXT NOT NULL)",
    "CREATE TABLE IF NOT EXISTS webhook_payloads (webhook_id TEXT NOT NULL, number INTEGER NOT NULL,"
    " created TEXT NOT NULL, payload TEXT NOT NULL, PRIMARY KEY (webhook_id, number))",
    "CREATE TABLE IF NOT EXISTS base_counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)",
]


def ping_mac(secret_base64: str, body: bytes) -> str:
    """The X-Airtable-Content-MAC value for a ping body."""
    return "hmac-sha256=" + hmac.new(base64.b64decode(secret_base64), body, hashlib.sha256).hexdigest()


class Webhooks:
    def __init__(self, store: Store, base_id: str, clock: Clock, user: dict[str, str]):
        self.store, self.base_id, self.clock, self.user = store, base_id, clock, user
        for statement in SCHEMA:
            store.sql(statement)
        self._lock = threading.RLock()
        self.pings_enabled = True  # /_test/webhooks {"pings": false} loses every ping from then on
        self.ping_counts = {"sent": 0, "failed": 0, "dropped": 0}
        self._due: dict[str, tuple[datetime, int]] = {}  # webhook id -> (next attempt, retry number)
        self._wake = threading.Condition(self._lock)
        self._thread: threading.Thread | None = None
        store.listeners.append(self._on_write)
        clock.on_advance.append(self._poke)

    # --- state -----------------------------------------------------------------------------------------

    def _hooks(self) -> list[dict[str, Any]]:
        """Every webhook still visible; those past expiry + 7 days are deleted now."""
        now = self.clock.now()
        hooks = [json.loads(h) for (h,) in self.store.sql("SELECT hook FROM webhooks ORDER BY seq")]
        alive = []
        for hook in hooks:
            if now >= _parse(hook["expirationTime"]) + READABLE_AFTER_EXPIRY:
                self._delete(hook["id"])
            else:
                alive.append(hook)
        return alive

    def _hook(self, webhook_id: str) -> dict[str, Any]:
        for hook in self._hooks():
            if hook["id"] == webhook_id:
                return hook
        raise not_found()

    def _save(self, hook: dict[str, Any]) -> None:
        self.store.sql("UPDATE webhooks SET hook = ? WHERE id = ?", (json.dumps(hook), hook["id"]))

    def _delete(self, webhook_id: str) -> None:
        self.store.sql("DELETE FROM webhooks WHERE id = ?", (webhook_id,))
        self.store.sql("DELETE FROM webhook_payloads WHERE webhook_id = ?", (webhook_id,))
        self._due.pop(webhook_id, None)

    def _active(self, hook: dict[str, Any]) -> bool:
        return self.clock.now() < _parse(hook["expirationTime"])

    def _next_number(self, name: str) -> int:
        self.store.sql(
            "INSERT INTO base_counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1",
            (name,),
        )
        return self.store.sql("SELECT value FROM base_counters WHERE name = ?", (name,))[0][0]

    def reset(self) -> None:
        with self._lock:
            for statement in ("DELETE FROM webhooks", "DELETE FROM webhook_payloads", "DELETE FROM base_counters"):
                self.store.sql(statement)
            self._due.clear()
            self.pings_enabled = True
            self.ping_counts = dict.fromkeys(self.ping_counts, 0)

    # --- the API ---------------------------------------------------------------------------------------

    def create(self, body: dict[str, Any]) -> dict[str, Any]:
        if unknown := sorted(set(body) - {"notificationUrl", "specification"}):
            raise invalid_request(f"Unknown request body keys: {', '.join(unknown)}")
        url = body.get("notificationUrl")
        if url is not None and (not isinstance(url, str) or not url.startswith(("https://", "http://"))):
            raise invalid_request("notificationUrl must be an http(s) URL")
        spec = validate_spec(body.get("specification"), self.store)
        with self._lock:
            if len(self._hooks()) >= MAX_WEBHOOKS_PER_BASE:
                raise ApiError(
                    422,
                    "TOO_MANY_WEBHOOKS_IN_BASE",
                    f"A base can have at most {MAX_WEBHOOKS_PER_BASE} webhooks; delete one first",
                )
            now = self.clock.now()
            hook = {
                "id": new_id("ach"),
                "macSecretBase64": base64.b64encode(secrets.token_bytes(32)).decode(),
                "notificationUrl": url,
                "specification": spec,
                "areNotificationsEnabled": True,
                "cursorForNextPayload": 1,
                "createdTime": utc_timestamp(now),
                "expirationTime": utc_timestamp(now + LIFETIME),
                "lastNotificationResult": None,
                "lastSuccessfulNotificationTime": None,
            }
            seq = self._next_number("webhook_seq")
            self.store.sql("INSERT INTO webhooks (id, seq, hook) VALUES (?, ?, ?)", (hook["id"], seq, json.dumps(hook)))
        return {"id": hook["id"], "macSecretBase64": hook["macSecretBase64"], "expirationTime": hook["expirationTime"]}

    def list(self) -> dict[str, Any]:
        with self._lock:
            return {"webhooks": [self._public(h) for h in self._hooks()]}

    def _public(self, hook: dict[str, Any]) -> dict[str, Any]:
        keys = (
            "id",
            "areNotificationsEnabled",
            "cursorForNextPayload",
            "lastNotificationResult",
            "lastSuccessfulNotificationTime",
            "notificationUrl",
            "expirationTime",
            "specification",
        )
        return {**{k: hook[k] for k in keys}, "isHookEnabled": self._active(hook)}

    def delete(self, webhook_id: str) -> dict[str, Any]:
        with self._lock:
            self._delete(self._hook(webhook_id)["id"])
        return {}

    def refresh(self, webhook_id: str) -> dict[str, Any]:
        with self._lock:
            hook = self._extend(self._hook(webhook_id))
        return {"expirationTime": hook["expirationTime"]}

    def _extend(self, hook: dict[str, Any]) -> dict[str, Any]:
        if not self._active(hook):
            raise invalid_request(
                "This webhook has expired and is disabled; it cannot be refreshed. Create a new webhook."
            )
        hook["expirationTime"] = utc_timestamp(self.clock.now() + LIFETIME)
        self._save(hook)
        return hook

    def enable_notifications(self, webhook_id: str, body: dict[str, Any]) -> dict[str, Any]:
        if set(body) != {"enable"} or not isinstance(body["enable"], bool):
            raise invalid_request('The request body must be {"enable": true} or {"enable": false}')
        with self._lock:
            hook = self._hook(webhook_id)
            hook["areNotificationsEnabled"] = body["enable"]
            if not body["enable"]:
                self._due.pop(webhook_id, None)
            self._save(hook)
        return {}

    def payloads(self, webhook_id: str, cursor: str | None, limit: str | None) -> dict[str, Any]:
        start, size = (
            _positive(cursor, "cursor", 1),
            min(_positive(limit, "limit", MAX_PAYLOADS_PER_PAGE), MAX_PAYLOADS_PER_PAGE),
        )
        with self._lock:
            hook = self._hook(webhook_id)
            if self._active(hook):
                self._extend(hook)  # listing payloads extends an active webhook's life, as refresh does
            oldest = utc_timestamp(self.clock.now() - PAYLOAD_RETENTION)
            self.store.sql("DELETE FROM webhook_payloads WHERE webhook_id = ? AND created < ?", (webhook_id, oldest))
            rows = self.store.sql(
                "SELECT number, payload FROM webhook_payloads WHERE webhook_id = ? AND number >= ?"
                " ORDER BY number LIMIT ?",
                (webhook_id, start, size + 1),
            )
        page = rows[:size]
        next_cursor = page[-1][0] + 1 if page else start
        return {"cursor": next_cursor, "mightHaveMore": len(rows) > size, "payloads": [json.loads(p) for _, p in page]}

    # --- payload generation ------------------------------------------------------------------------

    def _on_write(self, source: str, changes: list[dict[str, Any]]) -> None:
        """A committed write: one payload per matching, active webhook; then a ping for each that notifies."""
        changes = net_changes(changes)
        with self._lock:
            hooks = [h for h in self._hooks() if self._active(h)]
            if not hooks:
                return
            number = self._next_number("base_transaction")
            timestamp = utc_timestamp(self.clock.now())
            for hook in hooks:
                body = PayloadBuilder(hook["specification"], self.store).changes_for(source, changes)
                if body is None:
                    continue
                payload = {
                    "timestamp": timestamp,
                    "baseTransactionNumber": number,
                    "payloadFormat": "v0",
                    "actionMetadata": {"source": source, "sourceMetadata": {"user": self.user}},
                    **body,
                }
                cursor = hook["cursorForNextPayload"]
                self.store.sql(
                    "INSERT INTO webhook_payloads (webhook_id, number, created, payload) VALUES (?, ?, ?, ?)",
                    (hook["id"], cursor, timestamp, json.dumps(payload)),
                )
                hook["cursorForNextPayload"] = cursor + 1
                self._save(hook)
                if hook["notificationUrl"] and hook["areNotificationsEnabled"]:
                    self._queue_ping(hook["id"])

    # --- pings ---------------------------------------------------------------------------------------

    def _queue_ping(self, webhook_id: str) -> None:
        if not self.pings_enabled:
            self.ping_counts["dropped"] += 1
            return
        if webhook_id not in self._due:  # a pending ping (or its retry) covers this change too
            self._due[webhook_id] = (self.clock.now(), 0)
        if self._thread is None:
            self._thread = threading.Thread(target=self._ping_loop, name="airtable-webhook-pings", daemon=True)
            self._thread.start()
        self._wake.notify_all()

    def _poke(self) -> None:
        with self._lock:
            self._wake.notify_all()

    def _ping_loop(self) -> None:
        while True:
            with self._lock:
                now = self.clock.now()
                ready = [(i, retry) for i, (due, retry) in self._due.items() if due <= now]
                if not ready:
                    if not self._due:  # nothing left to send: the next ping starts a new thread
                        self._thread = None
                        return
                    self._wake.wait(timeout=0.5)
                    continue
                for webhook_id, _ in ready:
                    del self._due[webhook_id]
            for webhook_id, retry in ready:
                self._ping(webhook_id, retry)

    def _ping(self, webhook_id: str, retry: int) -> None:
        with self._lock:
            try:
                hook = self._hook(webhook_id)
            except ApiError:
                return
            if not (hook["notificationUrl"] and hook["areNotificationsEnabled"] and self._active(hook)):
                return
            if not self.pings_enabled:
                self.ping_counts["dropped"] += 1
                return
        body = json.dumps(
            {"base": {"id": self.base_id}, "webhook": {"id": webhook_id}, "timestamp": utc_timestamp(self.clock.now())},
            separators=(",", ":"),
        ).encode()
        headers = {
            "Content-Type": "application/json",
            "X-Airtable-Content-MAC": ping_mac(hook["macSecretBase64"], body),
        }
        started = time.monotonic()
        error = None
        try:
            response = httpx.post(hook["notificationUrl"], content=body, headers=headers, timeout=PING_TIMEOUT_S)
            if response.status_code not in (200, 204):
                error = f"The notification URL answered HTTP {response.status_code}"
        except httpx.HTTPError as exc:
            error = f"Could not deliver the notification: {type(exc).__name__}"
        duration_ms = round((time.monotonic() - started) * 1000, 3)
        with self._lock:
            try:
                hook = self._hook(webhook_id)
            except ApiError:
                return
            now = self.clock.now()
            result: dict[str, Any] = {
                "success": error is None,
                "completionTimestamp": utc_timestamp(now),
                "durationMs": duration_ms,
                "retryNumber": retry,
            }
            if error is None:
                self.ping_counts["sent"] += 1
                hook["lastSuccessfulNotificationTime"] = result["completionTimestamp"]
            else:
                self.ping_counts["failed"] += 1
                will_retry = retry < PING_RETRIES
                result.update(willBeRetried=will_retry, error={"message": error})
                if will_retry:
                    self._due.setdefault(webhook_id, (now + timedelta(seconds=FIRST_RETRY_S * 2**retry), retry + 1))
                else:
                    hook["areNotificationsEnabled"] = False  # Airtable gives up after 13 retries
            hook["lastNotificationResult"] = result
            self._save(hook)

    def ping_state(self) -> dict[str, Any]:
        with self._lock:
            return {
                "pings": self.pings_enabled,
                **{f"pings_{k}": v for k, v in self.ping_counts.items()},
                "pending": sorted(self._due),
            }


def _parse(timestamp: str) -> datetime:
    return datetime.fromisoformat(timestamp.replace("Z", "+00:00"))


def _positive(value: str | None, name: str, default: int) -> int:
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise invalid_request(f"{name} must be a whole number of 1 or more")
    return number
