"""The tests' own layout: test modules import helper modules, never each
other, and a shared helper is defined once."""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

TESTS = Path(__file__).resolve().parent

#: Helpers several modules use: each lives in one helper module.
SHARED_HELPERS = ("one_line", "unit_stack", "problems_of")


def _is_test_module(name: str) -> bool:
    return name.split(".")[-1].startswith("test_")


def imported_test_modules(path: Path) -> list[str]:
    """The test modules ``path`` imports (``from tests.test_x import ...``,
    ``from tests import test_x``, ``import tests.test_x``)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            if _is_test_module(node.module):
                found.append(node.module)
            elif node.module == "tests":
                found += [f"tests.{a.name}" for a in node.names if _is_test_module(a.name)]
        elif isinstance(node, ast.Import):
            found += [a.name for a in node.names if _is_test_module(a.name)]
    return found


def test_no_test_module_imports_another():
    offenders = {
        path.name: imported
        for path in sorted(TESTS.glob("test_*.py"))
        if (imported := imported_test_modules(path))
    }
    assert offenders == {}, "move what they share into a helper module (tests/*_helpers.py)"


def test_the_check_sees_each_form_of_import(tmp_path):
    module = tmp_path / "test_x.py"
    module.write_text(
        "from tests.test_rules import ctx\nfrom tests import test_release, helpers\n"
        "import tests.test_config\nfrom tests.rules_helpers import ctx\n"
    )
    assert imported_test_modules(module) == [
        "tests.test_rules",
        "tests.test_release",
        "tests.test_config",
    ]


def test_shared_helpers_are_defined_once():
    defined = defaultdict(list)
    for path in sorted(TESTS.rglob("*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.FunctionDef) and node.name in SHARED_HELPERS:
                defined[node.name].append(str(path.relative_to(TESTS)))
    assert {name: where for name, where in defined.items() if len(where) > 1} == {}
    assert set(defined) == set(SHARED_HELPERS)
