"""`paperplan-sync doctor`: a table of OK / problem, with a fix for each problem."""

from __future__ import annotations

from contextlib import ExitStack, contextmanager

import typer
from rich.console import Console
from rich.table import Table


@contextmanager
def resolved_resources():
    """The deployment's resources with their EnvVars read now; one whose settings are missing is left out
    (the settings rows already say which variable to set)."""
    from paperplan_sync.resources import production_resources

    with ExitStack() as stack:
        out = {}
        for key, resource in production_resources().items():
            try:
                out[key] = stack.enter_context(resource.process_config_and_initialize_cm())
            except Exception:
                continue
        yield out


def doctor() -> None:
    """Check every setting and connection: Airtable, MongoDB, Slack, SP-API, Ads, Dagster."""
    from paperplan_sync.ops.doctor import run_doctor

    console = Console()
    with console.status("Checking settings and connections…"), resolved_resources() as resources:
        findings = run_doctor(resources)
    table = Table("Check", "Status", "Detail", "Fix", title="paperplan-sync doctor")
    for f in findings:
        table.add_row(f.name, "[green]OK[/]" if f.ok else "[red]PROBLEM[/]", f.detail, f.fix)
    console.print(table)
    problems = sum(not f.ok for f in findings)
    console.print("[green]All checks passed.[/]" if not problems else f"[red]{problems} problem(s).[/]")
    raise typer.Exit(0 if not problems else 1)
