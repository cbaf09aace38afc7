"""The import graph of finereid, built from the source with `ast`: imports go one way.

No package imports a package that imports it back, and no module a module that imports it back, counting
imports inside functions too (they hide a cycle; they do not remove it).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src"
PACKAGE = "finereid"


def _modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (a package's name is its __init__)."""
    modules = {}
    for path in sorted((SRC / PACKAGE).rglob("*.py")):
        parts = list(path.relative_to(SRC).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        modules[".".join(parts)] = path
    return modules


def _imported(path: Path, name: str, modules: dict[str, Path]) -> set[str]:
    """The finereid modules `path` imports anywhere (module level, functions, methods)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                base = ".".join(anchor[: len(anchor) - node.level + 1] + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        else:
            continue
        for target in targets:
            while target and target not in modules:  # `from pkg import name`: the name may be no module
                target = target.rpartition(".")[0]
            if target.startswith(PACKAGE + ".") and target != name:
                found.add(target)
    return found


def _unit(module: str) -> str:
    """The package (or top-level module) a module belongs to: finereid.engine.module -> engine."""
    return module.split(".")[1]


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one node (Tarjan's algorithm)."""
    index, low, stack, on_stack, result, counter = {}, {}, [], set(), [], [0]

    def visit(node: str) -> None:
        index[node] = low[node] = counter[0]
        counter[0] += 1
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, ()):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                result.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return result


@pytest.fixture(scope="module")
def module_graph() -> dict[str, set[str]]:
    """Module -> the finereid modules it imports."""
    modules = _modules()
    return {name: _imported(path, name, modules) for name, path in modules.items() if name != PACKAGE}


def test_packages_import_one_way(module_graph):
    graph: dict[str, set[str]] = {}
    for module, targets in module_graph.items():
        graph.setdefault(_unit(module), set()).update(_unit(t) for t in targets if _unit(t) != _unit(module))
    assert _cycles(graph) == []


def test_modules_import_one_way(module_graph):
    # A package's __init__ re-exports its modules; a module importing its own package's public names is
    # the same dependency seen from the other side, so those edges are left out.
    graph = {
        module: {t for t in targets if not (module.startswith(t + ".") and t.count(".") >= 1)}
        for module, targets in module_graph.items()
    }
    assert _cycles(graph) == []


def test_the_graph_sees_function_level_imports(module_graph):
    # finereid.cli imports its commands lazily (importlib), but commands import inside functions:
    # the check above is only worth something if those edges are in the graph.
    assert "finereid.evaluation" in module_graph["finereid.commands.eval"]
    assert "finereid.engine" in module_graph["finereid.commands.train"]


def test_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_layers_stay_where_the_architecture_puts_them(module_graph):
    # evaluation sits below engine and deploy (both use it); metrics below everything that scores.
    imports = {}
    for module, targets in module_graph.items():
        imports.setdefault(_unit(module), set()).update(_unit(t) for t in targets)
    assert not imports["evaluation"] & {"engine", "deploy", "reports", "demo", "experiments", "commands"}
    assert not imports["metrics"] & {"data", "models", "losses", "engine", "evaluation", "deploy"}
    assert not imports["deploy"] & {"engine", "reports", "demo", "experiments"}
    assert not imports["engine"] & {"deploy", "reports", "demo", "experiments"}
    # explain (activation and embedding maps) sits above evaluation and below what draws or runs it
    assert not imports["explain"] & {"engine", "reports", "demo", "experiments", "commands"}
    assert "explain" not in imports["evaluation"] | imports["models"] | imports["synth"] | imports["metrics"]
