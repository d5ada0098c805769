"""The `paperplan-sync` command."""

from __future__ import annotations

import importlib.util

import typer

from paperplan_sync.cli import api_cmd, config_cmd, doctor_cmd, ops_cmd, setup_cmd

app = typer.Typer(no_args_is_help=True, add_completion=False, help="PaperPlan Sync: operate and develop the sync.")
app.add_typer(config_cmd.app, name="config")
app.command()(ops_cmd.health)
app.command()(ops_cmd.watchdog)
app.command("init-airtable")(setup_cmd.init_airtable)
app.command()(doctor_cmd.doctor)
app.command()(ops_cmd.backfill)
app.command()(api_cmd.api)

# The stand-ins are a separate package (the `[local]` extra, a development checkout): a production install
# has no `local` command and never imports them.
if importlib.util.find_spec("paperplan_local") is not None:
    from paperplan_local.cli import app as local_app

    app.add_typer(local_app, name="local")
