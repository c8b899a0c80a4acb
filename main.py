#!/usr/bin/env python
"""Synthesizes the payment platform: every stack of the selected environments.

Select environments with PAYMENT_ENVIRONMENTS=dev,prod (default: all).
Configuration is validated before any stack is constructed. Several
environments are synthesized in parallel worker processes
(PAYMENT_SYNTH_WORKERS, default one per CPU; see stacks/synthesis.py).
"""
from __future__ import annotations

import gc
import os
import sys
from pathlib import Path
from typing import Sequence

from config import (
    ENVIRONMENTS_VARIABLE,
    ConfigError,
    EnvironmentConfig,
    load_environments,
    parse_selection,
)


def main() -> int:
    try:
        environments = load_environments(parse_selection(os.environ.get(ENVIRONMENTS_VARIABLE)))
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    from stacks.synthesis import WORKERS_VARIABLE, plan_groups, synthesize_in_parallel, worker_count

    try:
        workers = worker_count(len(environments), os.environ.get(WORKERS_VARIABLE))
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
    if workers > 1:
        groups = plan_groups(environments, workers)
        outdir = Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out"))
        return synthesize_in_parallel(groups, outdir, Path(__file__).resolve())
    return synthesize(environments)


def synthesize(environments: Sequence[EnvironmentConfig]) -> int:
    """Synthesizes validated ``environments`` in this process."""
    # Imported after validation: bad input fails in milliseconds, not seconds.
    from framework import App
    from guardrails.rules import suppression_report
    from stacks.app import build

    app = App()
    build(app, environments)
    try:
        app.synth()
    except RuntimeError as err:
        # Contract rules (docs/rules.md) fail synthesis as node validations.
        if "Validation failed" not in str(err):
            raise
        # cdktf's hint to skip validations would switch the rules off too.
        print(str(err).split("\n\nIf you wish to ignore")[0], file=sys.stderr)
        return 1
    report = suppression_report(app)
    report.write(app.outdir)
    print(report.text())
    return 0


def exit_without_final_collection(code: int) -> None:
    """Exits with ``code``, sparing the interpreter's last garbage collection.

    The interpreter's shutdown collection of what a synthesis leaves (jsii
    proxies, provider modules) took 0.4-0.6 s here (docs/performance.md).
    Everything is written by now, so those objects are frozen out of
    collection; exit handlers (jsii's, temporary files) still run.
    """
    gc.freeze()
    sys.exit(code)


if __name__ == "__main__":
    exit_without_final_collection(main())
