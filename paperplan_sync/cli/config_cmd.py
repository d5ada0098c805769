"""`paperplan-sync config …`: what the product loaded from Airtable."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(no_args_is_help=True, help="The configuration read from Airtable.")


@app.command()
def show() -> None:
    """The loaded report types and automations, validation problems, and whether the cache was used."""
    from paperplan_sync.config.loader import load_config
    from paperplan_sync.resources import airtable_resource, resolved

    config = load_config(resolved(airtable_resource()))
    console = Console()
    origin = {
        "airtable": "[green]read from Airtable[/]",
        "snapshot": "[green]the shared snapshot[/]",
        "cache": "[yellow]Airtable unavailable: using the cached copy[/]",
        "none": "[red]no configuration[/]",
    }[config.origin]
    console.print(
        f"Configuration: {origin}"
        + (f" (fetched {config.fetched_at:%Y-%m-%d %H:%M:%S} UTC)" if config.fetched_at else "")
    )
    if config.unavailable_reason:
        console.print(f"  reason: {config.unavailable_reason}")

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
            f"{rt.timezone_offset:+g}",
            str(rt.repeat_days or ""),
            "yes" if rt.notify_on_fail else "",
            "yes" if rt.add_to_datapoints else "",
            ", ".join(rt.destinations),
        )
    console.print(types)

    autos = Table("Automation", "Run", "When", "TZ", "Report types", "Enabled", title="Automations")
    for a in config.automations:
        when = (
            f"every {a.every}"
            if a.every
            else f"{a.at:%H:%M}"
            + (f" on {['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'][a.weekday]}" if a.weekday is not None else "")
        )
        autos.add_row(
            a.name,
            a.run,
            when,
            f"{a.timezone_offset:+g}",
            ", ".join(a.report_types),
            "[dim]disabled[/]" if a.disabled else "yes",
        )
    console.print(autos)

    if config.problems:
        console.print(f"[red]{len(config.problems)} validation problem(s); these rows are skipped:[/]")
        for problem in config.problems:
            console.print(f"  - {problem}")
    else:
        console.print("[green]No validation problems.[/]")
