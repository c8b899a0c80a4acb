"""The output directory's contract, the run's variables, parallel workers.

**Output** (``cdktf.out`` or ``CDKTF_OUTDIR``). A synthesis either leaves
exactly the selected stacks and a manifest that lists them, or it fails and
leaves no manifest and no stack file: nothing stale looks like a result.

* ``invalidate`` runs first: it deletes the manifest, the suppression report
  and every ``stacks/<id>/cdk.tf.json``. Stack *folders* stay: they hold what
  ``terraform init`` put there (``.terraform/``, the provider lock file), and
  the CDKTF CLI fails (``ENOENT ... lstat``) when a folder it listed before
  running the app is gone.
* ``publish`` runs last, only on success: each selected stack's file is in
  place, folders of stacks no longer selected are removed (as the CLI does),
  the suppression report is written and the manifest is written last.
  When the CLI runs the app (``tools/cdktf_app.sh`` sets
  ``PAYMENT_RUN_BY_CDKTF_CLI=1``) unselected folders are left to the CLI,
  which removes them after reading the manifest and fails if they are gone.

**Workers.** One process synthesizes all environments in about 6-7 s on a
2-core machine, almost all of it single-threaded work in jsii's Node.js
process. Environments are independent (no cross-environment references), so
``main.py`` splits them over worker processes (``python main.py`` again with
``PAYMENT_SYNTH_WORKERS=1``), each writing to its own directory inside the
output directory; their stack files are then moved into place, one file per
stack. Workers: ``PAYMENT_SYNTH_WORKERS`` (default one per CPU, at most one
per environment). The merged output is the same as a single process writes
(tests/test_synthesis.py).

**Variables** are checked before anything runs (``variable_problems``):
each bad value is one line naming the variable, the value and what is allowed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from config import ENVIRONMENTS_VARIABLE, ConfigError, EnvironmentConfig

WORKERS_VARIABLE = "PAYMENT_SYNTH_WORKERS"
#: Set by tools/cdktf_app.sh, the app command of cdktf.json.
RUN_BY_CLI_VARIABLE = "PAYMENT_RUN_BY_CDKTF_CLI"
MANIFEST = "manifest.json"
SUPPRESSIONS = "guardrails-suppressions.json"
STACK_FILE = "cdk.tf.json"
STACKS = "stacks"

_NODE_RUNTIME = Path(__file__).resolve().parent.parent / "framework" / "node_runtime.py"


# --------------------------------------------------------------------------
# Variables
# --------------------------------------------------------------------------


def parse_workers(raw: str | None) -> int | None:
    """``PAYMENT_SYNTH_WORKERS``: None when unset or blank (one per CPU)."""
    if raw is None or raw.strip() == "":
        return None
    try:
        wanted = int(raw)
    except ValueError:
        wanted = 0
    if wanted < 1:
        raise ConfigError(
            [f"{WORKERS_VARIABLE}: {raw!r} is not allowed; use a whole number of 1 or more"]
        )
    return wanted


def worker_count(environment_count: int, raw: str | None = None, cpus: int | None = None) -> int:
    """Workers to use: ``raw`` (the variable) or one per CPU, capped by environments."""
    wanted = parse_workers(raw)
    if wanted is None:
        wanted = cpus if cpus is not None else (os.cpu_count() or 1)
    return max(1, min(wanted, environment_count))


def _import_mode_problem(environ: Mapping[str, str]) -> str | None:
    """framework/node_runtime.py owns ``PAYMENT_PROVIDER_IMPORT`` and its
    allowed values. Importing it through the package would run
    ``framework/__init__`` (which starts cdktf and jsii, and raises on a bad
    value with a traceback), so its file is loaded on its own to ask it."""
    spec = importlib.util.spec_from_file_location("_payment_node_runtime_check", _NODE_RUNTIME)
    assert spec is not None and spec.loader is not None, _NODE_RUNTIME
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    try:
        module.requested_mode(dict(environ))
    except ValueError as err:
        return str(err)
    return None


def variable_problems(environ: Mapping[str, str], defined: Sequence[str]) -> list[str]:
    """One line per bad run variable; ``defined``: the environment names."""
    problems = []
    selection = environ.get(ENVIRONMENTS_VARIABLE)
    if selection is not None and not selection.replace(",", "").strip():
        problems.append(
            f"{ENVIRONMENTS_VARIABLE}: {selection!r} names no environment; "
            f"allowed: {', '.join(defined)} (comma-separated), or leave it "
            "unset for all"
        )
    try:
        parse_workers(environ.get(WORKERS_VARIABLE))
    except ConfigError as err:
        problems += err.problems
    mode_problem = _import_mode_problem(environ)
    if mode_problem:
        problems.append(mode_problem)
    return problems


# --------------------------------------------------------------------------
# Output directory
# --------------------------------------------------------------------------


def manifest_text(manifest: dict, splits_empty_lists: bool | None = None) -> str:
    """The manifest as the framework writes it: sorted keys, two-space
    indent; cdktf splits empty lists over two lines, CDK Terrain does not
    (``framework.distribution``; ``splits_empty_lists`` overrides it)."""
    if splits_empty_lists is None:
        # Imported here: framework/__init__ refuses a bad PAYMENT_PROVIDER_IMPORT
        # on import, and main.py reports the run's variables first.
        from framework.distribution import ACTIVE

        splits_empty_lists = ACTIVE.manifest_splits_empty_lists
    text = json.dumps(manifest, indent=2, sort_keys=True)
    if not splits_empty_lists:
        return text
    return re.sub(r'^( *)("[^"\n]*": )\[\]', r"\1\2[\n\1]", text, flags=re.MULTILINE)


def stack_files(outdir: Path) -> list[Path]:
    return sorted(Path(outdir, STACKS).glob(f"*/{STACK_FILE}"))


def invalidate(outdir: Path) -> None:
    """Removes the manifest, the report and every stack file (not the stack
    folders): from now until ``publish``, the directory holds no result."""
    for name in (MANIFEST, SUPPRESSIONS):
        Path(outdir, name).unlink(missing_ok=True)
    for path in stack_files(outdir):
        path.unlink()


def run_by_cli(environ: Mapping[str, str] | None = None) -> bool:
    return (os.environ if environ is None else environ).get(RUN_BY_CLI_VARIABLE) == "1"


def publish(
    outdir: Path,
    stacks: dict[str, dict],
    version: str,
    suppressions: list[dict],
    remove_unselected: bool,
) -> None:
    """Completes a successful synthesis whose stack files are in place."""
    missing = [
        name
        for name, entry in stacks.items()
        if not Path(outdir, entry["synthesizedStackPath"]).is_file()
    ]
    if missing:
        raise RuntimeError(f"synthesized stack file(s) missing: {', '.join(missing)}")
    if remove_unselected:
        for folder in sorted(Path(outdir, STACKS).iterdir()):
            if folder.is_dir() and folder.name not in stacks:
                shutil.rmtree(folder)
    suppressions = sorted(suppressions, key=lambda s: (s["stack"], s["address"], s["rule_id"]))
    Path(outdir, SUPPRESSIONS).write_text(
        json.dumps({"suppressions": suppressions}, indent=2) + "\n"
    )
    _write_atomically(Path(outdir, MANIFEST), manifest_text({"stacks": stacks, "version": version}))


def _write_atomically(path: Path, text: str) -> None:
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text(text)
    os.replace(partial, path)


def read_part(part: Path) -> tuple[dict[str, dict], str, list[dict]]:
    """A worker's output: its manifest's stacks and version, its suppressions."""
    manifest = json.loads((part / MANIFEST).read_text())
    report = part / SUPPRESSIONS
    suppressions = json.loads(report.read_text())["suppressions"] if report.exists() else []
    return manifest["stacks"], manifest["version"], suppressions


def merge_outputs(parts: Sequence[Path], outdir: Path, remove_unselected: bool = True) -> None:
    """Moves the workers' stack files into ``outdir`` and publishes the merged
    manifest and report. Each stack's folder is kept: only its files from the
    worker replace the ones of the same name."""
    stacks: dict[str, dict] = {}
    suppressions: list[dict] = []
    version = ""
    for part in parts:
        part_stacks, version, part_suppressions = read_part(part)
        stacks.update(part_stacks)
        suppressions += part_suppressions
    for part in parts:
        for stack_dir in sorted((part / STACKS).iterdir()):
            target = outdir / STACKS / stack_dir.name
            target.mkdir(parents=True, exist_ok=True)
            for item in stack_dir.iterdir():
                destination = target / item.name
                if item.is_dir() and destination.is_dir():
                    # A folder the synthesis writes (a TerraformAsset's
                    # ``assets``) replaces the previous one whole; the CLI's
                    # ``.terraform`` is never in a worker's output.
                    shutil.rmtree(destination)
                os.replace(item, destination)
    publish(outdir, stacks, version, suppressions, remove_unselected)


def suppression_text(outdir: Path) -> str:
    found = json.loads((outdir / SUPPRESSIONS).read_text())["suppressions"]
    if not found:
        return "guardrails: no contract rule is suppressed"
    lines = [f"guardrails: {len(found)} suppressed contract rule(s):"]
    lines += [
        f"  {s['stack']}: {s['address']}: {s['rule_id']} suppressed: {s['reason']}" for s in found
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Workers
# --------------------------------------------------------------------------


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


def synthesize_in_parallel(groups: list[list[str]], outdir: Path, main_script: Path) -> int:
    """Runs one worker per group; returns the exit code for ``main.py``.

    Every worker runs to its end, so one run reports the contract-rule
    failures of every environment."""
    outdir.mkdir(parents=True, exist_ok=True)
    invalidate(outdir)
    with tempfile.TemporaryDirectory(prefix=".synth-", dir=outdir) as tmp:
        parts = [Path(tmp) / f"worker-{index}" for index in range(len(groups))]
        workers = []
        for group, part in zip(groups, parts, strict=True):
            env = {
                **os.environ,
                ENVIRONMENTS_VARIABLE: ",".join(group),
                WORKERS_VARIABLE: "1",
                "CDKTF_OUTDIR": str(part),
            }
            workers.append(
                subprocess.Popen(
                    [sys.executable, str(main_script)],
                    env=env,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.PIPE,
                    text=True,
                )
            )
        results = [(w, *w.communicate()) for w in workers]
        failed = [(w, out, err) for w, out, err in results if w.returncode != 0]
        if failed:
            for _, out, err in failed:
                sys.stdout.write(out)
                sys.stderr.write(err)
            print(failure_line(outdir), file=sys.stderr)
            return failed[0][0].returncode
        merge_outputs(parts, outdir, remove_unselected=not run_by_cli())
    print(suppression_text(outdir))
    return 0


def failure_line(outdir: Path, environments: Iterable[str] = ()) -> str:
    where = f" in {', '.join(environments)}" if environments else ""
    return f"synthesis failed{where}: {outdir} holds no manifest and no stack file"
