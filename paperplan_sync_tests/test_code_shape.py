"""The product's functions stay short (DEVELOPERS.md, house style): ruff's C901 bounds their branches, this
bounds their length."""

from __future__ import annotations

import ast
from pathlib import Path

import paperplan_sync

MAX_LINES = 60


def test_no_function_in_the_product_is_longer_than_sixty_lines():
    root = Path(paperplan_sync.__file__).parent
    long = []
    for path in sorted(root.rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                lines = node.end_lineno - node.lineno + 1
                if lines > MAX_LINES:
                    long.append(f"{path.relative_to(root)}:{node.lineno} {node.name} ({lines} lines)")
    assert long == []
