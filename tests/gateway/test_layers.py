"""The gateway's modules import each other without a cycle, and each transport asks one identity."""

from __future__ import annotations

import ast
from pathlib import Path

import agentstream.gateway

GATEWAY = Path(agentstream.gateway.__file__).parent
SRC = GATEWAY.parent.parent


def imports_of(path: Path) -> set[str]:
    """Gateway modules that ``path`` imports (at any depth in the module, TYPE_CHECKING too)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            if (
                name.startswith("agentstream.gateway.")
                and (GATEWAY / f"{name.split('.')[2]}.py").exists()
            ):
                found.add(name.split(".")[2])
    return found - {path.stem}


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle in ``graph``, or None."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt) :], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    """The checker itself reports a cycle when there is one."""
    assert cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_no_import_cycle_inside_gateway() -> None:
    """No gateway module imports, directly or through others, a module that imports it back."""
    graph = {path.stem: imports_of(path) for path in GATEWAY.glob("*.py")}
    assert "http" in graph["app"] and "app" not in graph["http"]  # the old app/sse circle
    assert cycle(graph) is None


def test_no_transport_reads_the_user_itself() -> None:
    """Nothing in src reads ?user= or X-User: every door proves identity through identify()."""
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text()
        if 'query_params.get("user")' in text or '"x-user"' in text.lower():
            offenders.append(str(path.relative_to(SRC)))
    assert offenders == [], offenders
