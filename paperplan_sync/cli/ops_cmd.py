"""`paperplan-sync health` and `watchdog`: is the product running?"""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

from paperplan_sync import settings

WEBSERVER_HELP = f"Dagster webserver (default: $DAGSTER_WEBSERVER_URL or {settings.DEFAULT_WEBSERVER_URL})"


def _webserver(url: str | None) -> str:
    return url or settings.webserver_url()


def _print(health) -> None:
    table = Table("Check", "Status", "Detail")
    for check in health.checks:
        table.add_row(check.name, "[green]OK[/]" if check.ok else "[red]PROBLEM[/]", check.detail)
    Console().print(table)


def health(webserver: str | None = typer.Option(None, help=WEBSERVER_HELP)) -> None:
    """Webserver, each daemon's heartbeat and the code location; exit status 0 when healthy, 1 otherwise."""
    from paperplan_sync.ops.health import check_dagster

    result = check_dagster(_webserver(webserver))
    _print(result)
    _print_airtable_usage()
    raise typer.Exit(0 if result.ok else 1)


def _print_airtable_usage() -> None:
    """The month's Airtable calls (information: a used-up quota slows the product, it does not stop it)."""
    from paperplan_sync.control_plane.usage import month_line
    from paperplan_sync.resources import airtable_resource, resolved

    airtable = resolved(airtable_resource())
    if airtable is None:
        return
    try:
        ok, text = month_line(airtable)
    except Exception as exc:  # shared state unreachable; `doctor` says why
        ok, text = False, f"Airtable usage unknown ({type(exc).__name__})"
    Console().print(("" if ok else "[yellow]") + text)


API_URL_HELP = "The product's public health page (default: $PAPERPLAN_PUBLIC_URL/api, else this machine's api service)"


def watchdog(
    api_url: str | None = typer.Option(None, help=API_URL_HELP),
    max_heartbeat_minutes: int = typer.Option(45, help="Heartbeat older than this means offline"),
    heartbeat_check_hours: float = typer.Option(24, help="While /api is healthy, read the heartbeat this often"),
) -> None:
    """Run on a machine other than the product's (cron, a timer, any scheduler): posts "Sync application
    offline" once when the product's /api or its Airtable heartbeat says it is down."""
    from datetime import timedelta
    from urllib.parse import urlsplit

    from paperplan_sync.alerting.watchdog import run_watchdog
    from paperplan_sync.resources import airtable_resource, resolved, slack_resource

    airtable, slack = resolved(airtable_resource()), resolved(slack_resource())
    if airtable is None or slack is None:
        typer.echo("AIRTABLE_API_KEY, AIRTABLE_BASE_ID and SLACK_BOT_TOKEN must be set", err=True)
        raise typer.Exit(2)
    url = api_url or settings.api_url()
    # Behind the proxy the UI is on the same origin as /api; on the product's own machine use its webserver.
    local = urlsplit(url).hostname in ("127.0.0.1", "localhost", "::1")
    dagster_url = _webserver(None) if local else url.removesuffix("/api")
    slack = slack.model_copy(update={"webserver_url": dagster_url})
    outcome = run_watchdog(
        airtable=airtable,
        slack=slack,
        api_url=url,
        dagster_url=dagster_url,
        max_heartbeat_age=timedelta(minutes=max_heartbeat_minutes),
        heartbeat_check_every=timedelta(hours=heartbeat_check_hours),
    )
    _print(outcome.health)
    typer.echo(f"Airtable calls: {outcome.airtable_calls}")
    if outcome.posted:
        typer.echo(f"posted to Slack: {outcome.posted}")
    raise typer.Exit(0 if outcome.health.ok else 1)


def backfill(
    failed: bool = typer.Option(False, "--failed", help="Backfill the partitions whose last run failed"),
    missing: bool = typer.Option(
        False, "--missing", help="Backfill the partitions that never ran (no materialization, no failure)"
    ),
    report: str | None = typer.Option(None, help="Only this report type (e.g. sales_report)"),
    since: str | None = typer.Option(None, help="Only days on or after this date (YYYY-MM-DD)"),
    webserver: str | None = typer.Option(None, help=WEBSERVER_HELP),
    follow: bool = typer.Option(True, help="Follow the backfill with a progress bar until it is done"),
) -> None:
    """Relaunch failed and/or never-run report partitions through Dagster (as the UI's "Materialize failed/missing" do)."""  # noqa: E501 -- one line: the CLI's command list shows it as written
    from datetime import date

    from paperplan_sync.ops.backfill import launch_backfill, partitions

    if not (failed or missing):
        typer.echo("say what to backfill: --failed, --missing, or both", err=True)
        raise typer.Exit(2)
    url = _webserver(webserver)
    targets = partitions(
        url, failed=failed, missing=missing, report=report, since=date.fromisoformat(since) if since else None
    )
    console = Console()
    if not targets:
        console.print(
            f"[green]No {' or '.join(w for w, on in (('failed', failed), ('missing', missing)) if on)} partitions.[/]"
        )
        raise typer.Exit(0)
    launched = {}
    for path, days in targets.items():
        launched[path] = launch_backfill(url, path, days)
        console.print(
            f"{'/'.join(path)}: backfill {launched[path]} of {len(days)} day(s) ({days[0]} … {days[-1]})  "
            f"{url}/runs/b/{launched[path]}"
        )
    if not follow:
        raise typer.Exit(0)
    failed_total = _follow_backfills(url, launched, {path: len(days) for path, days in targets.items()}, console)
    console.print(
        "[green]Backfill complete.[/]" if not failed_total else f"[red]{failed_total} partition(s) failed again.[/]"
    )
    raise typer.Exit(0 if not failed_total else 1)


def _follow_backfills(url: str, launched: dict, totals: dict, console: Console) -> int:
    """A progress bar per backfill until each is done; the partitions that failed again."""
    import time

    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    from paperplan_sync.ops.backfill import backfill_progress

    failed_total = 0
    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=console
    ) as bar:
        tasks = {path: bar.add_task("/".join(path), total=totals[path]) for path in launched}
        pending = dict(launched)
        while pending:
            for path, backfill_id in list(pending.items()):
                progress = backfill_progress(url, backfill_id)
                bar.update(
                    tasks[path],
                    completed=progress.materialized + progress.failed,
                    description=f"{'/'.join(path)} [{progress.status.lower()}]",
                )
                if progress.done:
                    failed_total += progress.failed
                    del pending[path]
            time.sleep(1)
    return failed_total
