"""Is the product up? The webserver, each daemon's heartbeat and the code location, via Dagster's GraphQL."""

from __future__ import annotations

from dataclasses import dataclass, field

import requests

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
        data = requests.post(f"{base}/graphql", json={"query": DAEMON_QUERY}, timeout=timeout).json()["data"]
    except (requests.RequestException, ValueError, KeyError) as exc:
        health.checks.append(Check("graphql", False, f"GraphQL query failed ({type(exc).__name__})"))
        return health
    for daemon in data["instance"]["daemonHealth"]["allDaemonStatuses"]:
        if daemon["required"]:
            detail = (
                "heartbeat ok" if daemon["healthy"] else f"no recent heartbeat (last: {daemon['lastHeartbeatTime']})"
            )
            health.checks.append(Check(f"daemon {daemon['daemonType']}", bool(daemon["healthy"]), detail))
    workspace = data["workspaceOrError"]
    for entry in workspace.get("locationEntries", []):
        location = entry.get("locationOrLoadError") or {}
        if location.get("__typename") == "PythonError":
            health.checks.append(
                Check(f"code location {entry['name']}", False, location["message"].splitlines()[0][:200])
            )
        else:
            health.checks.append(
                Check(f"code location {entry['name']}", entry["loadStatus"] == "LOADED", entry["loadStatus"].lower())
            )
    return health
