"""`paperplan-sync local …`: the stand-ins that replace every external system on a laptop."""

from __future__ import annotations

from pathlib import Path

import typer

from paperplan_local.env import Ports

app = typer.Typer(no_args_is_help=True, help="Local stand-ins for Airtable, MongoDB, SP-API, Ads and Slack.")

STATE_HELP = "Directory for persisted state (omit: in memory)"
FAULTS_HELP = "Enable /_test fault injection (tests only)"
QUOTA_HELP = "API calls a calendar month before Airtable's over-quota answer (Team plan: 100000; omit: no cap)"


def _serve(app_, port: int) -> None:
    from paperplan_local.runner import serve_forever

    typer.echo(f"listening on http://127.0.0.1:{port}")
    serve_forever(app_, port)


@app.command()
def airtable(
    port: int = typer.Option(Ports.airtable, help="Port on 127.0.0.1"),
    state: Path | None = typer.Option(None, help=STATE_HELP),
    base_id: str | None = typer.Option(None, help="Base id (default: $AIRTABLE_BASE_ID or the dev base)"),
    api_key: str | None = typer.Option(None, help="Accepted key (default: $AIRTABLE_API_KEY or the dev key)"),
    rate_limit: float = typer.Option(5.0, help="Requests per second per base"),
    penalty: float = typer.Option(30.0, help="Seconds of 429s after the limit is exceeded"),
    monthly_quota: int | None = typer.Option(None, min=0, help=QUOTA_HELP),
    over_quota_rate: float = typer.Option(2.0, help="Requests per second served past the monthly quota (0: refuse)"),
    fault_injection: bool = typer.Option(False, "--fault-injection", hidden=True, help=FAULTS_HELP),
) -> None:
    """An Airtable-compatible server holding the SYNC base (seeded with demo rows when empty)."""
    from paperplan_local.airtable import build_app

    _serve(
        build_app(
            state_dir=state,
            base_id=base_id,
            api_key=api_key,
            rate_limit_per_s=rate_limit,
            penalty_s=penalty,
            enable_fault_injection=fault_injection,
            monthly_quota=monthly_quota,
            over_quota_rate_per_s=over_quota_rate,
        ),
        port,
    )


@app.command()
def mongo(
    port: int = typer.Option(Ports.mongo, help="Port on 127.0.0.1"),
    state: Path | None = typer.Option(None, help="Data directory (omit: a temporary one)"),
) -> None:
    """A MongoDB-wire-compatible server (SecantusDB, a development dependency)."""
    from paperplan_local.mongo import run_foreground

    run_foreground(port, state)


@app.command()
def spapi(
    port: int = typer.Option(Ports.spapi, help="Port on 127.0.0.1"),
    state: Path | None = typer.Option(None, help="Accepted for symmetry; the data is generated"),
    rate_limit_scale: float = typer.Option(1.0, help="Multiple of Amazon's documented rates (`local up` uses 100)"),
    fault_injection: bool = typer.Option(False, "--fault-injection", hidden=True, help=FAULTS_HELP),
) -> None:
    """An Amazon SP-API Reports (and LWA token) compatible server with deterministic demo data."""
    from paperplan_local.spapi import build_app

    _serve(build_app(rate_limit_scale=rate_limit_scale, enable_fault_injection=fault_injection), port)


@app.command()
def ads(
    port: int = typer.Option(Ports.ads, help="Port on 127.0.0.1"),
    state: Path | None = typer.Option(None, help="Accepted for symmetry; the data is generated"),
    fault_injection: bool = typer.Option(False, "--fault-injection", hidden=True, help=FAULTS_HELP),
) -> None:
    """An Amazon Ads reporting v3 compatible server with deterministic demo data."""
    from paperplan_local.ads import build_app

    _serve(build_app(enable_fault_injection=fault_injection), port)


@app.command()
def slack(
    port: int = typer.Option(Ports.slack, help="Port on 127.0.0.1"),
    state: Path | None = typer.Option(None, help="Accepted for symmetry; messages are kept in memory"),
    fault_injection: bool = typer.Option(False, "--fault-injection", hidden=True, help=FAULTS_HELP),
) -> None:
    """A Slack Web API compatible server; see what was posted at http://127.0.0.1:PORT/."""
    from paperplan_local.slack import build_app

    _serve(build_app(enable_fault_injection=fault_injection), port)


@app.command()
def up(
    state: Path = typer.Option(Path(".local_state"), help="Where the stand-ins keep their state"),
    dagster: bool = typer.Option(False, "--dagster", help="Also run `dagster dev` pointed at the stand-ins"),
    airtable_monthly_quota: int | None = typer.Option(None, min=0, help=QUOTA_HELP),
) -> None:
    """Start every stand-in on its fixed loopback port and print the environment that uses them."""
    from paperplan_local.up import run_up

    raise typer.Exit(
        run_up(state, with_dagster=dagster, echo=typer.echo, airtable_monthly_quota=airtable_monthly_quota)
    )
