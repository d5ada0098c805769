"""The shared skeleton of an HTTP report source: one ``ApiSource`` base every API's resource extends.

It owns what every Amazon API needs the same way: the httpx client (made once, thread-safe), the Login with
Amazon token (one ``LwaTokenProvider``, cached process-wide), the one retry policy (``retry.py``) with a
hook for the source's limiter (``before_try``) and its 429 wait, one token refresh when the API refuses a
token, and the download of a document from a presigned URL, asking the API once for a fresh URL when the
first has expired. A source adds its own small pieces through the hooks below (its headers, its errors)
and implements ``ReportSource``. Every source has the same field names.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from paperplan_sync.retry import GaveUp, RetryPolicy, retry_after
from paperplan_sync.sources.base import ReadyReport, ReportSource, poll_report
from paperplan_sync.sources.lwa import DEFAULT_LWA_ENDPOINT, LwaCredentials, LwaRefusal, LwaTokenProvider

USER_AGENT = "paperplan-sync/0.1 (Language=Python)"
HTTP_CONNECT_TIMEOUT_S = 10.0
LWA_WHAT = "LWA token exchange"

Check = Callable[[], tuple[ReadyReport | None, str]]


class ApiSource(dg.ConfigurableResource, ReportSource):
    """Fields and plumbing shared by every API source. Secrets come through ``dagster.EnvVar`` (the registry
    builds the resource from the names the source declares) and never show in a repr or a message."""

    source_name: ClassVar[str] = ""
    token_margin_s: ClassVar[float] = 60.0  # refresh the LWA token this long before it expires
    poll_growth: ClassVar[float] = 2.0  # each status poll waits this much longer than the last
    poll_label: ClassVar[str] = "report"  # how a ReportTimeout names the report

    client_id: str = Field(repr=False, description="LWA client id.")
    client_secret: str = Field(repr=False, description="LWA client secret.")
    refresh_token: str = Field(repr=False, description="LWA refresh token.")
    endpoint: str = Field(description="The API's base URL.")
    lwa_endpoint: str = Field(default=DEFAULT_LWA_ENDPOINT, description="LWA token URL.")
    poll_timeout_s: float = Field(default=3600.0, description="Give up waiting for a report after this long.")
    poll_initial_s: float = Field(default=5.0, description="First wait between status polls.")
    poll_max_s: float = Field(default=60.0, description="Longest wait between status polls.")
    max_retries: int = Field(default=5, description="Retries of a call after 5xx / network errors.")
    max_throttle_retries: int = Field(default=5, description="Retries of a call answered 429.")
    retry_base_s: float = Field(default=1.0, description="First backoff after a 5xx / network error (doubles).")
    retry_max_s: float = Field(default=30.0, description="Cap of the backoff.")
    max_wait_s: float = Field(default=60.0, description="Cap of any single wait, the API's own 429 wait included.")
    chunk_rows: int = Field(default=5000, description="Rows per chunk yielded by report_rows.")
    http_timeout_s: float = Field(default=60.0, description="Read timeout of one HTTP call.")
    rate_limit_scale: float = Field(default=1.0, description="Multiplier of the API's rates (1.0 in production).")
    # Where every process of the product shares the API's limits (MongoDB; else a file under
    # PAPERPLAN_STATE_DIR, one machine only).
    state_mongodb_uri: str = Field(default="", repr=False, description="MongoDB URI of the shared state.")
    state_database: str = Field(default="", description="Database of the shared state.")

    _http: httpx.Client | None = PrivateAttr(default=None)
    _tokens: LwaTokenProvider | None = PrivateAttr(default=None)
    _init_lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    # --- what a source adds (hooks) -----------------------------------------------------------------------

    def auth_headers(self, token: str) -> dict[str, str]:
        """The headers of an authenticated call."""
        return {"Authorization": f"Bearer {token}"}

    def token_refused(self, resp: httpx.Response) -> bool:
        """The API refused the access token (expired or revoked early): worth one refresh."""
        return resp.status_code == 401

    def lwa_refused(self, refusal: LwaRefusal) -> Exception:
        return PermissionError(refusal.message)

    def lwa_unavailable(self, exc: GaveUp) -> Exception:
        return ConnectionError(f"{LWA_WHAT} failed after {exc.attempts} attempts: {exc.problem}")

    def unavailable(self, what: str, exc: GaveUp) -> Exception:
        """429 / 5xx / network errors outlasted the retries."""
        return ConnectionError(f"{what}: {exc.cause} after {exc.attempts} attempts")

    def download_failed(self, what: str, resp: httpx.Response, note: str = "") -> Exception:
        return ConnectionError(f"{what}: HTTP {resp.status_code}{note}")

    def download_broken(self, what: str, exc: httpx.TransportError) -> Exception:
        return ConnectionError(f"{what} broke off: {type(exc).__name__}")

    def access_note(self) -> str:
        """What `paperplan-sync doctor` adds after a good token exchange (e.g. the marketplaces)."""
        return ""

    # --- plumbing -----------------------------------------------------------------------------------------

    def __repr__(self) -> str:  # never the credentials
        return f"{type(self).__name__}(endpoint={self.endpoint!r})"

    __str__ = __repr__

    @property
    def log(self) -> logging.Logger:
        return dg.get_dagster_logger(self.source_name)

    @property
    def http(self) -> httpx.Client:
        with self._init_lock:  # downloads run in a worker thread: make the client exactly once
            return self._http_locked()

    def _http_locked(self) -> httpx.Client:
        if self._http is None:
            timeout = httpx.Timeout(self.http_timeout_s, connect=HTTP_CONNECT_TIMEOUT_S)
            # Only a User-Agent by default: a presigned download must go out without our credentials.
            self._http = httpx.Client(timeout=timeout, headers={"User-Agent": USER_AGENT}, follow_redirects=True)
        return self._http

    @property
    def tokens(self) -> LwaTokenProvider:
        with self._init_lock:
            if self._tokens is None:
                credentials = LwaCredentials(self.lwa_endpoint, self.client_id, self.client_secret, self.refresh_token)
                self._tokens = LwaTokenProvider(
                    credentials, post=self._lwa_post, refused=self.lwa_refused, margin_s=self.token_margin_s
                )
            return self._tokens

    @property
    def token_grants(self) -> int:
        """How many LWA exchanges this resource made (the token is cached process-wide in between)."""
        return self._tokens.grants if self._tokens else 0

    @property
    def policy(self) -> RetryPolicy:
        return RetryPolicy(
            attempts=max(0, self.max_retries) + 1,
            throttle_attempts=max(0, self.max_throttle_retries) + 1,
            wait=retry_after,
            backoff_s=self.retry_base_s,
            backoff_max_s=self.retry_max_s,
            max_wait_s=self.max_wait_s,
            log=self.log,
        )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        with self._init_lock:
            if self._http is not None:
                self._http.close()
            self._http = None

    def check_access(self) -> str:
        """Exchange the refresh token (for `paperplan-sync doctor`); raises the source's auth error."""
        self.tokens.token()
        note = self.access_note()
        return f"LWA token exchange OK at {self.lwa_endpoint}" + (f"; {note}" if note else "")

    def poll(self, check: Check, api_report_id: str) -> ReadyReport:
        """``check`` until the report is ready, with this resource's poll settings (see ``poll_report``)."""
        return poll_report(
            check,
            api_report_id,
            timeout_s=self.poll_timeout_s,
            initial_s=self.poll_initial_s,
            max_s=self.poll_max_s,
            growth=self.poll_growth,
            label=self.poll_label,
        )

    # --- HTTP ---------------------------------------------------------------------------------------------

    def send(
        self,
        attempt: Callable[[], httpx.Response],
        *,
        what: str,
        policy: RetryPolicy | None = None,
        on_throttle: Callable[[httpx.Response], None] | None = None,
        gave_up: Callable[[GaveUp], Exception] | None = None,
    ) -> httpx.Response:
        """``attempt()`` under the retry policy; any answer but 429 / 5xx comes back. When the retries are
        spent, ``gave_up`` (default: ``unavailable``) names the error. Never chains the httpx error: its
        text can carry a presigned URL."""
        try:
            return (policy or self.policy).send(attempt, what=what, on_throttle=on_throttle, discard=_close)
        except GaveUp as exc:
            error = gave_up(exc) if gave_up else self.unavailable(what, exc)
            if exc.response is not None:
                exc.response.close()
            raise error from None

    def call_api(
        self,
        method: str,
        url: str,
        *,
        what: str,
        headers: dict[str, str] | None = None,
        before_try: Callable[[], None] | None = None,
        **options: Any,
    ) -> httpx.Response:
        """An authenticated call. Every try takes a fresh look at the token and, first, its turn of the
        source's limiter (``before_try``); a refused token is refreshed once. ``options``: ``send``'s
        (policy, on_throttle, gave_up), the rest go to httpx (params, json, content)."""
        sending = {k: options.pop(k) for k in ("policy", "on_throttle", "gave_up") if k in options}
        sent: list[str] = []

        def attempt() -> httpx.Response:
            if before_try is not None:
                before_try()
            sent.append(self.tokens.token())
            all_headers = {**self.auth_headers(sent[-1]), **(headers or {})}
            return self.http.request(method, url, headers=all_headers, **options)

        resp = self.send(attempt, what=what, **sending)
        if not self.token_refused(resp):
            return resp
        self.tokens.invalidate(sent[-1])  # once: a second refusal is a real authorization problem
        self.log.info("%s: access token refused (HTTP %d); refreshing it once", what, resp.status_code)
        return self.send(attempt, what=what, **sending)

    def _lwa_post(self, url: str, form: dict[str, str]) -> httpx.Response:
        """LWA's final answer; 429 / 5xx / network errors are retried like any call."""
        http = self.http
        return self.send(
            lambda: http.post(url, data=form, headers={"Accept": "application/json"}),
            what=LWA_WHAT,
            gave_up=self.lwa_unavailable,
        )

    def _get_document(self, url: str, what: str) -> httpx.Response:
        http = self.http
        return self.send(lambda: http.send(http.build_request("GET", url), stream=True), what=what)

    @contextmanager
    def open_document(self, url: str, *, what: str, fresh_url: Callable[[], str | None]) -> Iterator[httpx.Response]:
        """The streamed 200 answer of a presigned URL, with no auth header. A refusal before any byte (the
        URL expired) asks ``fresh_url()`` once. A connection broken once bytes flowed is an error: a
        download cannot resume mid-way without risking duplicated or missing rows."""
        resp = self._get_document(url, what)
        if resp.status_code in (401, 403):
            resp.read()  # the refusal's body, for the message
            resp.close()
            url = fresh_url() or ""
            if not url:
                raise self.download_failed(what, resp, " and no fresh URL was issued")
            self.log.info("%s: URL refused (expired?); retrying with a freshly signed one", what)
            resp = self._get_document(url, what)
        try:
            if resp.status_code != 200:
                resp.read()
                raise self.download_failed(what, resp)
            yield resp
        except httpx.TransportError as exc:
            raise self.download_broken(what, exc) from None
        finally:
            resp.close()


def _close(resp: httpx.Response) -> None:
    resp.close()
