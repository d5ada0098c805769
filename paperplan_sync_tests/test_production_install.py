"""A production install (`pip install .`, no extras) ships the product only: no stand-in code, and the product
imports neither starlette nor uvicorn (those are the `[local]` extra's)."""

from __future__ import annotations

import ast
import os
import re
import shutil
import subprocess
import sys
import zipfile
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

# Runs every product module with paperplan_local unimportable, as on a production install.
PRODUCTION_IMPORTS = """
import importlib, pkgutil, sys
sys.modules["paperplan_local"] = None
import paperplan_sync
for info in pkgutil.walk_packages(paperplan_sync.__path__, "paperplan_sync."):
    if not info.name.endswith("__main__"):
        importlib.import_module(info.name)
from paperplan_sync.cli import app
print(sorted(m for m in sys.modules if m.split(".")[0] in ("starlette", "uvicorn")))
print(sorted(g.name for g in app.registered_groups))
"""


@pytest.mark.slow
def test_the_wheel_holds_the_product_and_no_stand_in(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, src / name)
    for name in ("paperplan_sync", "paperplan_local"):
        shutil.copytree(ROOT / name, src / name, ignore=shutil.ignore_patterns("__pycache__"))
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path / "out"), str(src)],
        check=True,
        capture_output=True,
        timeout=300,
    )

    (wheel,) = (tmp_path / "out").glob("paperplan_sync-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        top = {name.split("/")[0] for name in zf.namelist()}
        metadata = zf.read(next(n for n in zf.namelist() if n.endswith(".dist-info/METADATA"))).decode()
    assert top == {"paperplan_sync", next(t for t in top if t.endswith(".dist-info"))}
    runtime = [line for line in metadata.splitlines() if line.startswith("Requires-Dist:") and "extra ==" not in line]
    assert not [line for line in runtime if any(p in line.lower() for p in ("starlette", "uvicorn", "secantus"))]


@pytest.mark.slow
def test_the_product_runs_without_the_stand_ins_and_never_imports_starlette_or_uvicorn(airtable_env):
    result = subprocess.run(
        [sys.executable, "-c", PRODUCTION_IMPORTS],
        env={**os.environ},
        cwd="/",
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    imported, cli_groups = result.stdout.strip().splitlines()[-2:]
    assert imported == "[]"
    assert cli_groups == "['config']"  # no `local` command


def test_a_development_install_has_the_local_command():
    result = subprocess.run(
        [str(Path(sys.executable).parent / "paperplan-sync"), "local", "--help"],
        cwd="/",
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "airtable" in result.stdout and "up" in result.stdout


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def test_every_third_party_module_the_product_imports_is_a_declared_runtime_dependency():
    imported = set()
    for path in (ROOT / "paperplan_sync").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = imported - set(sys.stdlib_module_names) - {"paperplan_sync", "paperplan_local"}
    declared = {
        _normal(re.split(r"[<>=!~;\[ ]", req)[0])
        for req in metadata.requires("paperplan-sync")
        if "extra ==" not in req
    }
    providers = metadata.packages_distributions()

    undeclared = {m for m in third_party if not {_normal(d) for d in providers.get(m, [m])} & declared}
    assert not undeclared
