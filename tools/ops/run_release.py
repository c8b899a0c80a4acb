#!/usr/bin/env python3
"""Thin wrapper: ``tools/ops/run_release.py ...`` is ``.venv/bin/python -m release ...``
from any directory.

Its shebang names ``python3``, the one interpreter the README promises on
``PATH``; that Python has none of the project's packages (boto3), so the
wrapper hands over to the project's ``.venv`` Python first (docs/decisions.md
D41), or says in one line to run ``make setup``.

Not named ``release.py``: run as a script, its directory is first on the
module path, where that name would shadow the ``release`` package."""

from __future__ import annotations

import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VENV = ROOT / ".venv"


def in_project_environment() -> bool:
    return Path(sys.prefix).resolve() == VENV.resolve()


if __name__ == "__main__":
    if not in_project_environment():
        python = VENV / "bin" / "python"
        if not python.exists():
            print(
                f"run_release: set-up has not run in {ROOT}; run 'make setup' there, "
                "then repeat this command",
                file=sys.stderr,
            )
            sys.exit(2)
        os.execv(python, [str(python), str(Path(__file__).resolve()), *sys.argv[1:]])
    # Run from anywhere: the repository root holds the release and config packages.
    sys.path.insert(0, str(ROOT))
    from release.cli import run

    run()
