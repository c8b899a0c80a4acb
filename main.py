#!/usr/bin/env python
"""Synthesizes the payment platform: every stack of the selected environments.

Select environments with PAYMENT_ENVIRONMENTS=dev,prod (default: all).
Configuration is validated before any stack is constructed.
"""
from __future__ import annotations

import os
import sys

from config import ENVIRONMENTS_VARIABLE, ConfigError, load_environments, parse_selection


def main() -> int:
    try:
        environments = load_environments(parse_selection(os.environ.get(ENVIRONMENTS_VARIABLE)))
    except ConfigError as err:
        print(err, file=sys.stderr)
        return 2
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
