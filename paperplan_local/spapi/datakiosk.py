"""Data Kiosk 2023-11-15 in the SP-API stand-in: createQuery, getQueries, getQuery, cancelQuery, getDocument
and the presigned JSONL download, behind the same envelope as the Reports operations (LWA token, usage-plan
buckets at the server's rate scale, injected 5xx / 429).

- createQuery validates the GraphQL (``datakiosk_queries.parse_query``; a refusal is a 400 with the
  ``errors`` array) and refuses a query while ``max_non_terminal`` queries are IN_QUEUE / IN_PROGRESS, or
  while the same query (and page) is. It answers 202 ``{"queryId"}``.
- A query goes IN_QUEUE -> IN_PROGRESS -> DONE (``dataDocumentId``; none when there is no data) or FATAL
  (``errorDocumentId``: a JSON error document) or CANCELLED (cancelQuery while non-terminal).
- A result longer than ``page_lines`` lines is paged: the query carries ``pagination.nextToken``; createQuery
  with the same query and that ``paginationToken`` gets the next page.
- Queries and documents are kept 30 days (the dataset's ``@resultRetention(duration: "P30D")``).
- ``POST /_test/datakiosk/faults`` ``{"fatal": n, "message": "..."}`` makes the next n queries FATAL;
  ``{"fatal": 0, "page_lines": n}`` pages results every n records (until ``/_test/reset``).
"""

from __future__ import annotations

import base64
import gzip
import hashlib
import itertools
import json
import math
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from datetime import time as dtime
from typing import Any
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from .datakiosk_queries import QueryRefused, parse_query, records

Handler = Callable[[Request], Awaitable[Response]]

API = "/dataKiosk/2023-11-15"
DOWNLOAD = "/datakiosk-documents"
RETENTION = timedelta(days=30)  # @resultRetention(duration: "P30D") on every field of the dataset
GET_QUERIES_DEFAULT_SINCE = timedelta(days=90)  # getQueries' createdSince default
# Amazon documents a limit on concurrent non-terminal queries "per selling partner and per GraphQL query"
# without a number; the stand-in allows this many (an assumption, see docs/design/datakiosk.md).
MAX_NON_TERMINAL = 3
PAGE_LINES = 200_000  # records per data document before the result is paged
STATUSES = ("CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE")
TERMINAL = frozenset({"CANCELLED", "DONE", "FATAL"})
DEFAULT_FATAL_MESSAGE = "The query could not be processed because of an internal error. Try again later."
_ids = itertools.count(1)


@dataclass
class Query:
    query_id: str
    text: str
    page_token: str | None
    created: datetime
    created_mono: float
    queue_s: float
    done_s: float
    final: str  # DONE | FATAL
    data_document_id: str | None = None
    error_document_id: str | None = None
    next_token: str | None = None
    cancelled: bool = False
    ready: bool = False  # its result is computed (in a worker thread: a two-year range takes seconds)

    def status(self, now_mono: float) -> str:
        if self.cancelled:
            return "CANCELLED"
        age = now_mono - self.created_mono
        if age < self.queue_s:
            return "IN_QUEUE"
        return "IN_PROGRESS" if age < self.done_s or not self.ready else self.final

    def to_json(self, now_mono: float) -> dict[str, Any]:
        status = self.status(now_mono)
        stamp = self.created.isoformat().replace("+00:00", "Z")
        out: dict[str, Any] = {"queryId": self.query_id, "query": self.text, "createdTime": stamp}
        out["processingStatus"] = status
        if status != "IN_QUEUE":
            out["processingStartTime"] = stamp
        if status in TERMINAL:
            out["processingEndTime"] = stamp
        if status == "DONE":
            out |= {"dataDocumentId": self.data_document_id} if self.data_document_id else {}
            out |= {"pagination": {"nextToken": self.next_token}} if self.next_token else {}
        if status == "FATAL" and self.error_document_id:
            out["errorDocumentId"] = self.error_document_id
        return out


@dataclass
class DataKioskState:
    queries: dict[str, Query] = field(default_factory=dict)
    documents: dict[str, tuple[datetime, bytes]] = field(default_factory=dict)  # id -> (created, gzip body)
    results: dict[str, list[bytes]] = field(default_factory=dict)  # paged results: key -> JSONL lines
    fatal: list[dict[str, Any]] = field(default_factory=list)
    max_non_terminal: int = MAX_NON_TERMINAL
    page_lines: int = PAGE_LINES


def state_of(st: Any) -> DataKioskState:
    """The Data Kiosk part of a ``ServerState`` (created on first use)."""
    if not hasattr(st, "datakiosk"):
        st.datakiosk = DataKioskState()
    return st.datakiosk


def reset(st: Any) -> None:
    st.datakiosk = DataKioskState()


def _error(status: int, code: str, message: str, details: str = "") -> JSONResponse:
    return JSONResponse({"errors": [{"code": code, "message": message, "details": details}]}, status)


def _invalid(message: str) -> JSONResponse:
    return _error(400, "InvalidInput", message)


def _not_found(what: str, ident: str) -> JSONResponse:
    return _error(404, "NotFound", f"The provided {what} was not found.", ident)


def _jsonl(rows: Any) -> list[bytes]:
    return [json.dumps(r, ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for r in rows]


def _page_token(st: Any, key: str, offset: int) -> str:
    raw = json.dumps({"k": key, "o": offset, "s": st.sign("dk-page", key, str(offset))[:16]})
    return base64.urlsafe_b64encode(raw.encode()).decode()


def _read_token(st: Any, token: str) -> tuple[str, int]:
    try:
        body = json.loads(base64.urlsafe_b64decode(token.encode()))
        key, offset, sig = str(body["k"]), int(body["o"]), body["s"]
    except (ValueError, KeyError, TypeError) as exc:
        raise QueryRefused("Invalid paginationToken.") from exc
    if sig != st.sign("dk-page", key, str(offset))[:16]:
        raise QueryRefused("Invalid paginationToken.")
    return key, offset


def _as_of(st: Any) -> datetime:
    """The server's "now" (end of its current day), as the Reports operations use it."""
    return datetime.combine(st.current_day(), dtime(23, 59, 59), tzinfo=UTC)


def _result_key(st: Any, text: str) -> str:
    return hashlib.sha256(f"{text}|{st.current_day()}".encode()).hexdigest()[:24]


def _check(st: Any, text: str, token: str | None) -> tuple[Any, int]:
    """What createQuery computes before answering: the validated selection (None for a next page, whose
    result exists already) and the offset of the page. Raises QueryRefused."""
    if token is None:
        return parse_query(text, st.current_day()), 0
    key, offset = _read_token(st, token)
    if key != _result_key(st, text) or key not in state_of(st).results:
        raise QueryRefused("The paginationToken does not belong to this query.")
    return None, offset


def _compute(st: Any, query: Query, selection: Any, offset: int, fatal: dict | None) -> None:
    """Worker thread: the query's result, then its outcome (revealed by its status once ready)."""
    dk, key = state_of(st), _result_key(st, query.text)
    if selection is not None and fatal is None:
        dk.results[key] = _jsonl(records(selection, st.seed, _as_of(st), st.account_opened))
    with st.lock:
        _finish(st, query, dk.results.get(key, []), key, offset, fatal)
        query.ready = True


def _busy(st: Any, text: str, token: str | None) -> str | None:
    """Why a new query may not start now (Data Kiosk keeps no backlog), or None."""
    dk, now = state_of(st), time.monotonic()
    running = [q for q in dk.queries.values() if q.status(now) not in TERMINAL]
    if any(q.text == text and q.page_token == token for q in running):
        return "An identical query is already in progress; wait for it to finish."
    if len(running) >= dk.max_non_terminal:
        return f"Too many queries in progress: at most {dk.max_non_terminal} may be IN_QUEUE or IN_PROGRESS."
    return None


def _new_query(st: Any, text: str, token: str | None) -> Query:
    delay = st.processing_delay_s
    query_id = str(70_000_000_000 + st.seed * 1_000_000 + next(_ids))
    return Query(query_id, text, token, datetime.now(UTC), time.monotonic(), delay * 0.4, delay, "DONE")


def _take_fatal(dk: DataKioskState) -> dict | None:
    if not dk.fatal:
        return None
    fault = dk.fatal[0]
    fault["fatal"] -= 1
    if fault["fatal"] <= 0:
        dk.fatal.pop(0)
    return fault


def _finish(st: Any, query: Query, lines: list[bytes], key: str, offset: int, fatal: dict | None) -> None:
    """Store the query's document: an error document (FATAL), a page of data, or none (no data)."""
    dk = state_of(st)
    now = datetime.now(UTC)
    if fatal is not None:
        query.final = "FATAL"
        query.error_document_id = f"amzn1.tortuga.4.na.{st.sign('dk-err', query.query_id)[:32]}"
        body = json.dumps({"errorMessage": fatal.get("message") or DEFAULT_FATAL_MESSAGE}).encode()
        dk.documents[query.error_document_id] = (now, gzip.compress(body))
        return
    page = lines[offset : offset + dk.page_lines]
    if not page:
        return  # DONE without a document: no data for the query
    query.data_document_id = f"amzn1.tortuga.4.na.{st.sign('dk-doc', query.query_id)[:32]}"
    dk.documents[query.data_document_id] = (now, gzip.compress(b"".join(page), compresslevel=6))
    if offset + dk.page_lines < len(lines):
        query.next_token = _page_token(st, key, offset + dk.page_lines)


def _alive(created: datetime) -> bool:
    return datetime.now(UTC) - created <= RETENTION


def routes(st: Any, operation: Callable[[str, Handler], Handler], test_only: Callable[[Handler], Handler]) -> list:
    """The Data Kiosk routes, each wrapped by the stand-in's common SP-API ``operation`` envelope."""
    h = _Handlers(st)
    return [
        Route(f"{API}/queries", operation("createQuery", h.create_query), methods=["POST"]),
        Route(f"{API}/queries", operation("getQueries", h.get_queries), methods=["GET"]),
        Route(f"{API}/queries/{{query_id}}", operation("getQuery", h.get_query), methods=["GET"]),
        Route(f"{API}/queries/{{query_id}}", operation("cancelQuery", h.cancel_query), methods=["DELETE"]),
        Route(f"{API}/documents/{{document_id}}", operation("getDocument", h.get_document), methods=["GET"]),
        Route(f"{DOWNLOAD}/{{document_id}}", h.download, methods=["GET"]),
        Route("/_test/datakiosk/faults", test_only(h.faults), methods=["GET", "POST", "DELETE"]),
    ]


class _Handlers:
    def __init__(self, st: Any):
        self.st = st
        self.lock = st.lock  # the server's one lock: critical sections stay tiny

    async def create_query(self, request: Request) -> Response:
        st = self.st
        try:
            body = await request.json()
        except ValueError:
            return _invalid("The request body is not valid JSON.")
        if not isinstance(body, dict) or not isinstance(body.get("query"), str):
            return _invalid("The request body must be a JSON object with a query string.")
        text, token = body["query"], body.get("paginationToken")
        with self.lock:
            busy = _busy(st, text, token)
        if busy:
            return _invalid(busy)
        try:
            selection, offset = _check(st, text, token)
        except QueryRefused as exc:
            return _invalid(str(exc))
        with self.lock:
            busy = _busy(st, text, token)  # checked again: another create may have run meanwhile
            if busy:
                return _invalid(busy)
            query = _new_query(st, text, token)
            state_of(st).queries[query.query_id] = query
            fatal = _take_fatal(state_of(st))
        threading.Thread(target=_compute, args=(st, query, selection, offset, fatal), daemon=True).start()
        return JSONResponse({"queryId": query.query_id}, 202)

    async def get_query(self, request: Request) -> Response:
        query_id = request.path_params["query_id"]
        with self.lock:
            query = state_of(self.st).queries.get(query_id)
            body = query.to_json(time.monotonic()) if query and _alive(query.created) else None
        return JSONResponse(body) if body else _not_found("queryId", query_id)

    async def get_queries(self, request: Request) -> Response:
        try:
            selected = _get_queries_filter(request)
            now = time.monotonic()
            with self.lock:
                matching = [
                    q.to_json(now)
                    for q in reversed(state_of(self.st).queries.values())  # newest first
                    if _alive(q.created) and selected(q, now)
                ]
            return JSONResponse(_page(matching, request))
        except ValueError as exc:
            return _invalid(str(exc))

    async def cancel_query(self, request: Request) -> Response:
        query_id = request.path_params["query_id"]
        with self.lock:
            query = state_of(self.st).queries.get(query_id)
            if query is None or not _alive(query.created):
                return _not_found("queryId", query_id)
            status = query.status(time.monotonic())
            if status in ("DONE", "FATAL"):
                return _invalid(f"Only non-terminal queries can be cancelled; this query is {status}.")
            query.cancelled = True  # a second cancel of a CANCELLED query is a no-op
        return Response(status_code=200)

    async def get_document(self, request: Request) -> Response:
        st, doc_id = self.st, request.path_params["document_id"]
        with self.lock:
            doc = state_of(st).documents.get(doc_id)
        if doc is None or not _alive(doc[0]):
            return _not_found("documentId", doc_id)
        issued = time.time()
        sig = st.sign("dk-download", doc_id, repr(issued))
        with self.lock:
            st.url_expiry[sig] = issued + st.document_ttl_s
        query = urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": datetime.fromtimestamp(issued, UTC).strftime("%Y%m%dT%H%M%SZ"),
                "X-Amz-Expires": max(1, math.ceil(st.document_ttl_s)),
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Signature": sig,
            }
        )
        url = f"{str(request.base_url).rstrip('/')}{DOWNLOAD}/{doc_id}?{query}"
        return JSONResponse({"documentId": doc_id, "documentUrl": url})

    async def download(self, request: Request) -> Response:
        st, doc_id = self.st, request.path_params["document_id"]
        with self.lock:
            doc = state_of(st).documents.get(doc_id)
            expiry = st.url_expiry.get(request.query_params.get("X-Amz-Signature", ""))
            st.stats["downloads"]["requests"] += 1
        if doc is None or expiry is None:
            return _s3_error("SignatureDoesNotMatch", "The request signature we calculated does not match.")
        if time.time() > expiry:
            return _s3_error("AccessDenied", "Request has expired")
        # Amazon: "If the Data Kiosk document is compressed, the Content-Encoding header will indicate [it]".
        return Response(doc[1], 200, headers={"Content-Encoding": "gzip"}, media_type="application/octet-stream")

    async def faults(self, request: Request) -> Response:
        dk = state_of(self.st)
        entry = await request.json() if request.method == "POST" else {}
        with self.lock:
            if request.method == "POST" and int(entry.get("fatal", 1)) > 0:
                dk.fatal.append({"fatal": int(entry.get("fatal", 1)), "message": entry.get("message")})
            if request.method == "POST" and "page_lines" in entry:
                dk.page_lines = int(entry["page_lines"])  # until the next reset
            elif request.method == "DELETE":
                dk.fatal.clear()
            return JSONResponse({"fatal": list(dk.fatal)})


def _s3_error(code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, 403, media_type="application/xml")


def _get_queries_filter(request: Request) -> Callable[[Query, float], bool]:
    """getQueries' filters as a predicate; ValueError (-> 400) for a bad one."""
    params = request.query_params
    statuses = [s for raw in params.getlist("processingStatuses") for s in raw.split(",") if s]
    bad = sorted(set(statuses) - set(STATUSES))
    if bad:
        raise ValueError(
            f"1 validation error detected: Value '{bad}' at 'processingStatuses' failed to satisfy constraint: "
            f"Member must satisfy enum value set: {list(STATUSES)}"
        )
    since = _stamp(params.get("createdSince"), datetime.now(UTC) - GET_QUERIES_DEFAULT_SINCE)
    until = _stamp(params.get("createdUntil"), datetime.now(UTC))

    def selected(q: Query, now: float) -> bool:
        return since <= q.created <= until and (not statuses or q.status(now) in statuses)

    return selected


def _stamp(value: str | None, default: datetime) -> datetime:
    if not value:
        return default
    moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _page(matching: list[dict], request: Request) -> dict[str, Any]:
    """One page of getQueries; the token is the offset (the other filters must be sent again, as Amazon's)."""
    params = request.query_params
    size = int(params.get("pageSize", 10))
    if not 1 <= size <= 100:
        raise ValueError("pageSize must be between 1 and 100.")
    token = params.get("paginationToken")
    offset = int(base64.urlsafe_b64decode(token.encode())) if token else 0
    out: dict[str, Any] = {"queries": matching[offset : offset + size]}
    if offset + size < len(matching):
        out["pagination"] = {"nextToken": base64.urlsafe_b64encode(str(offset + size).encode()).decode()}
    return out
