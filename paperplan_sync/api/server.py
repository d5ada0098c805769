"""`paperplan-sync api`: ``GET /api`` answers "Hello world!" while the product is healthy (as the old app
did for the ops team) or 503 with the reason; ``POST /airtable/webhook`` takes Airtable's pings.

A ping carries only the base and webhook ids. Its ``X-Airtable-Content-MAC`` is checked against the
secret of the webhook it names before anything else: a bad one gets 401 and nothing is read or noted. A good one is
noted in the shared state; the scheduler's next tick lists the payloads. The standard library's server
is enough for a few requests a minute and keeps web frameworks out of a production install.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from paperplan_sync.control_plane.changes import WEBHOOK_PATH, ChangeWatcher, pinged_webhook, verify_ping

log = logging.getLogger(__name__)

MAX_PING_BYTES = 64 * 1024  # a ping is ~150 bytes
HEALTH_TTL_S = 10.0  # a load balancer probing every second must not turn into GraphQL load


class CachedHealth:
    """``check()`` -> list of problems (empty when healthy), cached for a few seconds."""

    def __init__(self, check: Callable[[], list[str]], ttl_s: float = HEALTH_TTL_S):
        self.check, self.ttl_s = check, ttl_s
        self._value: tuple[float, list[str]] | None = None
        self._lock = threading.Lock()

    def problems(self) -> list[str]:
        with self._lock:
            if self._value is None or time.monotonic() - self._value[0] > self.ttl_s:
                self._value = (time.monotonic(), self.check())
            return self._value[1]


def dagster_problems(webserver_url: str) -> Callable[[], list[str]]:
    from paperplan_sync.ops.health import check_dagster

    return lambda: check_dagster(webserver_url).problems


def build_server(host: str, port: int, *, watcher: ChangeWatcher, health: CachedHealth) -> ThreadingHTTPServer:
    return ApiServer((host, port), watcher=watcher, health=health)


def health_answer(problems: list[str]) -> tuple[HTTPStatus, str]:
    """The public health page: "Hello world!", or 503 and why."""
    if problems:
        return HTTPStatus.SERVICE_UNAVAILABLE, "Sync application unhealthy: " + "; ".join(problems)
    return HTTPStatus.OK, "Hello world!"


class ApiServer(ThreadingHTTPServer):
    """The HTTP server, holding what its handlers answer from."""

    def __init__(self, address: tuple[str, int], *, watcher: ChangeWatcher, health: CachedHealth):
        super().__init__(address, ApiHandler)
        self.watcher, self.health = watcher, health


class ApiHandler(BaseHTTPRequestHandler):
    server: ApiServer
    server_version = "paperplan-sync"

    def do_GET(self) -> None:  # noqa: N802 - the http.server API
        if self.path.split("?")[0].rstrip("/") != "/api":
            return self._answer(HTTPStatus.NOT_FOUND, "Not found")
        self._answer(*health_answer(self.server.health.problems()))

    def do_POST(self) -> None:  # noqa: N802
        if self.path.split("?")[0] != WEBHOOK_PATH:
            return self._answer(HTTPStatus.NOT_FOUND, "Not found")
        self._answer(*self._ping())

    def _ping(self) -> tuple[HTTPStatus, str]:
        """An Airtable webhook ping, signed with its webhook's own secret, noted for the scheduler."""
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_PING_BYTES:
            return HTTPStatus.REQUEST_ENTITY_TOO_LARGE, "Too large"
        body = self.rfile.read(length)
        watcher = self.server.watcher
        webhook_id = pinged_webhook(body)  # each webhook signs with its own secret
        if not verify_ping(body, self.headers.get("X-Airtable-Content-MAC"), watcher.secret_of(webhook_id)):
            log.warning("Rejected a webhook ping with a bad or missing MAC from %s", self.client_address[0])
            return HTTPStatus.UNAUTHORIZED, "Bad MAC"
        watcher.note_ping(webhook_id)
        return HTTPStatus.OK, ""

    def _answer(self, status: HTTPStatus, text: str) -> None:
        data = text.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args) -> None:  # noqa: A002 - http.server's signature
        log.info("%s %s", self.client_address[0], format % args)
