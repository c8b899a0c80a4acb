"""The one reader of a synthesized output directory (``cdktf.out``).

cdktf writes ``<outdir>/manifest.json`` (every stack with its
``synthesizedStackPath``, ``workingDirectory`` and ``dependencies``) and one
``<outdir>/stacks/<stack>/cdk.tf.json`` per stack. The checks
(guardrails.schema, guardrails.structural), the tools (diagram, plan_env,
checkov_scan, recreate_service, review_diff), verify/expected.py and the
tests read it through these functions; each caller keeps its own error
message for what is missing. Standard library only: tools import it without
starting cdktf.
"""

from __future__ import annotations

import json
from pathlib import Path

MANIFEST = "manifest.json"
STACK_FILE = "cdk.tf.json"


def stack_path(outdir: Path | str, stack: str) -> Path:
    """``<outdir>/stacks/<stack>/cdk.tf.json`` (it may not exist)."""
    return Path(outdir, "stacks", stack, STACK_FILE)


def stack_files(outdir: Path | str) -> dict[str, Path]:
    """stack name -> its ``cdk.tf.json``, for every stack file in ``outdir``
    (sorted by name; empty when nothing was synthesized)."""
    return {
        path.parent.name: path for path in sorted(Path(outdir, "stacks").glob(f"*/{STACK_FILE}"))
    }


def read_stack(outdir: Path | str, stack: str) -> dict:
    """One stack's synthesized JSON; FileNotFoundError or ValueError as json raises."""
    return json.loads(stack_path(outdir, stack).read_text())


def read_stacks(outdir: Path | str) -> dict[str, dict]:
    """stack name -> synthesized JSON of every stack file in ``outdir``."""
    return {name: json.loads(path.read_text()) for name, path in stack_files(outdir).items()}


def manifest_path(outdir: Path | str) -> Path:
    return Path(outdir, MANIFEST)


def manifest_stacks(outdir: Path | str) -> dict[str, dict]:
    """The manifest's ``stacks``: name -> entry (``synthesizedStackPath``,
    ``workingDirectory``, ``dependencies``, relative to ``outdir``)."""
    return json.loads(manifest_path(outdir).read_text())["stacks"]


def _objects(value) -> list[dict]:
    """A nested block or list of blocks as a list of objects (cdktf writes both)."""
    items = [value] if isinstance(value, dict) else value if isinstance(value, list) else []
    return [item for item in items if isinstance(item, dict)]


def environment_of(stack: dict) -> str | None:
    """The ``environment`` default tag of a stack's AWS provider: how every
    stack of this project says which environment it belongs to."""
    for provider in _objects((stack.get("provider") or {}).get("aws")):
        for block in _objects(provider.get("default_tags")):
            environment = (block.get("tags") or {}).get("environment")
            if environment:
                return str(environment)
    return None
