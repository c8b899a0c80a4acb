"""The repository's import graph, read with ``ast`` (nothing is imported),
and the two checks tests/test_layering.py runs on it: each layer imports
only the layers below it, and no module reaches itself through imports.

An import counts wherever it is written, at module level or inside a
function (a cycle through a function-level import is still a cycle: it
only fails later, at the call). An import under ``if TYPE_CHECKING:``
never runs: the layer rules count it, the cycle check does not.
"""

from __future__ import annotations

import ast
from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
#: The application's top-level packages and the entry point; tests and
#: their fixtures may import anything and are not part of the graph.
#: Found, not listed: every top-level package but tests, so a new one must
#: be given a layer (tests/test_layering.py::test_every_module_is_in_a_layer).
PACKAGES = tuple(
    sorted(
        path.parent.name
        for path in ROOT.glob("*/__init__.py")
        if path.parent.name != "tests" and not path.parent.name.startswith(".")
    )
)
ENTRY_POINTS = ("main",)


@dataclass(frozen=True)
class Import:
    importer: str
    imported: str
    line: int
    #: False: written under ``if TYPE_CHECKING:``, never executed.
    runtime: bool = True

    def where(self) -> str:
        return f"{self.importer} (line {self.line}) imports {self.imported}"


def repo_modules(root: Path = ROOT) -> dict[str, Path]:
    """Dotted module name -> file, for every module of PACKAGES and ENTRY_POINTS."""
    found = {name: root / f"{name}.py" for name in ENTRY_POINTS}
    for package in PACKAGES:
        for path in sorted((root / package).rglob("*.py")):
            parts = path.relative_to(root).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(body: Iterable[ast.stmt], runtime: bool = True):
    """Every import statement under ``body``, with whether it runs."""
    for node in body:
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node, runtime
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            yield from _statements(node.body, runtime=False)
            yield from _statements(node.orelse, runtime)
        else:
            for child in ast.iter_child_nodes(node):
                if isinstance(child, ast.stmt):
                    yield from _statements([child], runtime)
                elif isinstance(getattr(child, "body", None), list):  # except, match case
                    yield from _statements(child.body, runtime)  # type: ignore[attr-defined]


def imported_names(module: str, path: Path) -> list[tuple[str, int, bool]]:
    """``(dotted name, line, runtime)`` of each import in ``path`` (absolute,
    relative imports resolved against ``module``; ``from a import b`` as
    ``a.b``, which resolution trims back to ``a`` when ``b`` is no module)."""
    names = []
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node, runtime in _statements(ast.parse(path.read_text()).body):
        if isinstance(node, ast.Import):
            names += [(alias.name, node.lineno, runtime) for alias in node.names]
            continue
        base = node.module or ""
        if node.level:
            anchor = package[: len(package) - (node.level - 1)]
            base = ".".join([*anchor, base] if base else anchor)
        names += [(f"{base}.{alias.name}", node.lineno, runtime) for alias in node.names]
    return names


def _resolve(name: str, known: Mapping[str, Path]) -> str | None:
    while name and name not in known:
        name = name.rpartition(".")[0]
    return name or None


def import_graph(modules: Mapping[str, Path] | None = None) -> list[Import]:
    """Every import from one repository module of ``modules`` to another."""
    modules = repo_modules() if modules is None else modules
    edges = set()
    for module, path in modules.items():
        for name, line, runtime in imported_names(module, path):
            target = _resolve(name, modules)
            if target is not None and target != module:
                edges.add(Import(module, target, line, runtime))
    return sorted(edges, key=lambda e: (e.importer, e.line, e.imported))


def external_imports(modules: Mapping[str, Path] | None = None) -> list[Import]:
    """Imports of modules outside the repository (``imported`` is the top-level name)."""
    modules = repo_modules() if modules is None else modules
    found = []
    for module, path in modules.items():
        for name, line, runtime in imported_names(module, path):
            if _resolve(name, modules) is None and name.split(".")[0] not in PACKAGES:
                found.append(Import(module, name.split(".")[0], line, runtime))
    return found


def layer_of(module: str, layers: Iterable[str]) -> str | None:
    """The most specific layer (a package or module name) ``module`` is in."""
    matching = [layer for layer in layers if module == layer or module.startswith(f"{layer}.")]
    return max(matching, key=len, default=None)


def layer_violations(imports: Iterable[Import], allowed: Mapping[str, Iterable[str]]) -> list[str]:
    """One line per import that leaves the importer's layer for a layer it
    may not import (``allowed``: layer -> the layers below it it may import;
    its own layer is always allowed)."""
    problems = []
    for edge in imports:
        source = layer_of(edge.importer, allowed)
        target = layer_of(edge.imported, allowed)
        if source is None:
            problems.append(f"{edge.importer}: in no layer; add it to the layer table")
            continue
        if target is None or target == source or target.startswith(f"{source}."):
            continue  # its own layer, or a layer inside it (config -> config.model.types)
        permitted = set(allowed[source])
        if target not in permitted:
            problems.append(
                f"{edge.where()}: layer {source} may import only "
                f"{', '.join(sorted(permitted)) or 'nothing else of the repository'}, "
                f"not {target} (rule: imports go downward only)"
            )
    return problems


def cycles(imports: Iterable[Import]) -> list[list[Import]]:
    """One shortest cycle of runtime imports through each strongly connected
    group of modules (Tarjan), as the imports that close it."""
    graph: dict[str, list[Import]] = {}
    for edge in imports:
        if edge.runtime:
            graph.setdefault(edge.importer, []).append(edge)
            graph.setdefault(edge.imported, [])
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for edge in graph[node]:
            if edge.imported not in index:
                visit(edge.imported)
                low[node] = min(low[node], low[edge.imported])
            elif edge.imported in stack:
                low[node] = min(low[node], index[edge.imported])
        if low[node] == index[node]:
            group = []
            while True:
                member = stack.pop()
                group.append(member)
                if member == node:
                    break
            if len(group) > 1:
                groups.append(sorted(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return [_shortest_cycle(group[0], graph, set(group)) for group in sorted(groups)]


def _shortest_cycle(start: str, graph: Mapping[str, list[Import]], group: set[str]) -> list[Import]:
    came: dict[str, Import] = {}
    queue = deque([start])
    while queue:
        node = queue.popleft()
        for edge in graph[node]:
            if edge.imported not in group:
                continue
            if edge.imported == start:
                path = [edge]
                while path[0].importer != start:
                    path.insert(0, came[path[0].importer])
                return path
            if edge.imported not in came:
                came[edge.imported] = edge
                queue.append(edge.imported)
    raise AssertionError(f"{start} is in a strongly connected group but on no cycle")


def describe_cycle(cycle: list[Import]) -> str:
    return "; ".join(edge.where() for edge in cycle) + " (rule: no import cycles)"
