"""The ASGI app: LWA token endpoint, Reports 2021-06-30 operations, presigned document downloads, sandbox
vectors and (when enabled) the ``/_test`` fault-injection / stats / clock endpoints."""

from __future__ import annotations

import base64
import itertools
import json
import math
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any
from urllib.parse import parse_qs, urlencode

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response, StreamingResponse
from starlette.routing import Route

from . import datakiosk, sandbox
from .constants import (
    API,
    DETAIL_EXPIRED,
    DETAIL_INVALID,
    DETAIL_MISSING,
    DOCUMENT_ENCODING,
    ERR_DENIED,
    FLAT_FILE_CHARSETS,
    REPORT_RETENTION_DAYS,
    SALES_AND_TRAFFIC,
    SNAPSHOT_REPORT_TYPES,
    SUPPORTED_REPORT_TYPES,
)
from .documents import DocumentSpec, document_stream, error_document, file_stream
from .state import Document, Report, ServerState

Handler = Callable[[Request], Awaitable[Response]]
_request_ids = itertools.count(1)


def _errors(status: int, code: str, message: str, details: str = "", headers: dict | None = None) -> JSONResponse:
    return JSONResponse({"errors": [{"code": code, "message": message, "details": details}]}, status, headers)


def _invalid(details: str) -> JSONResponse:
    return _errors(400, "InvalidInput", "Invalid input", details)


def _parse_time(value: Any) -> datetime:
    dt = datetime.fromisoformat(str(value))
    return dt if dt.tzinfo else dt.replace(tzinfo=UTC)


def _list_param(request: Request, name: str) -> list[str]:
    """SP-API arrays in the query string are comma-separated (repeated keys accepted too)."""
    return [v for raw in request.query_params.getlist(name) for v in raw.split(",") if v]


def _s3_error(code: str, message: str, status: int = 403) -> Response:
    body = (
        f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message>'
        f"<RequestId>{next(_request_ids):016X}</RequestId></Error>"
    )
    return Response(body, status, media_type="application/xml")


def build_routes(st: ServerState) -> list[Route]:
    # --- the common envelope of every SP-API operation -----------------------------------------------------
    def operation(name: str, fn: Callable[[Request], Awaitable[Response]], *, sandboxed: bool = False) -> Handler:
        async def handler(request: Request) -> Response:
            with st.lock:
                st.stats["calls"][name] += 1
                denied = _check_token(request)
                if not denied and st.faults.take("status_403_expired", name):
                    denied = DETAIL_EXPIRED
                fault = None if denied else st.faults.take("status_5xx", name)
                throttle = None if denied or fault else st.faults.take("status_429", name)
                limited = not (denied or fault or throttle or sandboxed) and not st.buckets[name].take()
                if fault:
                    st.stats["injected_5xx"][name] += 1
                if throttle or limited:
                    st.stats["throttled"][name] += 1
            headers = {"x-amzn-RequestId": f"{next(_request_ids):08x}-spapi-standin"}
            if denied:
                return _errors(403, "Unauthorized", ERR_DENIED, denied, headers)
            if fault:
                code = int(fault.get("code", 503))
                return _errors(
                    code,
                    "InternalFailure" if code == 500 else "ServiceUnavailable",
                    "We encountered an internal error. Please try again.",
                    "",
                    headers,
                )
            if throttle or limited:
                rate = str((throttle or {}).get("rate_limit") or st.rate_header(name))
                headers["x-amzn-RateLimit-Limit"] = rate
                return _errors(429, "QuotaExceeded", "You exceeded your quota for the requested resource.", "", headers)
            response = await fn(request)
            response.headers.update(headers)
            # A report type's own limit (createReport) names its rate; otherwise the operation's.
            response.headers.setdefault("x-amzn-RateLimit-Limit", st.rate_header(name))
            return response

        return handler

    def _check_token(request: Request) -> str | None:
        token = request.headers.get("x-amz-access-token")
        if not token:
            return DETAIL_MISSING
        expiry = st.tokens.get(token)
        if expiry is None:
            return DETAIL_INVALID
        if expiry < time.time():
            return DETAIL_EXPIRED
        return None

    # --- LWA ------------------------------------------------------------------------------------------
    async def lwa_token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        with st.lock:
            st.stats["lwa"]["calls"] += 1
            fault = st.faults.take("status_5xx", "lwa")
        if fault:
            return JSONResponse({"error": "server_error", "error_description": "Internal error"}, 503)
        if form.get("grant_type") != "refresh_token":
            return JSONResponse(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "The authorization grant type is not supported",
                },
                400,
            )
        if form.get("client_id") != st.client_id or form.get("client_secret") != st.client_secret:
            st.stats["lwa"]["refused"] += 1
            return JSONResponse({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        if form.get("refresh_token") != st.refresh_token:
            st.stats["lwa"]["refused"] += 1
            return JSONResponse(
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token",
                },
                400,
            )
        token, ttl = st.issue_token()
        return JSONResponse(
            {"access_token": token, "refresh_token": st.refresh_token, "token_type": "bearer", "expires_in": ttl}
        )

    # --- Reports ------------------------------------------------------------------------------------------
    def _as_of() -> datetime:
        """The stand-in's "now": the end of its current day (so data never depends on the wall clock)."""
        return datetime.combine(st.current_day(), dtime(23, 59, 59), tzinfo=UTC)

    async def create_report(request: Request) -> Response:
        try:
            body = await request.json()
        except ValueError:
            return _invalid("The request body is not valid JSON.")
        if not isinstance(body, dict):
            return _invalid("The request body must be a JSON object.")
        report_type = body.get("reportType")
        markets = body.get("marketplaceIds")
        if report_type not in SUPPORTED_REPORT_TYPES:
            return _invalid(f"Report type {report_type!r} is not supported.")
        if not isinstance(markets, list) or not 1 <= len(markets) <= 25 or not all(isinstance(m, str) for m in markets):
            return _invalid("marketplaceIds must list 1 to 25 marketplace ids.")
        as_of = _as_of()
        try:
            start = _parse_time(body["dataStartTime"]) if body.get("dataStartTime") else as_of
            end = _parse_time(body["dataEndTime"]) if body.get("dataEndTime") else as_of
        except ValueError:
            return _invalid("dataStartTime / dataEndTime must be ISO 8601 date-times.")
        if end < start:
            return _invalid("dataEndTime must not be before dataStartTime.")
        if report_type in SNAPSHOT_REPORT_TYPES:
            start = end = as_of
        options = body.get("reportOptions") or {}
        with st.lock:
            limit = st.type_buckets.get(report_type)
            refused = limit is not None and not limit.take()
            if refused:
                st.stats["throttled"]["createReport"] += 1
                st.stats["throttled_types"][report_type] += 1
        if refused:  # Amazon answers the per-type limit like any usage plan, with that type's rate
            return _errors(
                429,
                "QuotaExceeded",
                "You exceeded your quota for the requested resource.",
                "",
                {"x-amzn-RateLimit-Limit": st.type_rate_header(report_type)},
            )
        with st.lock:
            st.stats["create_calls"][report_type] += 1
            faults = st.faults.for_report(report_type) if st.fault_injection else {}
            report_id = st.new_report_id()
        final = "DONE"
        no_data = end.date() < st.account_opened or start > as_of
        if faults.get("fatal"):
            final = "FATAL"
        elif faults.get("cancelled") or (no_data and faults.get("rows") is None):
            final = "CANCELLED"
        slow = float(faults.get("slow_queue_s", 0))
        delay = st.processing_delay_s
        report = Report(
            report_id,
            report_type,
            list(markets),
            start,
            end,
            datetime.now(UTC),
            time.monotonic(),
            delay * 0.4 + slow,
            delay + slow,
            final,
        )
        compression = faults.get("compression", "GZIP")
        doc: Document | None = None
        if final == "DONE":
            spec = DocumentSpec(
                report_type,
                start,
                end,
                as_of,
                {str(k): str(v) for k, v in options.items()},
                list(markets),
                st.seed,
                rows=faults.get("rows"),
                malformed_rows=frozenset(faults.get("malformed_rows", ())),
                undecodable_rows=frozenset(faults.get("undecodable_rows", ())),
                truncate=bool(faults.get("truncate_gzip")),
                empty_days=frozenset(faults.get("empty_days", ())),
                keep_fraction=faults.get("keep_fraction"),
                drop_marketplaces=frozenset(faults.get("drop_marketplaces", ())),
                fault_days=frozenset(faults.get("fault_days", ())),
                rename_columns=tuple(sorted((faults.get("rename_columns") or {}).items())),
            )
            doc = Document("data", compression, spec=spec)
        elif final == "FATAL" and faults.get("fatal_document", True):
            message = faults.get("fatal_message") or (
                f"Report processing failed for {report_type}: the request could not be completed. "
                "Request the report again after 4 hours."
            )
            doc = Document("error", compression, message=message)
        with st.lock:
            if doc is not None:
                report.document_id = f"amzn1.spdoc.1.4.na.{st.sign('doc', report_id)[:32]}"
                st.documents[report.document_id] = doc
            st.reports[report_id] = report
        return JSONResponse({"reportId": report_id}, 202)

    async def get_reports(request: Request) -> Response:
        params = dict(request.query_params)
        if "nextToken" in params:
            if len(params) > 1:
                return _invalid("nextToken must be the only parameter.")
            try:
                q = json.loads(base64.urlsafe_b64decode(params["nextToken"]))
            except ValueError:
                return _invalid("Invalid nextToken.")
        else:
            types = _list_param(request, "reportTypes")
            if not types:
                return _invalid("Either reportTypes or nextToken is required.")
            statuses = _list_param(request, "processingStatuses")
            bad = set(statuses) - {"CANCELLED", "DONE", "FATAL", "IN_PROGRESS", "IN_QUEUE"}
            if bad or len(types) > 10:
                return _invalid("Invalid input in processing status" if bad else "Too many report types.")
            try:
                page_size = int(params.get("pageSize", 10))
                since = (
                    _parse_time(params["createdSince"])
                    if "createdSince" in params
                    else (datetime.now(UTC) - timedelta(days=REPORT_RETENTION_DAYS))
                )
                until = _parse_time(params["createdUntil"]) if "createdUntil" in params else None
            except ValueError:
                return _invalid("Invalid pageSize / createdSince / createdUntil.")
            if not 1 <= page_size <= 100:
                return _invalid("pageSize must be between 1 and 100.")
            q = {
                "types": types,
                "statuses": statuses,
                "markets": _list_param(request, "marketplaceIds"),
                "since": since.isoformat(),
                "until": until.isoformat() if until else None,
                "size": page_size,
                "offset": 0,
            }
        now = time.monotonic()
        since, until = _parse_time(q["since"]), _parse_time(q["until"]) if q["until"] else None
        with st.lock:
            matching = [
                r.to_json(now)
                for r in reversed(st.reports.values())  # newest first
                if r.report_type in q["types"]
                and r.created >= since
                and (until is None or r.created <= until)
                and (not q["markets"] or set(q["markets"]) & set(r.marketplace_ids))
                and (not q["statuses"] or r.status(now) in q["statuses"])
            ]
        page = matching[q["offset"] : q["offset"] + q["size"]]
        out: dict[str, Any] = {"reports": page}
        if q["offset"] + q["size"] < len(matching):
            token = {**q, "offset": q["offset"] + q["size"]}
            out["nextToken"] = base64.urlsafe_b64encode(json.dumps(token).encode()).decode()
        return JSONResponse(out)

    async def get_report(request: Request) -> Response:
        report_id = request.path_params["report_id"]
        if report_id == "badReportId1":
            return _invalid("Invalid input")
        with st.lock:
            report = st.reports.get(report_id)
            body = report.to_json(time.monotonic()) if report else None
        if body is None:
            return _errors(404, "NotFound", "The requested report was not found.", report_id)
        return JSONResponse(body)

    async def cancel_report(request: Request) -> Response:
        report_id = request.path_params["report_id"]
        with st.lock:
            report = st.reports.get(report_id)
            if report is None:
                return _errors(404, "NotFound", "The requested report was not found.", report_id)
            if report.status(time.monotonic()) != "IN_QUEUE":
                return _invalid("Only reports with processingStatus IN_QUEUE can be cancelled.")
            report.cancelled = True
        return Response(status_code=200)

    async def get_report_document(request: Request) -> Response:
        doc_id = request.path_params["document_id"]
        if doc_id == "badDocumentId1":
            return _invalid("Invalid input")
        now = time.time()
        with st.lock:
            doc = st.documents.get(doc_id)
            expired = st.faults.take("expire_document_urls", "getReportDocument") if doc else None
        if doc is None:
            return _errors(404, "NotFound", "The requested report document was not found.", doc_id)
        issued = now - st.document_ttl_s - 1 if expired else now
        expires_in = max(1, math.ceil(st.document_ttl_s))
        amz_date = datetime.fromtimestamp(issued, UTC).strftime("%Y%m%dT%H%M%SZ")
        sig = st.sign("download", doc_id, repr(issued))
        with st.lock:
            st.url_expiry[sig] = issued + st.document_ttl_s
        query = urlencode(
            {
                "X-Amz-Algorithm": "AWS4-HMAC-SHA256",
                "X-Amz-Date": amz_date,
                "X-Amz-Expires": expires_in,
                "X-Amz-SignedHeaders": "host",
                "X-Amz-Signature": sig,
            }
        )
        base = str(request.base_url).rstrip("/")
        out = {"reportDocumentId": doc_id, "url": f"{base}/documents-download/{doc_id}?{query}"}
        if doc.compression:
            out["compressionAlgorithm"] = doc.compression
        return JSONResponse(out)

    async def download(request: Request) -> Response:
        doc_id = request.path_params["document_id"]
        sig = request.query_params.get("X-Amz-Signature", "")
        with st.lock:
            doc = st.documents.get(doc_id)
            expiry = st.url_expiry.get(sig)
            st.stats["downloads"]["requests"] += 1
            fault = st.faults.take("status_5xx", "download")
        if fault:
            return _s3_error("ServiceUnavailable", "Please reduce your request rate.", 503)
        if doc is None or expiry is None:
            return _s3_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if time.time() > expiry:
            with st.lock:
                st.stats["downloads"]["expired"] += 1
            return _s3_error("AccessDenied", "Request has expired")
        gz = doc.compression == "GZIP"
        media_type = "application/octet-stream"
        if doc.kind == "file":
            body = file_stream(doc.path)
        elif doc.kind == "error":
            body = error_document(doc.message, gzip=gz)
        else:
            body = document_stream(doc.spec, gzip=gz)
            # Amazon names a flat file's charset with Java's spelling (text/plain; charset=Cp1252 or UTF-8).
            charset = FLAT_FILE_CHARSETS.get(DOCUMENT_ENCODING.get(doc.spec.report_type, ""))
            if charset and doc.spec.report_type != SALES_AND_TRAFFIC:
                media_type = f"text/plain; charset={charset}"
        return StreamingResponse(body, media_type=media_type)

    # --- sandbox (static vectors) --------------------------------------------------------------------------
    def sandboxed(fn: Callable[[Request], tuple[int, Any]]) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            status, body = await fn(request)
            return Response(status_code=status) if body is None else JSONResponse(body, status)

        return run

    async def sb_create(request: Request) -> tuple[int, Any]:
        try:
            body = await request.json()
        except ValueError:
            body = None
        return sandbox.create_report(body)

    async def sb_get_reports(request: Request) -> tuple[int, Any]:
        return sandbox.get_reports({k: _list_param(request, k) for k in request.query_params})

    async def sb_get_report(request: Request) -> tuple[int, Any]:
        return sandbox.get_report(request.path_params["report_id"])

    async def sb_cancel(request: Request) -> tuple[int, Any]:
        return sandbox.cancel_report(request.path_params["report_id"])

    async def sb_document(request: Request) -> tuple[int, Any]:
        return sandbox.get_report_document(request.path_params["document_id"])

    # --- /_test ---------------------------------------------------------------------------------------
    def test_only(fn: Handler) -> Handler:
        async def run(request: Request) -> Response:
            if not st.fault_injection:
                return JSONResponse({"error": "fault injection is disabled"}, 404)
            return await fn(request)

        return run

    async def faults(request: Request) -> Response:
        if request.method == "DELETE":
            with st.lock:
                st.faults.entries.clear()
            return JSONResponse({"faults": []})
        payload = await request.json()
        entries = payload if isinstance(payload, list) else [payload]
        try:
            with st.lock:
                for entry in entries:
                    st.faults.add(entry)
                    if entry.get("expire_tokens"):
                        for token in st.tokens:
                            st.tokens[token] = time.time() - 1
        except ValueError as exc:
            return JSONResponse({"error": str(exc)}, 400)
        return JSONResponse({"faults": st.faults.entries})

    async def reset(request: Request) -> Response:
        """Forget reports, documents, faults, stats and the clock override (test isolation)."""
        with st.lock:
            st.reports.clear()
            st.documents = {k: v for k, v in st.documents.items() if v.kind == "file"}
            st.url_expiry.clear()
            st.faults.entries.clear()
            st.today_override = None
            st.reset_type_buckets()
            datakiosk.reset(st)
        st.reset_stats()
        return JSONResponse({"reset": True})

    async def stats(request: Request) -> Response:
        if request.method == "DELETE":
            st.reset_stats()
        return JSONResponse(st.stats_json())

    async def clock(request: Request) -> Response:
        if request.method == "DELETE":
            st.today_override = None
        elif request.method == "POST":
            st.today_override = date.fromisoformat((await request.json())["today"])
        return JSONResponse({"today": st.current_day().isoformat()})

    api_routes = [
        ("", f"{API}/reports", "createReport", create_report, sb_create, ["POST"]),
        ("", f"{API}/reports", "getReports", get_reports, sb_get_reports, ["GET"]),
        ("", f"{API}/reports/{{report_id}}", "getReport", get_report, sb_get_report, ["GET"]),
        ("", f"{API}/reports/{{report_id}}", "cancelReport", cancel_report, sb_cancel, ["DELETE"]),
        ("", f"{API}/documents/{{document_id}}", "getReportDocument", get_report_document, sb_document, ["GET"]),
    ]
    routes = [
        Route("/auth/o2/token", lwa_token, methods=["POST"]),
        Route("/documents-download/{document_id}", download, methods=["GET"]),
    ]
    for _, path, name, live, sb, methods in api_routes:
        routes.append(Route(path, operation(name, live), methods=methods))
        routes.append(Route(f"/sandbox{path}", operation(name, sandboxed(sb), sandboxed=True), methods=methods))
    routes += [
        Route("/_test/reset", test_only(reset), methods=["POST"]),
        Route("/_test/faults", test_only(faults), methods=["POST", "DELETE"]),
        Route("/_test/stats", test_only(stats), methods=["GET", "DELETE"]),
        Route("/_test/clock", test_only(clock), methods=["GET", "POST", "DELETE"]),
    ]
    routes += datakiosk.routes(st, operation, test_only)
    return routes


def create_app(st: ServerState) -> Starlette:
    app = Starlette(routes=build_routes(st))
    app.state.spapi = st  # handy for in-process inspection
    return app
