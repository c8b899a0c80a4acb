"""pytest plugin: switches the suite's scheduling machinery off, for
``tools/bench/bench_synth.py --suite-ablation``.

``PAYMENT_BENCH_SUITE_ABLATE`` names what to switch off (comma-separated,
``PARTS``); the suite's own code has no switch for any of it.
"""

from __future__ import annotations

import gc
import importlib
import os
from typing import Any

import pytest

PARTS = {
    "gc-threshold": "tests/conftest.py: Python's default GC thresholds (700, 10, 10)",
    "gc-freeze": "tests/conftest.py: no gc.freeze() after the session's synthesis",
    "niceness": "tests/conftest.py: background work at normal priority (no nice, no SCHED_IDLE)",
    "reorder": "tests/conftest.py: tests run in collection order",
    "background-start": "tests/conftest.py: the two syntheses start when their test runs",
    "checkov-start": "tests/test_checkov_scan.py: checkov starts when its report is needed",
}
ABLATE = {n for n in os.environ.get("PAYMENT_BENCH_SUITE_ABLATE", "").split(",") if n}
unknown = ABLATE - set(PARTS)
if unknown:
    raise SystemExit(
        f"PAYMENT_BENCH_SUITE_ABLATE: unknown {sorted(unknown)}; known: {sorted(PARTS)}"
    )


class _Deferred:
    """Started on first use (``start()`` returns the real object)."""

    def __init__(self, start) -> None:
        self._start, self._real = start, None

    def _get(self):
        if self._real is None:
            self._real = self._start()
        return self._real

    def __getattr__(self, name):
        return getattr(self._get(), name)

    def __enter__(self):
        return self._get().__enter__()

    def __exit__(self, *exc):
        return self._get().__exit__(*exc)


def _conftest():
    import tests.conftest as conftest

    return conftest


@pytest.hookimpl(tryfirst=True)
def pytest_sessionstart(session):
    conftest = _conftest()
    if "gc-threshold" in ABLATE:
        gc.set_threshold(700, 10, 10)
    if "gc-freeze" in ABLATE:
        gc.freeze = lambda: None
    if "niceness" in ABLATE:
        real_in_background = None
        conftest.in_background = lambda process: process
    else:
        real_in_background = conftest.in_background
    if "background-start" in ABLATE:
        start = conftest._start
        conftest._start = lambda name: _Deferred(lambda: start(name))
    if "checkov-start" in ABLATE:
        scan: Any = importlib.import_module("tools.checks.checkov_scan")  # as the tests import it

        start_checkov = scan.start_checkov
        wrap = real_in_background or (lambda process: process)
        scan.start_checkov = lambda outdir: _Deferred(lambda: wrap(start_checkov(outdir)))
        # The deferred process is not touched by in_background at import.
        base = conftest.in_background
        conftest.in_background = lambda p: p if isinstance(p, _Deferred) else base(p)


@pytest.hookimpl(tryfirst=True)
def pytest_collection_modifyitems(session, config, items):
    session.config._bench_collection_order = list(items)


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    if "reorder" in ABLATE:
        session.items[:] = session.config._bench_collection_order
