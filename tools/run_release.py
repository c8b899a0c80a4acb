#!/usr/bin/env python
"""Thin wrapper: ``tools/run_release.py ...`` is ``python -m release ...``.

Not named ``release.py``: that name would shadow the ``release`` package for
tools that put ``tools/`` on the module path (mypy refused the tree)."""

from __future__ import annotations

import sys
from pathlib import Path

# Run from anywhere: the repository root holds the release and config packages.
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from release.cli import run

if __name__ == "__main__":
    run()
