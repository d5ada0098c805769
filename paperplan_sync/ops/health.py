"""Is the product up? The webserver, each daemon's heartbeat and the code location, via Dagster's GraphQL
(ops/graphql.py)."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

from paperplan_sync.ops.graphql import GraphQLError, query

DAEMON_QUERY = """
{ instance { daemonHealth { allDaemonStatuses { daemonType healthy required lastHeartbeatTime } } }
  workspaceOrError { __typename ... on Workspace { locationEntries { name loadStatus
      locationOrLoadError { __typename ... on PythonError { message } } } } } }
"""


@dataclass
class Check:
    name: str
    ok: bool
    detail: str


@dataclass
class Health:
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(c.ok for c in self.checks)

    @property
    def problems(self) -> list[str]:
        return [f"{c.name}: {c.detail}" for c in self.checks if not c.ok]


def check_dagster(webserver_url: str, timeout: float = 10.0) -> Health:
    health = Health()
    base = webserver_url.rstrip("/")
    try:
        info = requests.get(f"{base}/server_info", timeout=timeout)
        info.raise_for_status()
        health.checks.append(
            Check("webserver", True, f"{base} answers (dagster {info.json().get('dagster_version', '?')})")
        )
    except (requests.RequestException, ValueError) as exc:
        health.checks.append(Check("webserver", False, f"{base} does not answer ({type(exc).__name__})"))
        return health
    try:
        data = query(base, DAEMON_QUERY, timeout=timeout)
        health.checks += daemon_checks(data["instance"]) + location_checks(data["workspaceOrError"])
    except (GraphQLError, KeyError, TypeError) as exc:  # no answer, or not the shape this code reads
        detail = str(exc) if isinstance(exc, GraphQLError) else f"unexpected answer ({type(exc).__name__})"
        health.checks.append(Check("graphql", False, f"GraphQL query failed: {detail}"))
    return health


def daemon_checks(instance: dict) -> list[Check]:
    """One check per daemon the instance requires: is its heartbeat recent?"""
    return [
        Check(
            f"daemon {daemon['daemonType']}",
            bool(daemon["healthy"]),
            "heartbeat ok" if daemon["healthy"] else f"no recent heartbeat (last: {daemon['lastHeartbeatTime']})",
        )
        for daemon in instance["daemonHealth"]["allDaemonStatuses"]
        if daemon["required"]
    ]


def location_checks(workspace: dict) -> list[Check]:
    """One check per code location: loaded, or the first line of its load error."""
    checks = []
    for entry in workspace.get("locationEntries", []):
        location = entry.get("locationOrLoadError") or {}
        if location.get("__typename") == "PythonError":
            checks.append(Check(f"code location {entry['name']}", False, location["message"].splitlines()[0][:200]))
        else:
            checks.append(
                Check(f"code location {entry['name']}", entry["loadStatus"] == "LOADED", entry["loadStatus"].lower())
            )
    return checks
