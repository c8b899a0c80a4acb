"""Where the environments come from: the configuration module, and every
Python-level mistake in it as one line.

``PAYMENT_CONFIG`` names the module that defines ``ENVIRONMENTS`` (a tuple of
``EnvironmentConfig``): a dotted module name importable from the project
root (``tests.fixtures.realistic``) or the path of a ``.py`` file. Unset, it
is ``config.environments``, the user's configuration. The app, the tools and
the tests all load environments through here, so one variable points all of
them at another configuration (README, "Configuration").

A configuration file is Python, so its mistakes are Python errors: a
misspelled field is a ``TypeError`` raised by the dataclass, a missing import
a ``NameError``. Each becomes a ``ConfigError`` with one line naming the file,
the line and, where there is one, the field and what is allowed, so callers
refuse it like any invalid value (exit code 2, no traceback, nothing left in
``cdktf.out``).

The value rules run on the objects, not the text, so their lines (``dev.
log_retention_days: '30' is a str; expected int``) name a field but no
line. ``located`` adds ``<file>:<line>:`` where the source shows which
keyword argument set the field: a literal equal to the value, reached from
the environment's ``EnvironmentConfig(name="dev", ...)`` call through
keyword arguments, module-level names, ``override`` and tuple literals.
Anything else (a computed value, a name from another module, two places
that could have set it) keeps the line without a location, never a wrong one.
"""

from __future__ import annotations

import ast
import collections
import dataclasses
import importlib
import importlib.util
import os
import re
import sys
import traceback
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from types import ModuleType

from config import model
from config.model import ConfigError, EnvironmentConfig

#: Environment variable naming the configuration module or file.
CONFIG_VARIABLE = "PAYMENT_CONFIG"
#: The user's configuration, used when the variable is unset.
DEFAULT_CONFIG = "config.environments"

ROOT = Path(__file__).resolve().parent.parent
_MODULE_NAME = re.compile(r"^[A-Za-z_]\w*(\.[A-Za-z_]\w*)*$")
_UNEXPECTED = re.compile(r"(\w+)\.__init__\(\) got an unexpected keyword argument '(\w+)'")
_MISSING = re.compile(r"(\w+)\.__init__\(\) missing \d+ required keyword-only arguments?: (.+)$")
#: The loader and the model package: a frame there is never the user's.
_LIBRARY = (Path(__file__).resolve(), *Path(model.__file__).resolve().parent.glob("*.py"))


def configuration_name(environ: Mapping[str, str] = os.environ) -> str:
    """The configuration this process reads: ``PAYMENT_CONFIG`` or the default."""
    return environ.get(CONFIG_VARIABLE) or DEFAULT_CONFIG


def configured_environments(
    environ: Mapping[str, str] = os.environ,
) -> tuple[EnvironmentConfig, ...]:
    """``ENVIRONMENTS`` of the configuration ``environ`` names, not yet
    validated (``config.load_environments`` validates). Raises ``ConfigError``
    with one line for any error the module raises while it is imported."""
    name = configuration_name(environ)
    module = _import(name)
    environments = getattr(module, "ENVIRONMENTS", None)
    where = _display(Path(module.__file__ or name))
    if not isinstance(environments, (tuple, list)) or not all(
        isinstance(env, EnvironmentConfig) for env in environments
    ):
        raise ConfigError(
            [
                f"{where}: ENVIRONMENTS is {type(environments).__name__}, not a tuple of "
                "EnvironmentConfig; define ENVIRONMENTS = (DEV, STAGING, ...)"
            ]
        )
    if not environments:
        raise ConfigError([f"{where}: ENVIRONMENTS is empty; define at least one environment"])
    return tuple(environments)


def _import(name: str) -> ModuleType:
    is_file = name.endswith(".py") or os.sep in name
    if not is_file and not _MODULE_NAME.match(name):
        raise ConfigError(
            [
                f"{CONFIG_VARIABLE}: {name!r} is not allowed; give a module name "
                "(config.environments) or the path of a .py file"
            ]
        )
    if is_file:
        path = Path(name).resolve()
        if not path.is_file():
            raise ConfigError([f"{CONFIG_VARIABLE}: {name!r} is not a file; give a .py file"])
    else:
        spec = _find_spec(name)
        if spec is None or spec.origin is None:
            raise ConfigError(
                [f"{CONFIG_VARIABLE}: no module {name!r} under {ROOT}; give a module or a .py file"]
            )
        path = Path(spec.origin)
    try:
        if not is_file:
            return importlib.import_module(name)
        return _import_file(path)
    except ConfigError:
        raise
    except Exception as err:  # any error of the user's module is one line
        raise ConfigError([describe(err, path)]) from None


def _find_spec(name: str):
    try:
        return importlib.util.find_spec(name)
    except (ImportError, ValueError):  # a parent package is missing
        return None


def _import_file(path: Path) -> ModuleType:
    module_name = f"payment_config_{abs(hash(str(path)))}"
    if module_name in sys.modules:
        return sys.modules[module_name]
    spec = importlib.util.spec_from_file_location(module_name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[module_name]
        raise
    return module


def describe(err: BaseException, path: Path) -> str:
    """One line for an error raised while importing the configuration
    ``path``: the file and line where it happened, and what to do."""
    if isinstance(err, SyntaxError):
        where = _display(Path(err.filename)) if err.filename else _display(path)
        return f"{where}:{err.lineno}: {err.msg}; fix the Python syntax"
    where = _location(err, path)
    message = str(err).splitlines()[0] if str(err) else type(err).__name__
    if isinstance(err, TypeError):
        unexpected = _UNEXPECTED.search(message)
        if unexpected:
            cls, field = unexpected.groups()
            return (
                f"{where}: {cls}.{field}: {field!r} is not a field of {cls}; "
                f"allowed: {', '.join(_fields(cls))}"
            )
        missing = _MISSING.search(message)
        if missing:
            cls, fields = missing.groups()
            return f"{where}: {cls}: required field(s) missing: {fields}"
    if isinstance(err, ModuleNotFoundError):
        return f"{where}: {message}; the configuration may import only installed modules"
    return f"{where}: {type(err).__name__}: {message}"


def _fields(cls_name: str) -> list[str]:
    cls = getattr(model, cls_name, None)
    if cls is None or not dataclasses.is_dataclass(cls):
        return []
    return [f.name for f in dataclasses.fields(cls)]


def _location(err: BaseException, path: Path) -> str:
    """``file:line`` of the innermost frame in the user's code (the
    configuration and what it imports from the project; not the loader, the
    model, installed packages or the standard library); else the module."""
    frames = [
        frame
        for frame in traceback.extract_tb(err.__traceback__)
        if _is_user_file(Path(frame.filename), path)
    ]
    if not frames:
        return _display(path)
    frame = frames[-1]
    return f"{_display(Path(frame.filename))}:{frame.lineno}"


def _is_user_file(frame_file: Path, config_file: Path) -> bool:
    if frame_file.suffix != ".py":
        return False  # <frozen importlib._bootstrap> and the like
    resolved = frame_file.resolve()
    if resolved == config_file.resolve():
        return True
    return (
        ROOT in resolved.parents
        and resolved not in _LIBRARY
        and not resolved.is_relative_to(ROOT / ".venv")
    )


def _display(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def located(
    err: ConfigError,
    environments: Sequence[EnvironmentConfig],
    environ: Mapping[str, str] = os.environ,
) -> ConfigError:
    """``err`` (the rules' problems for the configured ``environments``)
    with ``<file>:<line>: `` before each problem whose field the
    configuration module visibly sets (module docstring); the rest as they
    were."""
    path = Path(_import(configuration_name(environ)).__file__ or "")
    try:
        tree = ast.parse(path.read_text(), filename=str(path))
    except (OSError, SyntaxError, ValueError):
        return err
    names = collections.Counter(env.name for env in environments)
    by_name = {env.name: env for env in environments if names[env.name] == 1}
    source = _Source(tree)
    where = _display(path)
    problems = []
    for problem in err.problems:
        line = source.line_of(problem, by_name)
        problems.append(problem if line is None else f"{where}:{line}: {problem}")
    return ConfigError(problems)


#: ``dev.services.payment-api.cpu`` or ``dev.alarms.emails[0]``: the path a
#: rule's line starts with, up to ``: ``.
_PROBLEM_PATH = re.compile(r"^([a-z][\w-]*(?:\.[\w-]+(?:\[\d+\])*)+): ")
_SEGMENT = re.compile(r"([\w-]+)|\[(\d+)\]")
_COPIES = ("override", "replace")  # override(value, **changes), dataclasses.replace


class _Source:
    """The configuration module's syntax tree, read for the keyword argument
    that set a field (``located``)."""

    def __init__(self, tree: ast.Module):
        assigned: dict[str, list[ast.expr]] = {}
        for statement in tree.body:
            if isinstance(statement, ast.Assign):
                targets, value = statement.targets, statement.value
            elif isinstance(statement, ast.AnnAssign) and statement.value is not None:
                targets, value = [statement.target], statement.value
            else:
                continue
            for target in targets:
                if isinstance(target, ast.Name):
                    assigned.setdefault(target.id, []).append(value)
        bound = collections.Counter(
            node.id
            for node in ast.walk(tree)
            if isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load)
        )
        #: Names the module binds once, at its top level, to their value (a
        #: name bound again anywhere, even in a branch or a function: unknown).
        self.names = {
            name: values[0]
            for name, values in assigned.items()
            if len(values) == 1 and bound[name] == 1
        }
        self.calls = [node for node in ast.walk(tree) if isinstance(node, ast.Call)]

    def line_of(self, problem: str, environments: Mapping[str, object]) -> int | None:
        match = _PROBLEM_PATH.match(problem)
        if match is None:
            return None
        env_name, _, rest = match.group(1).partition(".")
        env = environments.get(env_name)
        if env is None:
            return None
        steps = [m.group(1) or int(m.group(2)) for m in _SEGMENT.finditer(rest)]
        lines = {
            line
            for call in self._environment_calls(env_name)
            if (line := self._follow(call, env, steps)) is not None
        }
        return lines.pop() if len(lines) == 1 else None

    def _environment_calls(self, name: str) -> Iterator[ast.Call]:
        for call in self.calls:
            if self._class_of(call) != "EnvironmentConfig":
                continue
            setter = self._setter(call, "name")
            if setter is not None and _literal(setter.value) == (True, name):
                yield call

    def _follow(self, node: ast.expr, value: object, steps: list[str | int]) -> int | None:
        """The line of the node that set ``steps`` in ``value``, built by
        ``node``, when its literal is the value; else None."""
        line = None
        for step in steps:
            if isinstance(step, int) or not dataclasses.is_dataclass(value):
                items = self._items(node)
                item = _item(value, step)
                if items is None or item is None or len(items) != len(value):  # type: ignore[arg-type]
                    return None
                node, value = items[item], value[item]  # type: ignore[index]
                line = node.lineno
                continue
            if step not in {f.name for f in dataclasses.fields(value)}:
                return None
            setter = self._setter(node, step)
            if setter is None:
                return None  # a default, or set where the source does not show
            node, value, line = setter.value, getattr(value, step), setter.lineno
        literal = _literal(self._deref(node))
        return line if literal[0] and _same(literal[1], value) else None

    def _setter(self, node: ast.expr, field: str) -> ast.keyword | None:
        node = self._deref(node)
        if not isinstance(node, ast.Call):
            return None
        for keyword in node.keywords:
            if keyword.arg == field:
                return keyword
        if any(keyword.arg is None for keyword in node.keywords):
            return None  # **changes: may set it, or not
        if _callee(node) in _COPIES and node.args:
            return self._setter(node.args[0], field)
        return None

    def _class_of(self, node: ast.expr) -> str | None:
        node = self._deref(node)
        if not isinstance(node, ast.Call):
            return None
        if _callee(node) in _COPIES and node.args:
            return self._class_of(node.args[0])
        return _callee(node)

    def _items(self, node: ast.expr) -> list[ast.expr] | None:
        node = self._deref(node)
        if isinstance(node, (ast.Tuple, ast.List)) and not any(
            isinstance(item, ast.Starred) for item in node.elts
        ):
            return node.elts
        return None

    def _deref(self, node: ast.expr) -> ast.expr:
        seen: set[str] = set()
        while isinstance(node, ast.Name) and node.id in self.names and node.id not in seen:
            seen.add(node.id)
            node = self.names[node.id]
        return node


def _callee(call: ast.Call) -> str | None:
    func = call.func
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute):
        return func.attr
    return None


def _item(value: object, step: str | int) -> int | None:
    """The index of ``step`` in the tuple ``value``: an index, or the item
    whose ``name`` it is (services are named, as the rules name them)."""
    if not isinstance(value, (tuple, list)):
        return None
    if isinstance(step, int):
        return step if step < len(value) else None
    named = [idx for idx, item in enumerate(value) if getattr(item, "name", None) == step]
    return named[0] if len(named) == 1 else None


def _literal(node: ast.expr) -> tuple[bool, object]:
    try:
        return True, ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False, None


def _same(literal: object, value: object) -> bool:
    return type(literal) is type(value) and literal == value
