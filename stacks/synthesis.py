"""Synthesizes environments in parallel worker processes.

One process synthesizes all selected environments in about 6-7 s on a
2-core machine; almost all of it is single-threaded work in jsii's Node.js
process. Environments are independent (no cross-environment references), so
``main.py`` splits them over worker processes (``python main.py`` again, with
``PAYMENT_SYNTH_WORKERS=1``), each writing to its own directory, and merges
the results into the output directory only when every worker succeeded:
a failed synthesis leaves the previous output untouched.

Workers: ``PAYMENT_SYNTH_WORKERS`` (default: one per CPU, at most one per
environment). The merged output is the same as a single process writes
(tests/test_synthesis.py).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

from config import ENVIRONMENTS_VARIABLE, ConfigError, EnvironmentConfig

WORKERS_VARIABLE = "PAYMENT_SYNTH_WORKERS"
MANIFEST = "manifest.json"
SUPPRESSIONS = "guardrails-suppressions.json"


def worker_count(environment_count: int, raw: str | None = None, cpus: int | None = None) -> int:
    """Workers to use: ``raw`` (the variable) or one per CPU, capped by environments."""
    if raw is None or raw.strip() == "":
        wanted = cpus if cpus is not None else (os.cpu_count() or 1)
    else:
        try:
            wanted = int(raw)
        except ValueError:
            wanted = 0
        if wanted < 1:
            raise ConfigError([f"{WORKERS_VARIABLE}: {raw!r} is not allowed; use a whole "
                               "number of 1 or more"])
    return max(1, min(wanted, environment_count))


def _weight(env: EnvironmentConfig) -> int:
    # Roughly proportional to the resources an environment synthesizes.
    return 40 + 25 * len(env.services) + (15 if env.load_balancer.waf else 0)


def plan_groups(environments: Sequence[EnvironmentConfig], workers: int) -> list[list[str]]:
    """Splits environments into ``workers`` groups of similar weight."""
    groups: list[list[EnvironmentConfig]] = [[] for _ in range(workers)]
    for env in sorted(environments, key=_weight, reverse=True):
        lightest = min(groups, key=lambda g: sum(_weight(e) for e in g))
        lightest.append(env)
    order = {env.name: index for index, env in enumerate(environments)}
    return [sorted((e.name for e in g), key=order.__getitem__) for g in groups if g]


def manifest_text(manifest: dict) -> str:
    """The manifest as cdktf writes it: sorted keys, two-space indent, and
    empty lists split over two lines."""
    text = json.dumps(manifest, indent=2, sort_keys=True)
    return re.sub(r'^( *)("[^"\n]*": )\[\]', r"\1\2[\n\1]", text, flags=re.MULTILINE)


def merge_outputs(parts: Sequence[Path], outdir: Path) -> None:
    """Moves the workers' stacks into ``outdir`` and merges manifest and report."""
    manifests = [json.loads((part / MANIFEST).read_text()) for part in parts]
    stacks: dict[str, dict] = {}
    for manifest in manifests:
        stacks.update(manifest["stacks"])
    suppressions = []
    for part in parts:
        report = part / SUPPRESSIONS
        if report.exists():
            suppressions += json.loads(report.read_text())["suppressions"]
    suppressions.sort(key=lambda s: (s["stack"], s["address"], s["rule_id"]))

    (outdir / "stacks").mkdir(parents=True, exist_ok=True)
    for part in parts:
        for stack_dir in sorted((part / "stacks").iterdir()):
            target = outdir / "stacks" / stack_dir.name
            if target.exists():
                shutil.rmtree(target)
            shutil.move(str(stack_dir), str(target))
    (outdir / MANIFEST).write_text(manifest_text(
        {"stacks": stacks, "version": manifests[0]["version"]}))
    (outdir / SUPPRESSIONS).write_text(json.dumps({"suppressions": suppressions}, indent=2) + "\n")


def suppression_text(outdir: Path) -> str:
    found = json.loads((outdir / SUPPRESSIONS).read_text())["suppressions"]
    if not found:
        return "guardrails: no contract rule is suppressed"
    lines = [f"guardrails: {len(found)} suppressed contract rule(s):"]
    lines += [f"  {s['stack']}: {s['address']}: {s['rule_id']} suppressed: {s['reason']}" for s in found]
    return "\n".join(lines)


def synthesize_in_parallel(groups: list[list[str]], outdir: Path, main_script: Path) -> int:
    """Runs one worker per group; returns the exit code for ``main.py``."""
    outdir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".synth-", dir=outdir) as tmp:
        parts = [Path(tmp) / f"worker-{index}" for index in range(len(groups))]
        workers = []
        for group, part in zip(groups, parts):
            env = {**os.environ, ENVIRONMENTS_VARIABLE: ",".join(group),
                   WORKERS_VARIABLE: "1", "CDKTF_OUTDIR": str(part)}
            workers.append(subprocess.Popen(
                [sys.executable, str(main_script)], env=env,
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
        results = [(w, *w.communicate()) for w in workers]
        failed = [(w, out, err) for w, out, err in results if w.returncode != 0]
        if failed:
            for _, out, err in failed:
                sys.stdout.write(out)
                sys.stderr.write(err)
            return failed[0][0].returncode
        merge_outputs(parts, outdir)
    print(suppression_text(outdir))
    return 0
