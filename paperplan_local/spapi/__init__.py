"""Local Selling Partner API (Reports 2021-06-30) stand-in, spoken to over real HTTP by the unmodified client.

    app = build_app(seed=0, enable_fault_injection=True)
    ServerThread(app).start().url   # or: serve_forever(app, port)

Point the client at it with ``endpoint=url`` and ``lwa_endpoint=url + "/auth/o2/token"`` and the DEV_*
credentials; ``endpoint=url + "/sandbox"`` answers Amazon's static sandbox vectors instead.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime

from starlette.applications import Starlette

from .app import create_app
from .constants import (
    ACCOUNT_OPENED,
    DEFAULT_DOCUMENT_TTL_S,
    DEFAULT_PROCESSING_DELAY_S,
    DEFAULT_TOKEN_TTL_S,
    DEV_CLIENT_ID,
    DEV_CLIENT_SECRET,
    DEV_REFRESH_TOKEN,
)
from .documents import write_orders_file
from .state import Document, ServerState

__all__ = [
    "ACCOUNT_OPENED",
    "DEV_CLIENT_ID",
    "DEV_CLIENT_SECRET",
    "DEV_REFRESH_TOKEN",
    "build_app",
    "write_orders_file",
]


def _utc_today() -> date:
    return datetime.now(UTC).date()


def build_app(
    *,
    seed: int = 0,
    rate_limit_scale: float = 1.0,
    enable_fault_injection: bool = False,
    processing_delay_s: float = DEFAULT_PROCESSING_DELAY_S,
    client_id: str = DEV_CLIENT_ID,
    client_secret: str = DEV_CLIENT_SECRET,
    refresh_token: str = DEV_REFRESH_TOKEN,
    today: Callable[[], date] = _utc_today,
    document_ttl_s: float = DEFAULT_DOCUMENT_TTL_S,
    token_ttl_s: int = DEFAULT_TOKEN_TTL_S,
    account_opened: date = ACCOUNT_OPENED,
    document_files: Mapping[str, str] | None = None,
) -> Starlette:
    """Build the stand-in.

    ``today`` is the server's clock (its "now" is the end of that day, UTC): order statuses and inventory are
    computed as of it, so moving it forward changes a re-pulled old day. ``document_files`` maps extra
    document ids to files on disk (``*.gz`` served as GZIP) -- e.g. a pre-built benchmark report.
    """
    state = ServerState(
        seed=seed,
        rate_limit_scale=rate_limit_scale,
        processing_delay_s=processing_delay_s,
        client_id=client_id,
        client_secret=client_secret,
        refresh_token=refresh_token,
        today=today,
        document_ttl_s=document_ttl_s,
        token_ttl_s=token_ttl_s,
        account_opened=account_opened,
        fault_injection=enable_fault_injection,
    )
    for doc_id, path in (document_files or {}).items():
        state.documents[doc_id] = Document("file", "GZIP" if str(path).endswith(".gz") else None, path=str(path))
    return create_app(state)
