"""`paperplan-sync config …`: what the product loaded from Airtable."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, help="The configuration read from Airtable.")


WEEKDAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
ORIGINS = {
    "airtable": "[green]read from Airtable[/]",
    "snapshot": "[green]the shared snapshot[/]",
    "cache": "[yellow]Airtable unavailable: using the cached copy[/]",
    "none": "[red]no configuration[/]",
}


@app.command()
def show() -> None:
    """The loaded report types and automations, validation problems, and whether the cache was used."""
    from paperplan_sync.config.loader import load_config
    from paperplan_sync.resources import airtable_resource, resolved

    config = load_config(resolved(airtable_resource()))
    console = Console()
    _print_origin(console, config)
    console.print(_report_types_table(config))
    console.print(_automations_table(config))
    _print_problems(console, config)


def _print_origin(console: Console, config) -> None:
    fetched = f" (fetched {config.fetched_at:%Y-%m-%d %H:%M:%S} UTC)" if config.fetched_at else ""
    console.print(f"Configuration: {ORIGINS[config.origin]}{fetched}")
    if config.unavailable_reason:
        console.print(f"  reason: {config.unavailable_reason}")


def _report_types_table(config) -> Table:
    types = Table(
        "Report type",
        "Status",
        "Source",
        "Report Type Id",
        "Kind",
        "Offset",
        "TZ",
        "Repeat",
        "Notify",
        "Datapoints",
        "Destination",
        title="Report Types",
    )
    for rt in config.report_types:
        types.add_row(
            rt.name,
            "Active" if rt.active else "[dim]Inactive[/]",
            rt.source,
            rt.report_type_id,
            "real-time" if rt.real_time else "daily",
            str(rt.offset_days),
            rt.zone.spelling,
            str(rt.repeat_days or ""),
            "yes" if rt.notify_on_fail else "",
            "yes" if rt.add_to_datapoints else "",
            ", ".join(rt.destinations),
        )
    return types


def _automations_table(config) -> Table:
    autos = Table("Automation", "Run", "When", "TZ", "Report types", "Enabled", title="Automations")
    for a in config.automations:
        autos.add_row(
            a.name,
            a.run,
            _when(a),
            a.zone.spelling,
            ", ".join(a.report_types),
            "[dim]disabled[/]" if a.disabled else "yes",
        )
    return autos


def _when(a) -> str:
    if a.every:
        return f"every {a.every}"
    return f"{a.at:%H:%M}" + (f" on {WEEKDAYS[a.weekday]}" if a.weekday is not None else "")


def _print_problems(console: Console, config) -> None:
    if not config.problems:
        console.print("[green]No validation problems.[/]")
        return
    console.print(f"[red]{len(config.problems)} validation problem(s); these rows are skipped:[/]")
    for problem in config.problems:
        console.print(f"  - {problem}")
