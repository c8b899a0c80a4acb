"""The output directory's contract and the run's variables.

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
  When the CLI runs the app (``tools/dev/cdktf_app.sh`` sets
  ``PAYMENT_RUN_BY_CDKTF_CLI=1``) unselected folders are left to the CLI,
  which removes them after reading the manifest and fails if they are gone.

**Variables** are checked before anything runs (``variable_problems``):
each bad value is one line naming the variable, the value and what is allowed.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from config import ENVIRONMENTS_VARIABLE

#: Set by tools/dev/cdktf_app.sh, the app command of cdktf.json.
RUN_BY_CLI_VARIABLE = "PAYMENT_RUN_BY_CDKTF_CLI"
MANIFEST = "manifest.json"
SUPPRESSIONS = "guardrails-suppressions.json"
STACK_FILE = "cdk.tf.json"
STACKS = "stacks"

_NODE_RUNTIME = Path(__file__).resolve().parent.parent / "framework" / "node_runtime.py"


# --------------------------------------------------------------------------
# Variables
# --------------------------------------------------------------------------


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


def suppression_text(outdir: Path) -> str:
    found = json.loads((outdir / SUPPRESSIONS).read_text())["suppressions"]
    if not found:
        return "guardrails: no contract rule is suppressed"
    lines = [f"guardrails: {len(found)} suppressed contract rule(s):"]
    lines += [
        f"  {s['stack']}: {s['address']}: {s['rule_id']} suppressed: {s['reason']}" for s in found
    ]
    return "\n".join(lines)


def failure_line(outdir: Path, environments: Iterable[str] = ()) -> str:
    where = f" in {', '.join(environments)}" if environments else ""
    return f"synthesis failed{where}: {outdir} holds no manifest and no stack file"
