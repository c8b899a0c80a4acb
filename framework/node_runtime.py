"""How jsii starts Node.js for this app: the one place that sets its options.

``configure(os.environ)`` runs before cdktf is imported (framework/__init__).
It decides from the provider import mode (``PAYMENT_PROVIDER_IMPORT``,
framework/aws.py) and is idempotent, also in child processes that inherit
an environment it already changed: our own additions are recomputed from
the caller's original ``NODE_OPTIONS`` (kept in ``PAYMENT_BASE_NODE_OPTIONS``),
so a ``plain`` child of a ``fast`` parent really runs the stock setup.

Always:
* ``JSII_NODE``: the Node 22 that ``npm ci`` pins next to the project,
  unless the caller chose one.
* ``--no-deprecation``: jsii's own bundle calls ``util.isArray``
  (DEP0044), a warning about jsii's code on every run.

Fast mode only (docs/performance.md):
* ``--require framework/lazy_provider_index.js``: the provider's JavaScript
  index loads resource modules on first use. The hook is told the
  provider's npm name (``PAYMENT_LAZY_PROVIDER_NPM``, from
  ``framework.distribution``); with ``PAYMENT_LAZY_INDEX_REPORT`` set to a
  file it appends one JSON line per provider index it saw (lazy or not).
* ``JSII_RUNTIME=framework/jsii_direct_runtime.js``: jsii's kernel runs in
  the Node process Python talks to, instead of behind a relay process that
  copies every message (about half the cost of each call). Only with the
  jsii release it was checked against (``DIRECT_RUNTIME_JSII``); with any
  other, or when the caller set ``JSII_RUNTIME``, jsii's stock launcher runs.
  ``--preserve-symlinks`` is what the stock launcher gives the kernel.
"""

from __future__ import annotations

import atexit
import importlib.metadata
import importlib.resources
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

IMPORT_MODE_ENV = "PAYMENT_PROVIDER_IMPORT"
MODES = ("fast", "plain")
BASE_OPTIONS_ENV = "PAYMENT_BASE_NODE_OPTIONS"
RUNTIME_DIR_ENV = "PAYMENT_JSII_RUNTIME_DIR"
#: The provider's npm name, read by framework/lazy_provider_index.js.
LAZY_PROVIDER_ENV = "PAYMENT_LAZY_PROVIDER_NPM"
#: A file the hook appends its verdicts to (set by tools/checks/terrain_check.py).
LAZY_REPORT_ENV = "PAYMENT_LAZY_INDEX_REPORT"

_HERE = Path(__file__).resolve().parent
PINNED_NODE = _HERE.parent / "node_modules" / ".bin" / "node"
LAZY_INDEX_HOOK = _HERE / "lazy_provider_index.js"
DIRECT_RUNTIME = _HERE / "jsii_direct_runtime.js"
#: The jsii release whose kernel the direct launcher was checked against.
DIRECT_RUNTIME_JSII = "1.142.0"


def requested_mode(environ: MutableMapping[str, str]) -> str:
    mode = environ.get(IMPORT_MODE_ENV, "fast")
    if mode not in MODES:
        raise ValueError(f"{IMPORT_MODE_ENV}={mode!r} is not allowed; use 'fast' or 'plain'")
    return mode


def _extract_jsii_runtime() -> str:
    """jsii's embedded launcher and kernel, laid out as jsii itself does."""
    import jsii._embedded.jsii as embedded  # does not start Node

    target = Path(tempfile.mkdtemp(prefix="payment-jsii-runtime-"))
    atexit.register(shutil.rmtree, target, ignore_errors=True)
    for resource, relative in embedded.EMBEDDED_FILES.items():
        if relative.endswith(".map"):
            continue
        path = target / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(importlib.resources.files(embedded).joinpath(resource).read_bytes())
    return str(target)


def direct_runtime_supported() -> bool:
    """Whether the installed jsii is the release the direct launcher was
    checked against (the launcher still checks the kernel's fd-3 channel)."""
    try:
        return importlib.metadata.version("jsii") == DIRECT_RUNTIME_JSII
    except importlib.metadata.PackageNotFoundError:
        return False


def configure(environ: MutableMapping[str, str], provider_npm: str | None = None) -> str:
    """Sets jsii's Node.js options in ``environ`` for the requested mode.

    ``provider_npm``: the provider package the JS hook makes lazy
    (``framework.distribution.ACTIVE.provider_npm``); None keeps what a
    parent set."""
    mode = requested_mode(environ)
    if provider_npm is not None:
        environ[LAZY_PROVIDER_ENV] = provider_npm
    if "JSII_NODE" not in environ and PINNED_NODE.exists():
        environ["JSII_NODE"] = str(PINNED_NODE)
    base = environ.setdefault(BASE_OPTIONS_ENV, environ.get("NODE_OPTIONS", ""))
    options = [base] if base else []
    if "--no-deprecation" not in base:
        options.append("--no-deprecation")
    if environ.get("JSII_RUNTIME") == str(DIRECT_RUNTIME):  # ours, from a parent
        del environ["JSII_RUNTIME"]
        environ.pop(RUNTIME_DIR_ENV, None)
    if mode == "fast":
        options.append(f'--require "{LAZY_INDEX_HOOK}"')
        if "JSII_RUNTIME" not in environ and direct_runtime_supported():
            environ[RUNTIME_DIR_ENV] = _extract_jsii_runtime()
            environ["JSII_RUNTIME"] = str(DIRECT_RUNTIME)
            options.append("--preserve-symlinks")
    environ["NODE_OPTIONS"] = " ".join(options)
    return mode
