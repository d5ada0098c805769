"""Local Amazon Ads reporting v3 stand-in (plus its LWA token endpoint) with deterministic demo data.

``build_app(seed=..., enable_fault_injection=..., processing_delay_s=..., today=..., document_ttl_s=...)``
-> ASGI app; run it with ``paperplan_local.runner.ServerThread(app).start()`` (tests) or
``serve_forever(app, port)`` (CLI: ``paperplan-sync local ads``). The DEV_* credentials only open this server.
"""

from paperplan_local.ads.app import (
    DEV_CLIENT_ID,
    DEV_CLIENT_SECRET,
    DEV_PROFILE_ID,
    DEV_PROFILE_TZ,
    DEV_REFRESH_TOKEN,
    build_app,
)

__all__ = ["DEV_CLIENT_ID", "DEV_CLIENT_SECRET", "DEV_PROFILE_ID", "DEV_PROFILE_TZ", "DEV_REFRESH_TOKEN", "build_app"]
