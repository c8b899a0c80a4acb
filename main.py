#!/usr/bin/env python
"""Synthesizes the payment platform: every stack of the selected environments.

Select environments with PAYMENT_ENVIRONMENTS=dev,prod (default: all).
Configuration is validated before any stack is constructed. Several
environments are synthesized in parallel worker processes
(PAYMENT_SYNTH_WORKERS, default one per CPU; see stacks/synthesis.py).
"""
from __future__ import annotations

import os
import sys
from pathlib import Path

from config import ENVIRONMENTS_VARIABLE, ConfigError, load_environments, parse_selection


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


if __name__ == "__main__":
    sys.exit(main())
