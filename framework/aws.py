"""Loads only the AWS provider modules the app uses.

The provider package is ``framework.distribution.ACTIVE.provider_package``
(``cdktf_cdktf_provider_aws``, or ``cdktn_provider_aws`` under CDK Terrain).
Importing any ``cdktf_cdktf_provider_aws.<module>`` normally runs the package
``__init__`` first, which imports all ~2,200 generated submodules (about 8 s
and several hundred MB, see docs/performance.md). CDK Terrain's ``__init__``
already imports submodules on first use (PEP 562); there the fast loader
saves little in Python, and its Node side (lazy_provider_index.js) the most. The package ``__init__``
holds nothing the submodules need besides ``_jsii`` (the assembly loader), so
we register a bare package object that has the right ``__path__`` and let
Python import ``_jsii`` and each submodule on first attribute access.

Safety:
* If the installed package does not look like the layout this was written
  for (no ``_jsii`` directory, no spec), we fall back to the plain import.
* ``PAYMENT_PROVIDER_IMPORT=plain`` forces the plain import; the test suite
  synthesizes every stack both ways and requires byte-identical JSON.

Type checks, once per signature: every generated constructor starts with
``typing.get_type_hints(<stub>)`` and a typeguard check of its arguments.
``get_type_hints`` re-evaluates the stub's string annotations on every call
(about a third of the Python time of a synthesis). The stubs are module-level
functions that never change, so each submodule we load sees a ``typing``
whose ``get_type_hints`` remembers its answer per stub; the checks themselves
still run on every call. Its ``Optional``/``Union``/``List``... keep every
subscription (``_CachedForm``). Nothing outside the provider's modules is
affected.

Usage: ``from framework.aws import aws`` then ``aws.vpc.Vpc(...)``.
"""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import types
import typing
from typing import Any

from framework.distribution import ACTIVE
from framework.node_runtime import requested_mode

PACKAGE = ACTIVE.provider_package


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
        package.__file__ = spec.origin if spec is not None else None
        package.__spec__ = spec
        package.__package__ = PACKAGE
        package.__payment_fast_loader__ = True  # type: ignore[attr-defined]  # marks the lazy package
        sys.modules[PACKAGE] = package
        # Loads the jsii assembly exactly as the package __init__ would.
        importlib.import_module(f"{PACKAGE}._jsii")
        return "fast"
    except Exception:
        sys.modules.pop(PACKAGE, None)
        sys.modules.pop(f"{PACKAGE}._jsii", None)
        importlib.import_module(PACKAGE)
        return "plain"


#: Prefix jsii gives the signature stubs it type-checks arguments against.
STUB_PREFIX = "_typecheckingstub__"


#: The typing forms the generated code subscribes at run time.
CACHED_FORMS = ("Union", "Optional", "List", "Sequence", "Mapping", "Dict")


class _CachedForm:
    """A typing form (``typing.Optional``...) remembering every subscription.

    typing keeps only the last 128 subscriptions per form, fewer than the
    provider's distinct types, so its cache keeps missing and rebuilding
    them; property getters subscribe on every call (``typing.cast(typing.
    Optional[...], value)``). The key is the identity of the parameters,
    which the cache keeps alive; the values are typing's own objects.
    """

    def __init__(self, form) -> None:
        self._form = form
        self._cache: dict[object, tuple[object, object]] = {}

    def __getitem__(self, params):
        key = tuple(map(id, params)) if type(params) is tuple else id(params)
        hit = self._cache.get(key)
        if hit is None:
            hit = self._cache[key] = (params, self._form[params])
        return hit[1]

    def __repr__(self) -> str:
        return repr(self._form)


def _typing_with_cached_stub_hints() -> types.ModuleType:
    """A copy of ``typing`` whose ``get_type_hints`` caches stub answers and
    whose forms cache their subscriptions."""
    shared = types.ModuleType("typing")
    shared.__dict__.update(typing.__dict__)
    cache: dict[object, dict] = {}

    def get_type_hints(obj, globalns=None, localns=None, include_extras=False):
        if (
            globalns is None
            and localns is None
            and not include_extras
            and getattr(obj, "__name__", "").startswith(STUB_PREFIX)
        ):
            hints = cache.get(obj)
            if hints is None:
                hints = cache[obj] = typing.get_type_hints(obj)
            return hints
        return typing.get_type_hints(obj, globalns, localns, include_extras)

    shared.get_type_hints = get_type_hints  # type: ignore[attr-defined]
    for form in CACHED_FORMS:
        setattr(shared, form, _CachedForm(getattr(typing, form)))
    return shared


_TYPING = _typing_with_cached_stub_hints()
_NONE_ALLOWED: dict[int, tuple[object, bool]] = {}


def _allows_none(expected_type) -> bool:
    """Whether ``None`` passes ``expected_type`` (Optional, Any), cached."""
    hit = _NONE_ALLOWED.get(id(expected_type))
    if hit is None:
        allowed = (
            expected_type is typing.Any
            or expected_type is None
            or expected_type is type(None)
            or (
                typing.get_origin(expected_type) is typing.Union
                and type(None) in typing.get_args(expected_type)
            )
        )
        hit = _NONE_ALLOWED[id(expected_type)] = (expected_type, allowed)
    return hit[1]


def _none_first(check_type):
    """The module's ``check_type``, answering ``None`` for an optional type
    at once. typeguard would accept it too, but only after trying every other
    member of the union, each failure an exception with a formatted message;
    most struct fields are unset."""

    def checked(argname, value, expected_type):
        if value is None and _allows_none(expected_type):
            return None
        return check_type(argname=argname, value=value, expected_type=expected_type)

    checked.__wrapped__ = check_type  # type: ignore[attr-defined]
    return checked


def _choose_mode() -> str:
    if requested_mode(os.environ) == "plain":
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
        # jsii modules publish their API and keep the code in ``_private``.
        code: Any = getattr(module, "_private", module)
        if self.mode == "fast" and getattr(code, "typing", None) is typing:
            code.typing = _TYPING
            if callable(getattr(code, "check_type", None)):
                code.check_type = _none_first(code.check_type)
        setattr(self, name, module)
        return module


aws = _Provider()
