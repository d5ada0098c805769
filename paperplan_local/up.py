"""`paperplan-sync local up`: every stand-in on its fixed loopback port (optionally with `dagster dev`),
supervised as one unit: Ctrl-C / SIGTERM, or any child dying, stops them all."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import asdict
from pathlib import Path

from paperplan_local.env import LOCAL_RATE_LIMIT_SCALE, Ports, local_environment
from paperplan_local.runner import LOOPBACK, wait_for_port

STAND_INS = ("mongo", "airtable", "spapi", "ads", "slack")
STOP_GRACE_S = 15


class Supervisor:
    def __init__(self) -> None:
        self.children: list[tuple[str, subprocess.Popen]] = []

    def spawn(self, name: str, argv: list[str], env: dict[str, str] | None = None) -> subprocess.Popen:
        # Own process group: dagster dev ignores signals sent to a plain background child.
        proc = subprocess.Popen(argv, env=env, start_new_session=True)
        self.children.append((name, proc))
        return proc

    def first_exited(self) -> tuple[str, int] | None:
        for name, proc in self.children:
            if proc.poll() is not None:
                return name, proc.returncode
        return None

    def stop_all(self) -> None:
        for _, proc in reversed(self.children):
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)
        deadline = time.monotonic() + STOP_GRACE_S
        for _, proc in self.children:
            try:
                proc.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()


def _stand_in_argv(name: str, port: int, state: Path, airtable_monthly_quota: int | None = None) -> list[str]:
    argv = [
        sys.executable,
        "-m",
        "paperplan_sync.cli",
        "local",
        name,
        "--port",
        str(port),
        "--state",
        str(state / name),
    ]
    if name == "airtable" and airtable_monthly_quota is not None:
        argv += ["--monthly-quota", str(airtable_monthly_quota)]
    return argv + (["--rate-limit-scale", str(LOCAL_RATE_LIMIT_SCALE)] if name == "spapi" else [])


LOCAL_INSTANCE_YAML = Path(__file__).with_name("dagster.yaml")  # production's is deploy/dagster.yaml


def dagster_home(default: str = ".dagster_home") -> Path:
    """DAGSTER_HOME with our local dagster.yaml in it (SQLite storage, queued runs, telemetry and nux off)."""
    home = Path(os.environ.get("DAGSTER_HOME") or default).resolve()
    home.mkdir(parents=True, exist_ok=True)
    target = home / "dagster.yaml"
    if not target.exists():
        target.write_text(LOCAL_INSTANCE_YAML.read_text())
    return home


def run_up(
    state: Path,
    ports: Ports | None = None,
    with_dagster: bool = False,
    echo=print,
    airtable_monthly_quota: int | None = None,
) -> int:
    state.mkdir(parents=True, exist_ok=True)
    ports = ports or Ports()
    env = local_environment(ports)
    supervisor = Supervisor()

    def _stop(signum, _frame):
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, _stop)
    try:
        for name in STAND_INS:
            port = asdict(ports)[name]
            supervisor.spawn(name, _stand_in_argv(name, port, state, airtable_monthly_quota))
            wait_for_port(port, timeout=30)
            echo(f"  {name:<9} {LOOPBACK}:{port}")
        echo("\nPoint the product at them with:\n")
        for key, value in env.items():
            echo(f"export {key}={value}")
        if with_dagster:
            home = dagster_home()
            child_env = {**os.environ, **env, "DAGSTER_HOME": str(home), "PAPERPLAN_STATE_DIR": str(state / "product")}
            supervisor.spawn(
                "dagster",
                [
                    str(Path(sys.executable).parent / "dagster"),
                    "dev",
                    "-w",
                    "workspace.yaml",
                    "-h",
                    LOOPBACK,
                    "-p",
                    str(ports.dagster),
                ],
                env=child_env,
            )
            supervisor.spawn(
                "api",
                [str(Path(sys.executable).parent / "paperplan-sync"), "api", "--port", str(ports.api)],
                env=child_env,
            )
            echo(
                f"\nDagster UI: http://{LOOPBACK}:{ports.dagster}  (ready in ~15 s)  Slack messages: http://{LOOPBACK}:{ports.slack}/"
                f"  Health: http://{LOOPBACK}:{ports.api}/api"
            )
        echo("\nCtrl-C stops everything.")
        while (exited := supervisor.first_exited()) is None:
            time.sleep(0.5)
        echo(f"{exited[0]} exited with status {exited[1]}; stopping the rest")
        return 1
    except KeyboardInterrupt:
        echo("\nStopping…")
        return 0
    finally:
        supervisor.stop_all()
