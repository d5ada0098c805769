"""`paperplan-sync api`: the public health page and Airtable's webhook pings (systemd: paperplan-api)."""

from __future__ import annotations

import logging

import typer

from paperplan_sync import settings


def api(
    host: str = typer.Option(
        "127.0.0.1", help="Address to bind (the reverse proxy forwards /api and the webhook path)"
    ),
    port: int = typer.Option(settings.api_port(), help="Port ($PAPERPLAN_API_PORT)"),
) -> None:
    """Serve GET /api ("Hello world!" when healthy, else 503 and why) and POST /airtable/webhook."""
    from paperplan_sync.api.server import CachedHealth, build_server, dagster_problems
    from paperplan_sync.control_plane.changes import ChangeWatcher, change_settings
    from paperplan_sync.resources import airtable_resource, resolved

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    airtable = resolved(airtable_resource())
    if airtable is None:
        typer.echo("AIRTABLE_API_KEY and AIRTABLE_BASE_ID must be set", err=True)
        raise typer.Exit(2)
    server = build_server(
        host,
        port,
        watcher=ChangeWatcher(airtable, change_settings()),
        health=CachedHealth(dagster_problems(settings.webserver_url())),
    )
    typer.echo(f"paperplan-sync api on http://{host}:{port}/api")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
