"""The product's import rules. The layer order and "no cycles" are import-linter contracts in pyproject.toml
(``make lint`` runs ``lint-imports``); this module checks that they hold, that import-linter sees the
imports made inside functions, and the two rules a contract cannot express: only settings.py reads the
environment, and only definitions.py reads Dagster's private modules."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "paperplan_sync"
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")


def lint_imports(cwd: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", *args],
        cwd=cwd,
        env={"PYTHONPATH": str(cwd), "PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_import_contracts_hold():
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr


def test_the_layer_contract_sees_an_import_inside_a_function(tmp_path):
    """The hand-written checker this replaced read module-level imports only, and missed a cycle."""
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "__init__.py").write_text("")
    (tmp_path / "pkg" / "high.py").write_text("")
    (tmp_path / "pkg" / "low.py").write_text("def late():\n    from pkg import high\n\n    return high\n")
    (tmp_path / "pyproject.toml").write_text(
        textwrap.dedent(
            """
            [tool.importlinter]
            root_package = "pkg"

            [[tool.importlinter.contracts]]
            name = "high over low"
            type = "layers"
            layers = ["pkg.high", "pkg.low"]
            """
        )
    )
    result = lint_imports(tmp_path)
    assert result.returncode == 1 and "pkg.low -> pkg.high (l.2)" in result.stdout, result.stdout + result.stderr


def test_only_settings_reads_the_environment():
    """One place reads the environment (settings.py); everything else asks it, so every variable is listed there."""
    readers = sorted(
        str(path.relative_to(ROOT))
        for path in PACKAGE.rglob("*.py")
        if any(word in path.read_text() for word in ("os.environ", "os.getenv", "getenv("))
    )
    assert readers == ["paperplan_sync/settings.py"]


def test_private_dagster_imports_stay_in_one_place():
    """Dagster's private modules change without notice: only definitions.py reads one (reconstruction metadata)."""
    users = sorted(str(path.relative_to(ROOT)) for path in PACKAGE.rglob("*.py") if "dagster._" in path.read_text())
    assert users == ["paperplan_sync/definitions.py"]


def test_each_registered_source_stands_alone():
    """Sources share only the base modules beside them in sources/: no source imports another, even through a
    third module (what import-linter's independence contract checks, over whatever the registry finds)."""
    import grimp

    from paperplan_sync.sources import registry

    graph = grimp.build_graph("paperplan_sync")
    # A source's package: where its resource class lives (paperplan_sync.sources.<api>.client -> ...<api>).
    packages = [".".join(src.resource.__module__.split(".")[:3]) for src in registry.sources().values()]
    assert len(packages) >= 2
    chains = [(a, b) for a in packages for b in packages if a != b and graph.chain_exists(a, b, as_packages=True)]
    assert chains == []
