"""The product's imports form no cycle: neither between modules nor between its packages (sources, reports,
storage, control_plane, …). Read from the source with ast (module-level imports; TYPE_CHECKING blocks and
imports inside functions are not followed)."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "paperplan_sync"


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


def _owner(name: str) -> str | None:
    """The product module `name` refers to (a name inside a module refers to that module)."""
    while name and name not in MODULES:
        name = name.rpartition(".")[0]
    return name or None


def _imports(module: str, path: Path) -> set[str]:
    found = set()
    for node in ast.parse(path.read_text()).body:
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = module.split(".")[: len(module.split(".")) - node.level + (path.name == "__init__.py")]
                base = ".".join(base + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in MODULES else base for alias in node.names]
        else:
            continue
        found |= {owner for t in targets if (owner := _owner(t)) and owner != module}
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one node (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def _package(module: str) -> str:
    return module.split(".")[1] if "." in module else module


def _module_graph() -> dict[str, set[str]]:
    return {module: _imports(module, path) for module, path in MODULES.items()}


def test_no_module_imports_itself_back():
    assert _cycles(_module_graph()) == []


def test_the_packages_import_one_way():
    graph: dict[str, set[str]] = {}
    for module, targets in _module_graph().items():
        for target in targets:
            arrow = (_package(module), _package(target))
            if arrow[0] != arrow[1]:
                graph.setdefault(arrow[0], set()).add(arrow[1])
    assert _cycles(graph) == []


def test_the_checker_sees_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


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
