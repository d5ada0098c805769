"""Local Slack stand-in: the Web API subset PaperPlan Sync posts with, plus an inbox to read posts back.

``build_app(token=..., enable_fault_injection=...)`` -> ASGI app; run it with
``paperplan_local.runner.ServerThread(app).start()`` (tests) or ``serve_forever(app, port)`` (CLI).
"""

from paperplan_local.slack.app import DEV_TOKEN, build_app

__all__ = ["DEV_TOKEN", "build_app"]
