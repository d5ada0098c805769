"""The `paperplan-sync` command."""

from __future__ import annotations

import typer

from paperplan_sync.cli import api_cmd, config_cmd, doctor_cmd, local_cmd, ops_cmd, setup_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False, help="PaperPlan Sync: operate and develop the sync.")
app.add_typer(local_cmd.app, name="local")
app.add_typer(config_cmd.app, name="config")
app.command()(ops_cmd.health)
app.command()(ops_cmd.watchdog)
app.command("init-airtable")(setup_cmd.init_airtable)
app.command()(doctor_cmd.doctor)
app.command()(ops_cmd.backfill)
app.command()(api_cmd.api)
