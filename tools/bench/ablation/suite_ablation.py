"""pytest plugin: switches the suite's scheduling machinery off, for
``tools/bench/bench_synth.py --suite-ablation``.

``PAYMENT_BENCH_SUITE_ABLATE`` names what to switch off (comma-separated,
``PARTS``); the suite's own code has no switch for any of it.
"""

from __future__ import annotations

import os

import pytest

PARTS = {
    "background-start": "tests/conftest.py: the plain-import synthesis starts when its test runs",
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
    if "background-start" in ABLATE:
        start = conftest._start
        conftest._start = lambda name: _Deferred(lambda: start(name))
