"""Runs several project tools' ``--help`` in one Python process, each as the
interpreter would run it on its own: ``sys.argv`` and ``sys.path[0]`` as for
``.venv/bin/python <file>`` or ``.venv/bin/python -m <module>``, and the
project's modules imported afresh for each (installed packages stay loaded:
that is the time saved). tests/test_documented_commands.py starts it.

Usage: ``.venv/bin/python tests/help_runner.py '<JSON list of argv lists>'``;
prints a JSON object ``{" ".join(argv): [exit code, output]}``.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import runpy
import sys
import traceback
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _forget_project_modules() -> None:
    for name, module in list(sys.modules.items()):
        file = getattr(module, "__file__", None)
        if file and ROOT in Path(file).resolve().parents and ".venv" not in Path(file).parts:
            del sys.modules[name]


def run(argv: list[str], installed_path: list[str]) -> tuple[int, str]:
    """``argv`` is ``[python, file, ...]`` or ``[python, -m, module, ...]``."""
    _forget_project_modules()
    output = io.StringIO()
    code = 0
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        try:
            if argv[1] == "-m":
                sys.argv = argv[2:]
                sys.path[:] = [os.getcwd(), *installed_path]
                runpy.run_module(argv[2], run_name="__main__", alter_sys=True)
            else:
                sys.argv = argv[1:]
                sys.path[:] = [str(Path(argv[1]).resolve().parent), *installed_path]
                runpy.run_path(argv[1], run_name="__main__")
        except SystemExit as done:
            code = done.code if isinstance(done.code, int) else int(done.code is not None)
        except BaseException:  # a broken entry point: its traceback is the answer
            code = 1
            output.write(traceback.format_exc())
    return code, output.getvalue()


def main() -> None:
    installed_path = [entry for entry in sys.path[1:] if Path(entry).resolve() != ROOT]
    answers = {" ".join(argv): run(argv, installed_path) for argv in json.loads(sys.argv[1])}
    sys.__stdout__.write(json.dumps(answers))


if __name__ == "__main__":
    main()
