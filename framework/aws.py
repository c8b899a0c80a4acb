"""Loads only the AWS provider modules the app uses.

Importing any ``cdktf_cdktf_provider_aws.<module>`` normally runs the package
``__init__`` first, which imports all ~2,200 generated submodules (about 8 s
and several hundred MB, see docs/performance.md). The package ``__init__``
holds nothing the submodules need besides ``_jsii`` (the assembly loader), so
we register a bare package object that has the right ``__path__`` and let
Python import ``_jsii`` and each submodule on first attribute access.

Safety:
* If the installed package does not look like the layout this was written
  for (no ``_jsii`` directory, no spec), we fall back to the plain import.
* ``PAYMENT_PROVIDER_IMPORT=plain`` forces the plain import; the test suite
  synthesizes every stack both ways and requires byte-identical JSON.

Usage: ``from framework.aws import aws`` then ``aws.vpc.Vpc(...)``.
"""
from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types

PACKAGE = "cdktf_cdktf_provider_aws"
IMPORT_MODE_ENV = "PAYMENT_PROVIDER_IMPORT"


def _load_package_lazily() -> str:
    """Registers the provider package without running its ``__init__``.

    Returns the mode actually used: ``fast`` or ``plain``.
    """
    if PACKAGE in sys.modules:
        package = sys.modules[PACKAGE]
        return "fast" if getattr(package, "__payment_fast_loader__", False) else "plain"
    try:
        spec = importlib.util.find_spec(PACKAGE)
        locations = list(spec.submodule_search_locations or []) if spec else []
        if not locations or not any(
            os.path.isfile(os.path.join(loc, "_jsii", "__init__.py")) for loc in locations
        ):
            raise ImportError(f"{PACKAGE} layout not recognised")
        package = types.ModuleType(PACKAGE)
        package.__path__ = locations
        package.__file__ = spec.origin
        package.__spec__ = spec
        package.__package__ = PACKAGE
        package.__payment_fast_loader__ = True
        sys.modules[PACKAGE] = package
        # Loads the jsii assembly exactly as the package __init__ would.
        importlib.import_module(f"{PACKAGE}._jsii")
        return "fast"
    except Exception:  # noqa: BLE001 - any surprise means: use the safe path
        sys.modules.pop(PACKAGE, None)
        sys.modules.pop(f"{PACKAGE}._jsii", None)
        importlib.import_module(PACKAGE)
        return "plain"


def _choose_mode() -> str:
    requested = os.environ.get(IMPORT_MODE_ENV, "fast")
    if requested not in ("fast", "plain"):
        raise ValueError(
            f"{IMPORT_MODE_ENV}={requested!r} is not allowed; use 'fast' or 'plain'"
        )
    if requested == "plain":
        importlib.import_module(PACKAGE)
        return "plain"
    return _load_package_lazily()


class _Provider:
    """Attribute access imports the provider submodule of that name."""

    def __init__(self) -> None:
        self.mode = _choose_mode()

    def __getattr__(self, name: str) -> types.ModuleType:
        if name.startswith("__"):
            raise AttributeError(name)
        module = importlib.import_module(f"{PACKAGE}.{name}")
        setattr(self, name, module)
        return module


aws = _Provider()
