"""Synthesizes the payment platform: every stack of the selected environments.

Select environments with PAYMENT_ENVIRONMENTS=dev,prod (default: all).
The run's variables and the configuration are validated before any stack is
constructed. The output directory either holds exactly the selected stacks
and a manifest listing them, or, after a failure, neither
(stacks/synthesis.py).
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from config import (
    ENVIRONMENTS_VARIABLE,
    ConfigError,
    EnvironmentConfig,
    load_environments,
    parse_selection,
)
from config.model import placeholders


def main() -> int:
    from stacks.synthesis import invalidate, variable_problems

    outdir = Path(os.environ.get("CDKTF_OUTDIR", "cdktf.out"))

    def refuse(message: object) -> int:
        # Nothing is synthesized; a previous result must not pass for this run's.
        if outdir.is_dir():
            invalidate(outdir)
        print(message, file=sys.stderr)
        return 2

    try:
        defined = load_environments()
    except ConfigError as err:
        return refuse(err)
    problems = variable_problems(os.environ, [env.name for env in defined])
    if problems:
        # One line per bad variable, no traceback, before anything is built.
        return refuse("\n".join(problems))
    try:
        environments = load_environments(
            parse_selection(os.environ.get(ENVIRONMENTS_VARIABLE)), defined=defined
        )
    except ConfigError as err:
        return refuse("\n".join(err.problems))
    code = synthesize(environments, defined)
    if code == 0:
        report = placeholder_report(environments)
        if report:
            print(report)
    return code


def placeholder_report(environments: Sequence[EnvironmentConfig]) -> str:
    """The configuration values still marked as placeholders (README, "Before
    the first deployment"); empty when there is none."""
    found = [line for env in environments for line in placeholders(env)]
    if not found:
        return ""
    return "\n".join(
        [f"placeholders: {len(found)} value(s) to replace before the first deployment:"]
        + [f"  {line}" for line in found]
    )


def synthesize(
    environments: Sequence[EnvironmentConfig], defined: Sequence[EnvironmentConfig] = ()
) -> int:
    """Synthesizes validated ``environments`` in this process (``defined``:
    every configured environment, which decides who deploys each account's
    security baseline; left out: ``environments``).

    One app per environment: cdktf stops an app's synthesis at the first
    stack whose contract rules fail, so separate apps let one run report the
    failures of every environment. The apps write into the same directory;
    their manifests are merged and the merged one is written last."""
    # Imported after validation: bad input fails in milliseconds, not seconds.
    from framework import App
    from guardrails.rules import suppression_report
    from stacks.app import build
    from stacks.synthesis import (
        MANIFEST,
        failure_line,
        invalidate,
        publish,
        run_by_cli,
        suppression_text,
    )

    stacks: dict[str, dict] = {}
    version = ""
    suppressions: list[Any] = []
    failed: list[str] = []
    outdir: Path | None = None
    try:
        for env in environments:
            app = App()
            if outdir is None:
                outdir = Path(app.outdir)
                invalidate(outdir)
            build(app, [env], defined=defined or environments)
            try:
                app.synth()
            except RuntimeError as err:
                # Contract rules (docs/rules.md) fail synthesis as node validations.
                if "Validation failed" not in str(err):
                    raise
                # cdktf's hint to skip validations would switch the rules off too.
                print(str(err).split("\n\nIf you wish to ignore")[0], file=sys.stderr)
                failed.append(env.name)
                continue
            manifest_path = outdir / MANIFEST
            manifest = json.loads(manifest_path.read_text())
            manifest_path.unlink()  # the merged manifest is written last
            stacks.update(manifest["stacks"])
            version = manifest["version"]
            suppressions += suppression_report(app).suppressions
        assert outdir is not None, "no environment selected"  # load_environments refuses that
        if not failed:
            publish(
                outdir,
                stacks,
                version,
                [asdict(s) for s in suppressions],
                remove_unselected=not run_by_cli(),
            )
            print(suppression_text(outdir))
            return 0
    except BaseException:
        if outdir is not None:
            invalidate(outdir)  # no stack file of a failed run stays
        raise
    invalidate(outdir)
    print(failure_line(outdir, failed), file=sys.stderr)
    return 1


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
