"""When did somebody change the SYNC base? Airtable webhooks instead of re-reading tables every minute.

One webhook watches the whole base for changes made by people, not by the API (so the product's own writes
never wake it up). Its pings reach the `api` service (``/airtable/webhook``), which notes them in the shared
state; the scheduler's next tick lists the new payloads (one call) and learns which tables changed. Modes:
``webhook`` (pings, plus a safety read every 30 minutes) or ``poll`` (no public URL: a read every 2
minutes). A webhook lives 7 days; it is refreshed a day early.

Design notes: docs/design/airtable-quota.md.
"""

from __future__ import annotations

import base64
import hmac
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import requests

from paperplan_sync import settings
from paperplan_sync.control_plane.airtable import AirtableResource

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/airtable/webhook"
# Every source but "publicApi": the product's own writes must not ping it.
PEOPLE_SOURCES = ["client", "formSubmission", "formPageSubmission", "automation", "sync", "anonymousUser"]
SPECIFICATION = {"options": {"filters": {"dataTypes": ["tableData"], "fromSources": PEOPLE_SOURCES}}}
REFRESH_BEFORE = timedelta(days=1)
RETRY_UNUSABLE = timedelta(days=1)  # a refused webhook (e.g. no webhook:manage scope) is tried again daily
MONTH_S = 30 * 24 * 3600

Mode = Literal["webhook", "poll"]


@dataclass(frozen=True)
class ChangeSettings:
    mode: Mode = "poll"
    public_url: str = ""  # where Airtable reaches the api service, e.g. https://sync.example.com
    safety_poll_s: int = 30 * 60
    poll_s: int = 2 * 60

    @property
    def notification_url(self) -> str | None:
        return self.public_url.rstrip("/") + WEBHOOK_PATH if self.mode == "webhook" and self.public_url else None

    @property
    def read_every_s(self) -> int:
        return self.safety_poll_s if self.notification_url else self.poll_s

    def monthly_calls(self) -> int:
        """What change detection costs a month when nothing changes (one call per payload read)."""
        return MONTH_S // self.read_every_s + 5  # 5: webhook refreshes (one every 6 days)


def change_settings() -> ChangeSettings:
    """From the environment: ``PAPERPLAN_CHANGE_DETECTION`` is ``webhook`` (pings to PAPERPLAN_PUBLIC_URL; the
    default when it is set) or ``poll`` (no public URL: the webhook's payloads are listed every 2 minutes)."""
    public_url = settings.value(settings.PUBLIC_URL)
    mode = settings.value(settings.CHANGE_DETECTION) or ("webhook" if public_url else "poll")
    if mode not in ("webhook", "poll"):
        raise ValueError(f"{settings.CHANGE_DETECTION} must be webhook or poll, not {mode!r}")
    return ChangeSettings(
        mode=mode,  # type: ignore[arg-type]
        public_url=public_url,
        safety_poll_s=settings.SAFETY_POLL_S,
        poll_s=settings.CHANGE_POLL_S,
    )


@dataclass(frozen=True)
class Changes:
    tables: frozenset[str]  # names of the tables people changed
    reason: str  # "ping", "safety poll", "poll", "webhook created"
    full_read: bool = False  # read the configuration tables whatever `tables` says


def verify_ping(body: bytes, header: str | None, mac_secret_base64: str) -> bool:
    """Airtable signs each ping: ``hmac-sha256=<hex HMAC-SHA256 of the raw body>`` keyed by the secret."""
    if not header or not mac_secret_base64:
        return False
    expected = "hmac-sha256=" + hmac.new(base64.b64decode(mac_secret_base64), body, "sha256").hexdigest()
    return hmac.compare_digest(expected, header)


class ChangeWatcher:
    """The webhook's life (create, refresh, cursor) and the decision when to read Airtable, in the shared
    state so the api service, the scheduler and any restarted process agree."""

    def __init__(self, airtable: AirtableResource, settings: ChangeSettings):
        self.airtable, self.settings = airtable, settings
        self.key = f"airtable-webhook-{airtable.base_id}"

    @property
    def _url(self) -> str:
        return str(self.airtable.api.build_url("bases", self.airtable.base_id, "webhooks"))

    def state(self) -> dict:
        return self.airtable.shared_state.read(self.key)

    def note_ping(self, now: datetime | None = None) -> None:
        moment = (now or datetime.now(UTC)).timestamp()
        self.airtable.shared_state.update(self.key, lambda doc: {**doc, "pinged_at": moment})

    # -- the webhook ----------------------------------------------------------------------------
    def ensure_webhook(self, now: datetime) -> bool:
        """Create the webhook when there is none (or it expired, or the URL changed); refresh it a day
        before it expires. Returns True when a new one was created (changes before it were not recorded)."""
        doc = self.state()
        expires = doc.get("expires_at", 0.0)
        if (
            doc.get("id")
            and doc.get("notification_url") == self.settings.notification_url
            and expires > now.timestamp()
        ):
            if expires - now.timestamp() < REFRESH_BEFORE.total_seconds():
                answer = self.airtable.api.request("POST", f"{self._url}/{doc['id']}/refresh")
                self._store(expires_at=_timestamp(answer.get("expirationTime"), now))
            return False
        if doc.get("id"):  # expired or pointing elsewhere: replace it, never leave two behind
            try:
                self.airtable.api.request("DELETE", f"{self._url}/{doc['id']}")
            except Exception as exc:  # already gone (expired webhooks are deleted by Airtable)
                log.info("Old webhook %s not deleted: %s", doc["id"], type(exc).__name__)
        body = {"specification": SPECIFICATION}
        if self.settings.notification_url:
            body["notificationUrl"] = self.settings.notification_url
        created = self.airtable.api.request("POST", self._url, json=body)
        self.airtable.shared_state.update(
            self.key,
            lambda old: {
                "id": created["id"],
                "mac_secret": created["macSecretBase64"],
                "cursor": 1,
                "expires_at": _timestamp(created.get("expirationTime"), now),
                "notification_url": self.settings.notification_url,
                "read_at": now.timestamp(),
                "tables": old.get("tables", {}),
            },
        )
        return True

    def _store(self, **fields) -> None:
        self.airtable.shared_state.update(self.key, lambda doc: {**doc, **fields})

    def mark_config_read(self, *, fresh: bool) -> None:
        """After the configuration tables were read: ``fresh`` False (Airtable failed, the cache served)
        keeps the change pending, so the next tick reads them again."""
        self._store(config_stale=not fresh)

    # -- when to read ---------------------------------------------------------------------------
    def due(self, now: datetime, doc: dict | None = None) -> str | None:
        doc = self.state() if doc is None else doc
        if doc.get("pinged_at", 0.0) > doc.get("read_at", 0.0):
            return "ping"
        if now.timestamp() - doc.get("read_at", 0.0) >= self.settings.read_every_s:
            return "safety poll" if self.settings.notification_url else "poll"
        return None

    def poll(self, now: datetime) -> Changes | None:
        """What people changed since the last read, when a read is due; None when nothing is due.

        ``full_read`` asks for the configuration tables whatever the payloads say: a new webhook (changes
        before it were not recorded), a change whose tables could not be read last time, or no webhook at
        all (Airtable refused it: the tables are read on the polling interval, and the webhook is asked for
        again once a day, not at every tick)."""
        doc = self.state()
        stale = bool(doc.get("config_stale"))
        if doc.get("unusable_until", 0.0) > now.timestamp():
            return self._without_webhook(now, doc, stale)
        try:
            created = self.ensure_webhook(now)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status not in (400, 401, 403, 404, 422):
                raise
            reason = f"Airtable refused the webhook ({status}): {exc.response.text[:200]}"
            log.warning("%s; reading the tables every %d min instead", reason, self.settings.read_every_s // 60)
            self._store(unusable_until=(now + RETRY_UNUSABLE).timestamp(), unusable_reason=reason)
            return self._without_webhook(now, {**doc, "unusable_reason": reason}, stale=True)
        if created:
            return Changes(frozenset(), "webhook created", full_read=True)
        reason = self.due(now, doc)
        if reason is None:
            return Changes(frozenset(), "retry of an unread change", full_read=True) if stale else None
        return Changes(frozenset(self._read_payloads(now, doc)), reason, full_read=stale)

    def _without_webhook(self, now: datetime, doc: dict, stale: bool) -> Changes | None:
        reason = self.due(now, doc)
        if reason is None and not stale:
            return None
        self._store(read_at=now.timestamp())
        return Changes(
            frozenset(), f"{reason or 'retry'} (no webhook: {doc.get('unusable_reason', '')})", full_read=True
        )

    def _read_payloads(self, now: datetime, doc: dict) -> set[str]:
        cursor, table_ids = doc.get("cursor", 1), set()
        started = now.timestamp()
        while True:
            page = self.airtable.api.request("GET", f"{self._url}/{doc['id']}/payloads", params={"cursor": cursor})
            for payload in page.get("payloads", []):
                table_ids.update(payload.get("changedTablesById", {}))
            cursor = page.get("cursor", cursor)
            if not page.get("mightHaveMore"):
                break
        names = self._table_names(table_ids)
        self._store(cursor=cursor, read_at=started)
        return names

    def _table_names(self, table_ids: set[str]) -> set[str]:
        known = self.state().get("tables", {})
        if table_ids - set(known):  # a table we have not seen: one schema read maps ids to names
            schema = self.airtable.api.base(self.airtable.base_id).schema(force=True)
            known = {t.id: t.name for t in schema.tables}
            self._store(tables=known)
        return {known.get(t, t) for t in table_ids}


def _timestamp(value: str | None, now: datetime) -> float:
    if not value:
        return (now + timedelta(days=7)).timestamp()
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
