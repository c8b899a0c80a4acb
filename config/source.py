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
"""

from __future__ import annotations

import dataclasses
import importlib
import importlib.util
import os
import re
import sys
import traceback
from collections.abc import Mapping
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
