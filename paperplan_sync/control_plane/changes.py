"""When did somebody change the SYNC base? Airtable webhooks instead of re-reading tables every minute.

One webhook per watched table (``recordChangeScope``): the configuration tables from every source, the Web
API included (scripts, Zapier, Make, ``init-airtable``: an edit takes effect whoever made it), and Reports
from people only (a person unchecking Fail; the product's own API writes there must not wake it). The
product's writes to Logs and Overview reach no webhook at all. Modes:

- ``webhook``: Airtable pings the api service (``/airtable/webhook``), which notes the ping; the scheduler's
  next tick lists that webhook's payloads (one call). Every 30 minutes a safety check lists the base's
  webhooks (one call for all of them) and reads payloads only where a cursor moved: a lost ping is found.
- ``poll`` (no public URL for pings): the same one-call check every other 20 s scheduler tick (40 s), so an
  edit is in effect within a minute (about 65,000 calls a month: README, "Airtable calls").

Payload timestamps say when each record was edited (``Changes.edited_at``), so the scheduler can launch
late a fire that an edit made due before the product learned of it. A webhook lives 7 days; each is
refreshed a day before it expires, and one deleted or disabled in Airtable is created again.

Design notes: docs/design/airtable-quota.md.
"""

from __future__ import annotations

import base64
import hmac
import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import requests

from paperplan_sync import settings
from paperplan_sync.control_plane.airtable import AirtableResource
from paperplan_sync.control_plane.schema import CONFIG_TABLES, TABLE_REPORTS

log = logging.getLogger(__name__)

WEBHOOK_PATH = "/airtable/webhook"
# Every source but "publicApi": the product writes Reports through the API itself.
PEOPLE_SOURCES = ("client", "formSubmission", "formPageSubmission", "automation", "sync", "anonymousUser")
REFRESH_BEFORE = timedelta(days=1)
RETRY_UNUSABLE = timedelta(days=1)  # a refused webhook (e.g. no webhook:manage scope) is tried again daily
MONTH_S = 30 * 24 * 3600
REFRESHES_A_MONTH = 5  # one every 6 days, per webhook

Mode = Literal["webhook", "poll"]


@dataclass(frozen=True)
class Watch:
    """One webhook: a table, the kinds of change it reports, and from whom (None: every source)."""

    table: str
    data_types: tuple[str, ...] = ("tableData",)
    sources: tuple[str, ...] | None = None

    def specification(self, table_id: str) -> dict[str, Any]:
        filters: dict[str, Any] = {"dataTypes": list(self.data_types), "recordChangeScope": table_id}
        if self.sources is not None:
            filters["fromSources"] = list(self.sources)
        return {"options": {"filters": filters}}


# A renamed field of a configuration table matters as much as an edited cell (tableFields).
WATCHES = (
    *(Watch(table, ("tableData", "tableFields")) for table in CONFIG_TABLES),
    Watch(TABLE_REPORTS, sources=PEOPLE_SOURCES),
)


@dataclass(frozen=True)
class ChangeSettings:
    mode: Mode = "poll"
    public_url: str = ""  # where Airtable reaches the api service, e.g. https://sync.example.com
    safety_poll_s: int = 30 * 60
    poll_s: int = 35
    tick_s: int = 20  # the scheduler's tick: a check happens at the first tick at least poll_s after the last

    @property
    def notification_url(self) -> str | None:
        return self.public_url.rstrip("/") + WEBHOOK_PATH if self.mode == "webhook" and self.public_url else None

    @property
    def read_every_s(self) -> int:
        return self.safety_poll_s if self.notification_url else self.poll_s

    @property
    def check_every_s(self) -> int:
        """How often a check really happens: checks run at scheduler ticks (poll mode's 35 s: every other
        20 s tick, 40 s)."""
        return -(-self.read_every_s // self.tick_s) * self.tick_s if self.tick_s else self.read_every_s

    def monthly_calls(self) -> int:
        """What change detection costs a month when nothing changes: one listing of the webhooks per check,
        plus each webhook's refreshes."""
        return MONTH_S // self.check_every_s + REFRESHES_A_MONTH * len(WATCHES)


def change_settings() -> ChangeSettings:
    """From the environment: ``PAPERPLAN_CHANGE_DETECTION`` is ``webhook`` (pings to PAPERPLAN_PUBLIC_URL; the
    default when it is set) or ``poll`` (no public URL: the webhooks are checked about every 40 s)."""
    public_url = settings.value(settings.PUBLIC_URL)
    mode = settings.value(settings.CHANGE_DETECTION) or ("webhook" if public_url else "poll")
    if mode not in ("webhook", "poll"):
        raise ValueError(f"{settings.CHANGE_DETECTION} must be webhook or poll, not {mode!r}")
    return ChangeSettings(
        mode=mode,  # type: ignore[arg-type]
        public_url=public_url,
        safety_poll_s=settings.SAFETY_POLL_S,
        poll_s=settings.CHANGE_POLL_S,
        tick_s=settings.SCHEDULER_TICK_S,
    )


@dataclass(frozen=True)
class Changes:
    """What a check found. ``edited_at``: record id -> when it was last edited (epoch seconds, from the
    payloads); ``since``: the previous check, before which none of these changes happened."""

    tables: frozenset[str]  # names of the tables that changed
    reason: str  # "ping", "safety poll", "poll", "webhook created", ...
    full_read: bool = False  # read the configuration tables whatever `tables` says
    edited_at: Mapping[str, float] = field(default_factory=dict)
    since: float | None = None


def verify_ping(body: bytes, header: str | None, mac_secret_base64: str) -> bool:
    """Airtable signs each ping: ``hmac-sha256=<hex HMAC-SHA256 of the raw body>`` keyed by the secret."""
    if not header or not mac_secret_base64:
        return False
    expected = "hmac-sha256=" + hmac.new(base64.b64decode(mac_secret_base64), body, "sha256").hexdigest()
    return hmac.compare_digest(expected, header)


def pinged_webhook(body: bytes) -> str:
    """The webhook id a ping names ("" when the body is not a ping)."""
    try:
        hook = json.loads(body).get("webhook") or {}
        return str(hook.get("id") or "") if isinstance(hook, dict) else ""
    except (ValueError, AttributeError):
        return ""


class ChangeWatcher:
    """The webhooks' life (create, refresh, cursors) and the decision when to read Airtable, in the shared
    state so the api service, the scheduler and any restarted process agree."""

    def __init__(self, airtable: AirtableResource, settings: ChangeSettings):
        self.airtable, self.settings = airtable, settings
        self.key = f"airtable-webhooks-{airtable.base_id}"

    @property
    def _url(self) -> str:
        return str(self.airtable.api.build_url("bases", self.airtable.base_id, "webhooks"))

    def state(self) -> dict:
        return self.airtable.shared_state.read(self.key)

    def _store(self, **fields) -> None:
        self.airtable.shared_state.update(self.key, lambda doc: {**doc, **fields})

    def secret_of(self, webhook_id: str) -> str:
        """The MAC secret of one of our webhooks ("" for a webhook that is not ours)."""
        hooks = self.state().get("hooks", {}).values()
        return next((h["mac_secret"] for h in hooks if h["id"] == webhook_id), "")

    def note_ping(self, webhook_id: str, now: datetime | None = None) -> None:
        moment = (now or datetime.now(UTC)).timestamp()
        self.airtable.shared_state.update(
            self.key, lambda doc: {**doc, "pinged": {**doc.get("pinged", {}), webhook_id: moment}}
        )

    def mark_config_read(self, *, fresh: bool) -> None:
        """After the configuration tables were read: ``fresh`` False (Airtable failed, the cache served)
        keeps the change pending, so the next tick reads them again."""
        self._store(config_stale=not fresh)

    # -- the webhooks ---------------------------------------------------------------------------
    def ensure_webhooks(self, now: datetime) -> bool:
        """Create each watched table's webhook when it has none (or it expired, or the URL changed); refresh
        one a day before it expires. True when one was created (changes before it were not recorded)."""
        self._drop_legacy_webhook()
        hooks = dict(self.state().get("hooks", {}))
        table_ids: dict[str, str] | None = None
        created = False
        for watch in WATCHES:
            hook = hooks.get(watch.table)
            if hook and self._usable(hook, now):
                if hook["expires_at"] - now.timestamp() < REFRESH_BEFORE.total_seconds():
                    answer = self.airtable.api.request("POST", f"{self._url}/{hook['id']}/refresh")
                    hooks[watch.table] = {**hook, "expires_at": _timestamp(answer.get("expirationTime"), now)}
                continue
            if hook:  # expired or pointing elsewhere: replace it, never leave two behind
                self._delete(hook["id"])
            table_ids = table_ids if table_ids is not None else self._table_ids()
            if watch.table not in table_ids:  # the configuration read names the missing table
                log.warning("No table %r in the base: it is not watched", watch.table)
                continue
            hooks[watch.table] = self._create(watch, table_ids[watch.table], now)
            created = True
        self._store(hooks=hooks, **({"checked_at": now.timestamp()} if created else {}))
        return created

    def _usable(self, hook: dict, now: datetime) -> bool:
        return hook.get("notification_url") == self.settings.notification_url and hook["expires_at"] > now.timestamp()

    def _create(self, watch: Watch, table_id: str, now: datetime) -> dict:
        body: dict[str, Any] = {"specification": watch.specification(table_id)}
        if self.settings.notification_url:
            body["notificationUrl"] = self.settings.notification_url
        created = self.airtable.api.request("POST", self._url, json=body)
        return {
            "id": created["id"],
            "mac_secret": created["macSecretBase64"],
            "cursor": 1,
            "expires_at": _timestamp(created.get("expirationTime"), now),
            "notification_url": self.settings.notification_url,
        }

    def _delete(self, webhook_id: str) -> None:
        try:
            self.airtable.api.request("DELETE", f"{self._url}/{webhook_id}")
        except Exception as exc:  # already gone (expired webhooks are deleted by Airtable)
            log.info("Old webhook %s not deleted: %s", webhook_id, type(exc).__name__)

    def _drop_legacy_webhook(self) -> None:
        """Earlier versions kept one base-wide webhook (people only) under another key: delete it once."""
        legacy_key = f"airtable-webhook-{self.airtable.base_id}"
        legacy = self.airtable.shared_state.read(legacy_key)
        if legacy.get("id"):
            self._delete(legacy["id"])
            self.airtable.shared_state.update(legacy_key, lambda _: {})

    def _table_ids(self) -> dict[str, str]:
        schema = self.airtable.api.base(self.airtable.base_id).schema(force=True)
        return {t.name: t.id for t in schema.tables}

    # -- when to read ---------------------------------------------------------------------------
    def due(self, now: datetime, doc: dict | None = None) -> str | None:
        doc = self.state() if doc is None else doc
        if self._pinged(doc):
            return "ping"
        if now.timestamp() - doc.get("checked_at", 0.0) >= self.settings.read_every_s:
            return "safety poll" if self.settings.notification_url else "poll"
        return None

    def _pinged(self, doc: dict) -> list[str]:
        """Tables whose webhook pinged since its payloads were last read."""
        pinged, read = doc.get("pinged", {}), doc.get("read", {})
        return [t for t, h in doc.get("hooks", {}).items() if pinged.get(h["id"], 0.0) > read.get(h["id"], 0.0)]

    def poll(self, now: datetime) -> Changes | None:
        """What changed since the last read, when a read is due; None when nothing is due (no call).

        ``full_read`` asks for the configuration tables whatever the payloads say: a new webhook (changes
        before it were not recorded), a change whose tables could not be read last time, or no webhook at
        all (Airtable refused it: the tables are read on the polling interval, and the webhooks are asked
        for again once a day, not at every tick)."""
        doc = self.state()
        stale = bool(doc.get("config_stale"))
        if doc.get("unusable_until", 0.0) > now.timestamp():
            return self._without_webhook(now, doc, stale)
        try:
            created = self.ensure_webhooks(now)
        except requests.HTTPError as exc:
            status = exc.response.status_code if exc.response is not None else 0
            if status not in (400, 401, 403, 404, 422):
                raise
            body = exc.response.text[:200] if exc.response is not None else ""
            reason = f"Airtable refused the webhook ({status}): {body}"
            log.warning("%s; reading the tables every %d min instead", reason, self.settings.read_every_s // 60)
            self._store(unusable_until=(now + RETRY_UNUSABLE).timestamp(), unusable_reason=reason)
            return self._without_webhook(now, {**doc, "unusable_reason": reason}, stale=True)
        if created:
            return Changes(frozenset(), "webhook created", full_read=True, since=doc.get("checked_at"))
        doc = self.state()
        if pinged := self._pinged(doc):
            return self._read_payloads(now, doc, pinged, "ping", stale)
        if due := self.due(now, doc):
            return self._read_payloads(now, doc, self._moved(now, doc), due, stale, checked=True)
        return Changes(frozenset(), "retry of an unread change", full_read=True) if stale else None

    def _without_webhook(self, now: datetime, doc: dict, stale: bool) -> Changes | None:
        reason = self.due(now, doc)
        if reason is None and not stale:
            return None
        self._store(checked_at=now.timestamp())
        return Changes(
            frozenset(),
            f"{reason or 'retry'} (no webhook: {doc.get('unusable_reason', '')})",
            full_read=True,
            since=doc.get("checked_at"),
        )

    def _moved(self, now: datetime, doc: dict) -> list[str]:
        """One call for every webhook: the tables whose webhook has payloads we have not read. A webhook that
        is gone or disabled is forgotten, so the next tick creates it again."""
        listed = {h["id"]: h for h in self.airtable.api.request("GET", self._url).get("webhooks", [])}
        moved, hooks = [], dict(doc.get("hooks", {}))
        for table, hook in doc.get("hooks", {}).items():
            found = listed.get(hook["id"])
            if found is None or not found.get("isHookEnabled", True):
                log.warning("The webhook of %r is gone or disabled in Airtable: creating it again", table)
                del hooks[table]
            elif found.get("cursorForNextPayload", 1) > hook.get("cursor", 1):
                moved.append(table)
        if hooks != doc.get("hooks", {}):
            self._store(hooks=hooks, config_stale=True)  # the gap before the new webhook: read everything
        return moved

    def _read_payloads(
        self, now: datetime, doc: dict, tables: list[str], reason: str, stale: bool, checked: bool = False
    ) -> Changes:
        changed, edited_at = set[str](), dict[str, float]()
        hooks, read = dict(doc.get("hooks", {})), dict(doc.get("read", {}))
        for table in tables:
            hook = hooks.get(table)
            if hook is None:
                continue
            cursor, edits = self._payloads_of(hook)
            if edits is not None:
                changed.add(table)
                for record_id, moment in edits.items():
                    edited_at[record_id] = max(moment, edited_at.get(record_id, 0.0))
            hooks[table], read[hook["id"]] = {**hook, "cursor": cursor}, now.timestamp()
        self.airtable.shared_state.update(
            self.key,
            lambda old: {
                **old,
                "hooks": {**old.get("hooks", {}), **{t: hooks[t] for t in tables if t in hooks}},
                "read": {**old.get("read", {}), **read},
                **({"checked_at": now.timestamp()} if checked else {}),
            },
        )
        stale = stale or bool(self.state().get("config_stale"))
        return Changes(frozenset(changed), reason, full_read=stale, edited_at=edited_at, since=doc.get("checked_at"))

    def _payloads_of(self, hook: dict) -> tuple[int, dict[str, float] | None]:
        """(next cursor, record id -> last edit time) of a webhook's unread payloads; None when it had none."""
        cursor, edits, seen = hook.get("cursor", 1), dict[str, float](), False
        while True:
            page = self.airtable.api.request("GET", f"{self._url}/{hook['id']}/payloads", params={"cursor": cursor})
            for payload in page.get("payloads", []):
                seen = True
                moment = _timestamp(payload.get("timestamp"), datetime.now(UTC), default=timedelta(0))
                for record_id in _records_in(payload):
                    edits[record_id] = max(moment, edits.get(record_id, 0.0))
            cursor = page.get("cursor", cursor)
            if not page.get("mightHaveMore"):
                return cursor, edits if seen else None


def _records_in(payload: dict) -> set[str]:
    """Every record a payload created, changed or destroyed."""
    out: set[str] = set()
    for table in payload.get("changedTablesById", {}).values():
        out.update(table.get("createdRecordsById", {}), table.get("changedRecordsById", {}))
        out.update(table.get("destroyedRecordIds", []))
    return out


def _timestamp(value: str | None, now: datetime, default: timedelta = timedelta(days=7)) -> float:
    """An Airtable timestamp as epoch seconds; ``now + default`` when there is none."""
    if not value:
        return (now + default).timestamp()
    return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
