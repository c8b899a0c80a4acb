"""The architecture as a test (docs/decisions.md D62): each layer imports
only the layers below it, only the framework layer names the framework, and
no module of the application reaches itself through imports.

Layers, lowest first: ``config`` (validated data) and ``framework`` (the
only import of cdktf, constructs and the provider) import nothing of the
repository; ``modules`` (constructs) build on both; ``stacks`` wire modules
and apply ``guardrails``; ``main`` builds the app. Beside them: the release
tool, the release check's function, ``verify`` and ``tools``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.import_graph import (
    Import,
    cycles,
    describe_cycle,
    external_imports,
    import_graph,
    imported_names,
    layer_of,
    layer_violations,
    repo_modules,
)

#: Layer -> the other layers it may import (its own is always allowed).
#: The most specific name applies: ``config.model.types`` before ``config``.
ALLOWED: dict[str, frozenset[str]] = {
    "config": frozenset(),
    "framework": frozenset(),
    # Packaged alone into the release check's Lambda archive
    # (modules/release_guard.py): the standard library and boto3 only.
    "release_guard": frozenset(),
    # The restore validator's Lambda archive (modules/restore_validator.py,
    # D60): packaged alone as well.
    "restore_validator": frozenset(),
    # A module that packages a Lambda handler reads the events it answers
    # from the handler (their one home); the handlers import nothing here.
    "modules": frozenset({"config", "framework", "release_guard", "restore_validator"}),
    # Rules check the resolved JSON; a contract they share with a module
    # lives in config (config/codedeploy_contract.py), never in modules.
    "guardrails": frozenset({"config", "framework"}),
    "stacks": frozenset({"config", "framework", "modules", "guardrails"}),
    "main": frozenset({"config", "framework", "guardrails", "stacks"}),
    # Operations against a deployed account: configuration and the release
    # check's read-only fields (release_guard.handler), never the stacks.
    "release": frozenset({"config", "release_guard"}),
    "verify": frozenset({"config", "guardrails"}),
    "tools": frozenset(
        {
            "config",
            "framework",
            "guardrails",
            "modules",
            "stacks",
            "main",
            "release",
            "release_guard",
            "verify",
        }
    ),
    # Inside config.model: types at the bottom, validation on top; the rest
    # of config imports the package (config.model re-exports every name).
    "config.model.types": frozenset(),
    "config.model.timing": frozenset({"config.model.types"}),
    "config.model.placeholder_values": frozenset({"config.model.types"}),
    "config.model.validation": frozenset(
        {"config.model.types", "config.model.timing", "config.model.placeholder_values"}
    ),
}
#: Renamed by the move to CDK Terrain (FIELD_NOTES §1): one layer names them.
FRAMEWORK_PACKAGES = ("cdktf", "constructs", "cdktf_cdktf_provider_aws")


@pytest.fixture(scope="module")
def graph() -> list[Import]:
    return import_graph()


def test_every_module_is_in_a_layer():
    assert [m for m in repo_modules() if layer_of(m, ALLOWED) is None] == []


def test_imports_go_downward_only(graph):
    problems = layer_violations(graph, ALLOWED)
    assert problems == [], "\n".join(problems)


def test_there_are_no_import_cycles(graph):
    found = [describe_cycle(cycle) for cycle in cycles(graph)]
    assert found == [], "\n".join(found)


def test_only_the_framework_layer_imports_the_framework():
    offenders = [
        f"{edge.importer} (line {edge.line}) imports {edge.imported}: only framework may "
        "(rule: one layer names the framework)"
        for edge in external_imports()
        if edge.imported in FRAMEWORK_PACKAGES and not edge.importer.startswith("framework")
    ]
    assert offenders == [], "\n".join(offenders)


def test_config_model_reexports_every_public_name():
    """``from config.model import X`` works for every public name its modules
    define (users' configurations and every caller import from there)."""
    import ast

    import config.model

    defined = set()
    for path in sorted(Path(config.model.__file__).parent.glob("[!_]*.py")):
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
                defined.add(node.name)
            elif isinstance(node, (ast.Assign, ast.AnnAssign)):
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                defined |= {t.id for t in targets if isinstance(t, ast.Name)}
    public = {name for name in defined if not name.startswith("_")}
    assert "EnvironmentConfig" in public and "validate_all" in public
    assert sorted(public - set(config.model.__all__)) == []
    assert all(hasattr(config.model, name) for name in config.model.__all__)


# --- The checker itself, on graphs small enough to read -------------------------------------


def test_a_cycle_names_each_import_that_closes_it():
    graph = [
        Import("release.checks", "release.deploy", 630),
        Import("release.deploy", "release.checks", 23),
        Import("release.deploy", "release.errors", 24),
    ]
    [cycle] = cycles(graph)
    message = describe_cycle(cycle)
    assert "release.checks (line 630) imports release.deploy" in message
    assert "release.deploy (line 23) imports release.checks" in message
    assert "rule: no import cycles" in message
    assert "release.errors" not in message


def test_a_longer_cycle_is_found_and_a_type_checking_import_closes_none():
    chain = [Import("a", "b", 1), Import("b", "c", 1), Import("c", "a", 1)]
    assert [[(e.importer, e.imported) for e in c] for c in cycles(chain)] == [
        [("a", "b"), ("b", "c"), ("c", "a")]
    ]
    annotations_only = [Import("a", "b", 1), Import("b", "a", 2, runtime=False)]
    assert cycles(annotations_only) == []


def test_an_upward_import_names_both_modules_and_the_rule():
    graph = [
        Import("config.naming", "stacks.base", 7),
        Import("stacks.base", "config.naming", 3),
        Import("config.model.types", "config.model.validation", 9, runtime=False),
    ]
    problems = layer_violations(graph, ALLOWED)
    assert len(problems) == 2
    upward, inside = problems
    assert upward.startswith("config.naming (line 7) imports stacks.base: layer config")
    assert "not stacks (rule: imports go downward only)" in upward
    assert inside.startswith("config.model.types (line 9) imports config.model.validation")


def test_the_parser_sees_function_level_relative_and_type_checking_imports(tmp_path):
    package = tmp_path / "pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "low.py").write_text("")
    (package / "high.py").write_text(
        "from typing import TYPE_CHECKING\n"
        "from . import low\n"
        "if TYPE_CHECKING:\n    from pkg.other import Thing\n"
        "def later():\n    try:\n        import pkg.other\n    except ImportError:\n"
        "        from .low import name\n"
    )
    (package / "other.py").write_text("")
    assert imported_names("pkg.high", package / "high.py") == [
        ("typing.TYPE_CHECKING", 1, True),
        ("pkg.low", 2, True),
        ("pkg.other.Thing", 4, False),
        ("pkg.other", 7, True),
        ("pkg.low.name", 9, True),
    ]
    modules = {f"pkg.{name}": package / f"{name}.py" for name in ("low", "high", "other")}
    modules["pkg"] = package / "__init__.py"
    assert [(e.imported, e.runtime) for e in import_graph(modules)] == [
        ("pkg.low", True),
        ("pkg.other", False),
        ("pkg.other", True),
        ("pkg.low", True),
    ]
