"""Switches techniques of docs/performance.md off, for ``make bench --ablation``.

``tools/bench/bench_synth.py --ablation`` puts this directory first on
``PYTHONPATH`` for every variant it runs (the all-on baseline too), so Python
imports it at start-up in ``main.py``.
``PAYMENT_BENCH_ABLATE`` names the techniques to switch off (comma-separated,
``TECHNIQUES``); unset or empty, nothing changes. The project's code has no
switch for any of this: the patches below are applied right after (or, for
the Python loader, right before) the module defining a technique runs, so
the measured code is the shipped code with one piece taken out.
"""

from __future__ import annotations

import importlib
import importlib.abc
import os
import sys
from typing import Any

#: technique -> (module, when, what the patch does)
TECHNIQUES = {
    "python-lazy": "framework.aws: the provider package __init__ runs (all submodules)",
    "node-lazy": "framework.node_runtime: no --require of lazy_provider_index.js",
    "direct-launcher": "framework.node_runtime: jsii's stock launcher (relay process)",
    "typing": "framework.aws: provider modules keep the stock typing and check_type",
    "gc-freeze": "main.py: no gc.freeze() at exit (the shutdown collection runs)",
}
#: ``none``: through the shim with nothing off (the baseline of the table).
ABLATE = {n for n in os.environ.get("PAYMENT_BENCH_ABLATE", "").split(",") if n} - {"none"}
unknown = ABLATE - set(TECHNIQUES)
if unknown:
    raise SystemExit(
        f"PAYMENT_BENCH_ABLATE: unknown {sorted(unknown)}; known: {sorted(TECHNIQUES)}"
    )


def _eager_provider_package(aws_module_name: str) -> None:
    """Before framework.aws runs: the full package import, marked as the fast
    loader's so that everything else in fast mode stays as it is."""
    from framework.distribution import ACTIVE

    package = importlib.import_module(ACTIVE.provider_package)
    vars(package)["__payment_fast_loader__"] = True


def _no_lazy_index(module) -> None:
    configure = module.configure

    def without_hook(environ, provider_npm=None):
        mode = configure(environ, provider_npm)
        hook = f'--require "{module.LAZY_INDEX_HOOK}"'
        environ["NODE_OPTIONS"] = " ".join(environ["NODE_OPTIONS"].replace(hook, "").split())
        return mode

    module.configure = without_hook


def _stock_launcher(module) -> None:
    module.direct_runtime_supported = lambda: False


def _stock_typing(module) -> None:
    import typing

    module._TYPING = typing
    module._none_first = lambda check_type: check_type


BEFORE = {"python-lazy": ("framework.aws", _eager_provider_package)}
AFTER = {
    "node-lazy": ("framework.node_runtime", _no_lazy_index),
    "direct-launcher": ("framework.node_runtime", _stock_launcher),
    "typing": ("framework.aws", _stock_typing),
}


class _Patcher(importlib.abc.MetaPathFinder):
    def __init__(self) -> None:
        self.before = {m: f for t, (m, f) in BEFORE.items() if t in ABLATE}
        self.after: dict[str, list] = {}
        for technique, (module, patch) in AFTER.items():
            if technique in ABLATE:
                self.after.setdefault(module, []).append(patch)

    def find_spec(self, name, path, target=None):
        if name not in self.before and name not in self.after:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(name, path, target)
            if spec is not None:
                break
        else:
            return None
        loader: Any = spec.loader
        before, after = self.before.get(name), self.after.get(name, [])
        run = loader.exec_module

        def exec_module(module):
            if before:
                before(name)
            run(module)
            for patch in after:
                patch(module)

        loader.exec_module = exec_module
        return spec


if ABLATE:
    sys.meta_path.insert(0, _Patcher())
if "gc-freeze" in ABLATE:
    import gc

    gc.freeze = lambda: None
