"""`paperplan-sync health` and `watchdog`: is the product running?"""

from __future__ import annotations

import os

import typer
from rich.console import Console
from rich.table import Table

WEBSERVER_HELP = "Dagster webserver (default: $DAGSTER_WEBSERVER_URL or http://127.0.0.1:3000)"


def _webserver(url: str | None) -> str:
    return url or os.environ.get("DAGSTER_WEBSERVER_URL") or "http://127.0.0.1:3000"


def _print(health) -> None:
    table = Table("Check", "Status", "Detail")
    for check in health.checks:
        table.add_row(check.name, "[green]OK[/]" if check.ok else "[red]PROBLEM[/]", check.detail)
    Console().print(table)


def health(webserver: str | None = typer.Option(None, help=WEBSERVER_HELP)) -> None:
    """Webserver, each daemon's heartbeat and the code location; exit status 0 when healthy, 1 otherwise."""
    from paperplan_sync.automation.health import check_dagster

    result = check_dagster(_webserver(webserver))
    _print(result)
    raise typer.Exit(0 if result.ok else 1)


def watchdog(
    webserver: str | None = typer.Option(None, help=WEBSERVER_HELP),
    max_heartbeat_minutes: int = typer.Option(45, help="Heartbeat older than this means offline"),
) -> None:
    """For cron / a systemd timer: posts "Sync application offline" once when the product is down."""
    from datetime import timedelta

    from paperplan_sync.automation.slack import SlackResource
    from paperplan_sync.automation.watchdog import run_watchdog
    from paperplan_sync.config.loader import airtable_from_env

    airtable = airtable_from_env()
    if airtable is None:
        typer.echo("AIRTABLE_API_KEY and AIRTABLE_BASE_ID must be set", err=True)
        raise typer.Exit(2)
    slack = SlackResource(token=os.environ.get("SLACK_BOT_TOKEN", ""), base_url=os.environ.get("SLACK_BASE_URL") or "https://slack.com/api/",
                          channel=os.environ.get("SLACK_CHANNEL") or "#airtable", webserver_url=_webserver(webserver))
    outcome = run_watchdog(airtable=airtable, slack=slack, webserver_url=_webserver(webserver),
                           max_heartbeat_age=timedelta(minutes=max_heartbeat_minutes))
    _print(outcome.health)
    if outcome.posted:
        typer.echo(f"posted to Slack: {outcome.posted}")
    raise typer.Exit(0 if outcome.health.ok else 1)
