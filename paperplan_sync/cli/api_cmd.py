"""`paperplan-sync api`: the public health page and Airtable's webhook pings (systemd: paperplan-api)."""

from __future__ import annotations

import logging
import os

import typer

DEFAULT_PORT = 8710


def api(
    host: str = typer.Option("127.0.0.1", help="Address to bind (the reverse proxy forwards /api and the webhook path)"),
    port: int = typer.Option(int(os.environ.get("PAPERPLAN_API_PORT") or DEFAULT_PORT), help="Port ($PAPERPLAN_API_PORT)"),
) -> None:
    """Serve GET /api ("Hello world!" when healthy, else 503 and why) and POST /airtable/webhook."""
    from paperplan_sync.api.server import CachedHealth, build_server, dagster_problems
    from paperplan_sync.automation.settings import change_settings
    from paperplan_sync.config.loader import airtable_from_env
    from paperplan_sync.control_plane.changes import ChangeWatcher

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    airtable = airtable_from_env()
    if airtable is None:
        typer.echo("AIRTABLE_API_KEY and AIRTABLE_BASE_ID must be set", err=True)
        raise typer.Exit(2)
    webserver = os.environ.get("DAGSTER_WEBSERVER_URL") or "http://127.0.0.1:3000"
    server = build_server(host, port, watcher=ChangeWatcher(airtable, change_settings()),
                          health=CachedHealth(dagster_problems(webserver)))
    typer.echo(f"paperplan-sync api on http://{host}:{port}/api")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
