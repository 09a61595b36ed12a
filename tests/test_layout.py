"""Issue 16's shape rules, checked so they cannot rot: sizes, mirrored tests, no gateway cycles."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SRC = ROOT / "src" / "agentstream"
MAX_MODULE_LINES = 500
MAX_FUNCTION_LINES = 50


def _modules() -> list[Path]:
    return sorted(p for p in SRC.rglob("*.py") if "static" not in p.parts)


def _is_stub(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    """A body of only a docstring, ``...``, ``pass`` or ``raise NotImplementedError``."""
    for stmt in node.body:
        if isinstance(stmt, ast.Pass | ast.Raise):
            continue
        if isinstance(stmt, ast.Expr) and isinstance(stmt.value, ast.Constant):
            continue
        return False
    return True


def _has_logic(tree: ast.Module) -> bool:
    """A module with a function or method that does something (not only constants or stubs)."""
    return any(
        isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and not _is_stub(node)
        for node in ast.walk(tree)
    )


def _test_file(module: Path) -> Path:
    """``a/b.py`` -> ``tests/a/test_b.py``; ``a/b/__init__.py`` -> ``tests/a/b/test_b.py``."""
    rel = module.relative_to(SRC)
    if module.name == "__init__.py":
        name = rel.parent.name or "agentstream"
        return ROOT / "tests" / rel.parent / f"test_{name}.py"
    return ROOT / "tests" / rel.parent / f"test_{module.stem}.py"


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_module_is_small(module: Path) -> None:
    """No module under src/ passes 500 lines."""
    assert len(module.read_text().splitlines()) <= MAX_MODULE_LINES


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_functions_are_short(module: Path) -> None:
    """No function under src/ passes 50 lines."""
    tree = ast.parse(module.read_text())
    long = [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno is not None
        and node.end_lineno - node.lineno + 1 > MAX_FUNCTION_LINES
    ]
    assert long == []


@pytest.mark.parametrize("module", _modules(), ids=lambda p: str(p.relative_to(SRC)))
def test_module_with_logic_has_a_test_file(module: Path) -> None:
    """Every module with logic has tests/<same path>/test_<name>.py."""
    if not _has_logic(ast.parse(module.read_text())):
        pytest.skip("no logic")
    assert _test_file(module).is_file(), f"missing {_test_file(module).relative_to(ROOT)}"


def _gateway_imports() -> dict[str, set[str]]:
    graph: dict[str, set[str]] = {}
    for path in (SRC / "gateway").glob("*.py"):
        name = f"agentstream.gateway.{path.stem}"
        deps: set[str] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.module:
                deps.add(node.module)
            elif isinstance(node, ast.Import):
                deps.update(alias.name for alias in node.names)
        graph[name] = {d for d in deps if d.startswith("agentstream.gateway.")}
    return graph


def test_gateway_has_no_import_cycle() -> None:
    """No module of gateway/ imports, directly or not, a module that imports it back."""
    graph = _gateway_imports()

    def reaches(start: str, goal: str, seen: set[str]) -> bool:
        for dep in graph.get(start, ()):
            if dep == goal or (dep not in seen and reaches(dep, goal, seen | {dep})):
                return True
        return False

    cycles = [name for name in graph if reaches(name, name, {name})]
    assert cycles == []
