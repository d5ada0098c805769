"""Starlette app: LWA token endpoint, Ads reporting v3 (create / get), presigned-style downloads, test hooks."""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from collections.abc import Callable
from datetime import date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import parse_qs, urlencode
from zoneinfo import ZoneInfo

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from paperplan_local.ads import data
from paperplan_local.ads.state import COMPLETED, FAILED, Report, ServerState, duplicate_key

DEV_CLIENT_ID = "amzn1.application-oa2-client.local-ads-development"
DEV_CLIENT_SECRET = "local-ads-development-client-secret"
DEV_REFRESH_TOKEN = "Atzr|local-ads-development-refresh-token"
DEV_PROFILE_ID = "3141592653589793"
DEV_PROFILE_TZ = "America/Los_Angeles"

CREATE_CONTENT_TYPE = "application/vnd.createasyncreportrequest.v3+json"
MAX_RANGE_DAYS = 31  # inclusive day count, as the client counts it
RETENTION_DAYS = 95  # Amazon keeps Sponsored Products report data for 95 days
_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_SUPPORTED = {  # reportTypeId -> (adProduct, allowed groupBy, allowed columns)
    data.SP_CAMPAIGNS: ("SPONSORED_PRODUCTS", {"campaign"}, data.SP_CAMPAIGN_COLUMNS),
}
_FILTER_FIELDS = {"campaignStatus"}
_NON_OBJECTS: tuple[Any, ...] = (None, "corrupt-row", [1, 2, 3], 42)


def _profile_today() -> date:
    return datetime.now(ZoneInfo(DEV_PROFILE_TZ)).date()


def _error(status: int, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"code": str(status), "detail": detail}, status_code=status, headers=headers)


def _s3_error(code: str, message: str) -> Response:
    body = f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{code}</Code><Message>{message}</Message></Error>'
    return Response(body, status_code=403, media_type="application/xml")


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z") if moment else None


def build_app(
    *,
    seed: int = 0,
    enable_fault_injection: bool = False,
    processing_delay_s: float = 2.0,
    client_id: str = DEV_CLIENT_ID,
    client_secret: str = DEV_CLIENT_SECRET,
    refresh_token: str = DEV_REFRESH_TOKEN,
    profile_id: str = DEV_PROFILE_ID,
    today: Callable[[], date] | None = None,
    document_ttl_s: float = 300.0,
    token_ttl_s: float = 3600.0,
    retention_days: int | None = RETENTION_DAYS,
) -> Starlette:
    """An Amazon-Ads-reporting-v3-compatible server; point the client's ``endpoint`` at its URL and
    ``lwa_endpoint`` at ``{url}/auth/o2/token``.

    ``today`` is the clock the data is cut with (default: today in the profile's timezone); reports are
    PENDING then PROCESSING for ``processing_delay_s``; download URLs expire after ``document_ttl_s``.
    ``/_test/*`` (faults, clock, stats, reports) exists only with ``enable_fault_injection``.
    """
    state = ServerState(today=today or _profile_today, default_delay_s=processing_delay_s)
    signing_key = secrets.token_bytes(32)
    profile_id = str(profile_id)

    # --- helpers --------------------------------------------------------------------------------

    def sign(report_id: str, expires: str) -> str:
        return hmac.new(signing_key, f"{report_id}:{expires}".encode(), hashlib.sha256).hexdigest()

    def download_url(request: Request, report: Report) -> tuple[str, datetime]:
        expires_at = time.time() + document_ttl_s
        expires = f"{expires_at:.3f}"
        query = urlencode({"Expires": expires, "Signature": sign(report.report_id, expires)})
        base = str(request.base_url).rstrip("/")
        return f"{base}/reports-download/{report.report_id}?{query}", datetime.fromtimestamp(expires_at, timezone.utc)

    async def gate(request: Request) -> Response | None:
        """Injected latency / 429 / 5xx, then auth. None means: go on."""
        faults = state.faults
        state.stats.api_calls += 1
        if faults.slow_s:
            await asyncio.sleep(faults.slow_s)
        if faults.take("status_429"):
            state.stats.injected_429 += 1
            return _error(429, "Too Many Requests", {"Retry-After": f"{faults.retry_after:g}"})
        if faults.take("status_5xx"):
            state.stats.injected_5xx += 1
            return _error(503, "Service Unavailable")
        if request.headers.get("Amazon-Advertising-API-ClientId") != client_id:
            return _error(401, "Missing or unknown Amazon-Advertising-API-ClientId")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not state.token_valid(auth[len("Bearer ") :].strip()):
            return _error(401, "Not authorized: invalid or expired access token")
        scope = request.headers.get("Amazon-Advertising-API-Scope")
        if not scope:
            return _error(400, "Missing Amazon-Advertising-API-Scope header")
        if scope != profile_id:
            return _error(401, "Not authorized to access this advertiser")
        return None

    def report_json(request: Request, report: Report) -> dict[str, Any]:
        status = report.status()
        url = expires_at = None
        if status == COMPLETED:
            if report.document is None:
                build_document(report)
            url, expires_at = download_url(request, report)  # freshly signed on every GET
        updated = report.generated_at or report.created_at
        return {
            "reportId": report.report_id,
            "name": report.name,
            "status": status,
            "startDate": report.start.isoformat(),
            "endDate": report.end.isoformat(),
            "configuration": report.configuration,
            "createdAt": _iso(report.created_at),
            "updatedAt": _iso(updated),
            "generatedAt": _iso(report.generated_at),
            "url": url,
            "urlExpiresAt": _iso(expires_at),
            "fileSize": len(report.document) if report.document is not None else None,
            "failureReason": report.failure_reason if status == FAILED else None,
        }

    def build_document(report: Report) -> None:
        config = report.configuration
        rows: list[Any] = data.report_rows(
            seed,
            start=report.start,
            end=report.end,
            time_unit=config["timeUnit"],
            columns=config["columns"],
            today=state.today(),
            filters=config.get("filters"),
        )
        if report.non_object_rows:
            for n, junk in enumerate(_NON_OBJECTS):
                rows.insert(min(len(rows), 1 + 2 * n), junk)
        report.document = gzip.compress(json.dumps(rows).encode(), mtime=0)
        report.generated_at = datetime.now(timezone.utc)

    def validate(body: Any) -> tuple[date, date, dict[str, Any]] | str:
        """The parsed request, or the 400 detail."""
        if not isinstance(body, dict) or not isinstance(body.get("configuration"), dict):
            return "Request body must be a JSON object with a configuration object"
        dates = []
        for key in ("startDate", "endDate"):
            value = body.get(key)
            if not isinstance(value, str) or not _DATE_RE.match(value):
                return f"{key} must be a date formatted YYYY-MM-DD"
            try:
                dates.append(date.fromisoformat(value))
            except ValueError:
                return f"{key} is not a valid date: {value}"
        start, end = dates
        if end < start:
            return "endDate must be on or after startDate"
        days = (end - start).days + 1
        if days > MAX_RANGE_DAYS:
            return f"startDate to endDate range ({days} days) must be at most {MAX_RANGE_DAYS} days"
        if retention_days is not None and start < state.today() - timedelta(days=retention_days):
            return f"startDate {start} is older than the {retention_days}-day data retention"
        config = body["configuration"]
        report_type = config.get("reportTypeId")
        if report_type not in _SUPPORTED:
            return f"reportTypeId must be one of {sorted(_SUPPORTED)} (local server)"
        ad_product, group_bys, allowed_columns = _SUPPORTED[report_type]
        if config.get("adProduct") != ad_product:
            return f"adProduct must be {ad_product} for {report_type}"
        group_by = config.get("groupBy")
        if not isinstance(group_by, list) or not group_by or not set(group_by) <= group_bys:
            return f"groupBy must be a non-empty subset of {sorted(group_bys)}"
        time_unit = config.get("timeUnit")
        if time_unit not in ("DAILY", "SUMMARY"):
            return "timeUnit must be DAILY or SUMMARY"
        if config.get("format") != "GZIP_JSON":
            return "format must be GZIP_JSON"
        columns = config.get("columns")
        if not isinstance(columns, list) or not columns or not all(isinstance(c, str) for c in columns):
            return "columns must be a non-empty array of strings"
        bad = sorted(set(columns) - allowed_columns)
        if bad:
            return f"Invalid columns {bad}. Allowed values: {sorted(allowed_columns)}"
        if time_unit == "SUMMARY" and "date" in columns:
            return "column date is not supported with timeUnit SUMMARY"
        if time_unit == "DAILY" and {"startDate", "endDate"} & set(columns):
            return "columns startDate/endDate are only supported with timeUnit SUMMARY"
        filters = config.get("filters")
        if filters is not None:
            if not isinstance(filters, list) or not all(
                isinstance(f, dict) and f.get("field") in _FILTER_FIELDS and isinstance(f.get("values"), list)
                for f in filters
            ):
                return f"filters must be [{{field, values}}] with field in {sorted(_FILTER_FIELDS)}"
        return start, end, config

    # --- routes ---------------------------------------------------------------------------------

    async def token(request: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode("utf-8", "replace")).items()}
        if form.get("grant_type") != "refresh_token":
            return JSONResponse({"error": "unsupported_grant_type", "error_description": "Only refresh_token"}, 400)
        if form.get("client_id") != client_id or form.get("client_secret") != client_secret:
            return JSONResponse({"error": "invalid_client", "error_description": "Client authentication failed"}, 401)
        if form.get("refresh_token") != refresh_token:
            return JSONResponse(
                {
                    "error": "invalid_grant",
                    "error_description": "The request has an invalid grant parameter : refresh_token",
                },
                400,
            )
        return JSONResponse(
            {
                "access_token": state.issue_token(token_ttl_s),
                "refresh_token": refresh_token,
                "token_type": "bearer",
                "expires_in": int(token_ttl_s) if token_ttl_s >= 1 else token_ttl_s,
            }
        )

    async def create_report(request: Request) -> Response:
        if (refused := await gate(request)) is not None:
            return refused
        media_type = request.headers.get("content-type", "").split(";")[0].strip().lower()
        if media_type != CREATE_CONTENT_TYPE:
            return _error(400, f"Content-Type must be {CREATE_CONTENT_TYPE}")
        try:
            body = json.loads(await request.body())
        except (ValueError, UnicodeDecodeError):
            return _error(400, "Request body is not valid JSON")
        parsed = validate(body)
        if isinstance(parsed, str):
            return _error(400, parsed)
        start, end, config = parsed
        key = duplicate_key(body["startDate"], body["endDate"], config)
        if (existing := state.pending_duplicate(key)) is not None:
            state.stats.duplicates += 1
            return _error(425, f"The Request is a duplicate of : {existing.report_id}")
        faults = state.faults
        report = Report(
            report_id=str(uuid.uuid4()),
            name=str(body.get("name") or ""),
            start=start,
            end=end,
            configuration=config,
            duplicate_key=key,
            processing_delay_s=faults.processing_delay_s
            if faults.processing_delay_s is not None
            else state.default_delay_s,
            failure_reason=faults.failure_reason if faults.fail else None,
            non_object_rows=faults.non_object_rows,
        )
        state.reports[report.report_id] = report
        state.stats.reports_created += 1
        return JSONResponse(report_json(request, report))

    async def get_report(request: Request) -> Response:
        if (refused := await gate(request)) is not None:
            return refused
        report = state.reports.get(request.path_params["report_id"])
        if report is None:
            return _error(404, f"Report {request.path_params['report_id']} not found")
        return JSONResponse(report_json(request, report))

    async def download(request: Request) -> Response:
        report = state.reports.get(request.path_params["report_id"])
        expires = request.query_params.get("Expires", "")
        signature = request.query_params.get("Signature", "")
        if (
            report is None
            or report.document is None
            or not hmac.compare_digest(signature, sign(report.report_id, expires))
        ):
            return _s3_error(
                "SignatureDoesNotMatch",
                "The request signature we calculated does not match the signature you provided.",
            )
        if time.time() > float(expires):
            return _s3_error("AccessDenied", "Request has expired")
        state.stats.downloads += 1
        return Response(report.document, media_type="application/octet-stream")

    async def profiles(request: Request) -> Response:
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Bearer ") or not state.token_valid(auth[len("Bearer ") :].strip()):
            return _error(401, "Not authorized: invalid or expired access token")
        return JSONResponse(
            [
                {
                    "profileId": int(profile_id) if profile_id.isdigit() else profile_id,
                    "countryCode": "US",
                    "currencyCode": data.CURRENCY,
                    "timezone": DEV_PROFILE_TZ,
                    "accountInfo": {
                        "marketplaceStringId": "ATVPDKIKX0DER",
                        "type": "seller",
                        "name": "PaperPlan (local)",
                    },
                }
            ]
        )

    async def health(request: Request) -> Response:
        return JSONResponse({"ok": True})

    # --- test hooks (fault injection only) ------------------------------------------------------

    async def faults_route(request: Request) -> Response:
        if request.method == "DELETE":
            state.faults = type(state.faults)()
        elif request.method == "POST":
            try:
                body = json.loads(await request.body() or b"{}")
                if not isinstance(body, dict):
                    raise ValueError("expected a JSON object")
                state.faults.update(body)
            except ValueError as exc:
                return _error(400, str(exc))
            if body.get("revoke_tokens"):
                state.tokens.clear()
        return JSONResponse(state.faults.as_dict())

    async def clock_route(request: Request) -> Response:
        if request.method == "DELETE":
            state.today_override = None
        elif request.method == "POST":
            try:
                state.today_override = date.fromisoformat(json.loads(await request.body())["today"])
            except (ValueError, KeyError, TypeError):
                return _error(400, 'expected {"today": "YYYY-MM-DD"}')
        return JSONResponse({"today": state.today().isoformat(), "overridden": state.today_override is not None})

    async def stats_route(request: Request) -> Response:
        if request.method == "DELETE":
            state.stats = type(state.stats)()
        return JSONResponse(vars(state.stats))

    async def reports_route(request: Request) -> Response:
        # Forget every report, so a stuck one can't answer 425 to a later test's identical request.
        state.reports.clear()
        return JSONResponse({"ok": True})

    routes = [
        Route("/auth/o2/token", token, methods=["POST"]),
        Route("/reporting/reports", create_report, methods=["POST"]),
        Route("/reporting/reports/{report_id}", get_report, methods=["GET"]),
        Route("/reports-download/{report_id}", download, methods=["GET"]),
        Route("/v2/profiles", profiles, methods=["GET"]),
        Route("/healthz", health, methods=["GET"]),
    ]
    if enable_fault_injection:
        routes += [
            Route("/_test/faults", faults_route, methods=["GET", "POST", "DELETE"]),
            Route("/_test/clock", clock_route, methods=["GET", "POST", "DELETE"]),
            Route("/_test/stats", stats_route, methods=["GET", "DELETE"]),
            Route("/_test/reports", reports_route, methods=["DELETE"]),
        ]
    app = Starlette(routes=routes)
    app.state.ads = state  # in-process access for tests / debugging
    return app
