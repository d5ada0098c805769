"""`paperplan-sync init-airtable`: prepare an existing Airtable base as the SYNC base."""

from __future__ import annotations

import typer
from rich.console import Console
from rich.table import Table


def init_airtable(
    demo: bool = typer.Option(False, "--demo", help="Also add the demo report types and automations"),
) -> None:
    """Create the SYNC base's tables and fields (idempotent: a second run changes nothing)."""
    from paperplan_sync.control_plane.bootstrap import bootstrap_base
    from paperplan_sync.resources import airtable_resource, resolved

    airtable = resolved(airtable_resource())
    if airtable is None:
        typer.echo(
            "Set AIRTABLE_API_KEY and AIRTABLE_BASE_ID (and AIRTABLE_ENDPOINT_URL for a non-Airtable server).", err=True
        )
        raise typer.Exit(2)
    console = Console()
    with console.status("Reading the base and creating what is missing…"):
        changes = bootstrap_base(airtable, demo=demo)
    made = [c for c in changes if "manual" not in c.what]
    manual = [c for c in changes if "manual" in c.what]
    if made:
        table = Table("Table", "Change", "Detail", title="Changes made")
        for c in made:
            table.add_row(c.table, c.what, c.detail)
        console.print(table)
    else:
        console.print("[green]The base already has every table and field: nothing to change.[/]")
    for c in manual:
        console.print(f"[yellow]To do by hand[/] ({c.table}): {c.detail}")
