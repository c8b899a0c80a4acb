"""Infrastructure diff of a change, without cloud credentials.

Synthesizes the working tree and a git ref (default ``HEAD``) and prints, per
stack, the resources, data sources, outputs, provider and terraform blocks
that were added, removed or changed, with the changed attribute paths
(``//`` metadata ignored; JSON documents inside strings, such as IAM
policies, are compared structurally). A removed and an added block of the
same type with identical bodies are reported as a rename: Terraform would
destroy and recreate that resource unless a ``moved`` block is added.

The ref is exported with ``git archive`` into a temporary directory (read-only
on the repository: no worktree metadata, nothing to clean up after a crash)
and synthesized there with this checkout's ``.venv`` Python and pinned Node.js.
Both synths honour ``PAYMENT_ENVIRONMENTS`` (e.g. ``dev``) to save time.

Usage::

    .venv/bin/python tools/review/review_diff.py                  # working tree vs HEAD
    .venv/bin/python tools/review/review_diff.py origin/main      # a pull request vs its base
    .venv/bin/python tools/review/review_diff.py --base-outdir a/cdktf.out --head-outdir b/cdktf.out
    .venv/bin/python tools/review/review_diff.py main --exit-code # exit 1 when anything differs

Exit status: 0 (or 1 with ``--exit-code`` when there are differences);
2 when a synthesis or git fails.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from guardrails.cdktf_out import read_stacks  # noqa: E402

MISSING = object()
_MAX_VALUE_CHARS = 60


class DiffError(Exception):
    """git or synthesis failed (exit status 2)."""


@dataclass(frozen=True)
class Change:
    path: str
    old: Any = MISSING
    new: Any = MISSING

    def __str__(self) -> str:
        if self.old is MISSING:
            return f"{self.path}: added {_short(self.new)}"
        if self.new is MISSING:
            return f"{self.path}: removed (was {_short(self.old)})"
        return f"{self.path}: {_short(self.old)} -> {_short(self.new)}"


@dataclass
class StackDiff:
    status: str = "changed"  # "added" / "removed" (whole stack) / "changed"
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    renamed: list[tuple[str, str]] = field(default_factory=list)
    changed: dict[str, list[Change]] = field(default_factory=dict)

    @property
    def empty(self) -> bool:
        return (
            not (self.added or self.removed or self.renamed or self.changed)
            and self.status == "changed"
        )


def _short(value: Any) -> str:
    text = json.dumps(value, sort_keys=True)
    return text if len(text) <= _MAX_VALUE_CHARS else text[: _MAX_VALUE_CHARS - 3] + "..."


def strip_metadata(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: strip_metadata(v) for k, v in value.items() if k != "//"}
    if isinstance(value, list):
        return [strip_metadata(v) for v in value]
    return value


def blocks(stack: dict) -> dict[str, Any]:
    """A stack's comparable blocks by Terraform address, metadata removed."""
    found: dict[str, Any] = {}
    for tf_type, items in (stack.get("resource") or {}).items():
        for name, body in items.items():
            found[f"{tf_type}.{name}"] = strip_metadata(body)
    for tf_type, items in (stack.get("data") or {}).items():
        for name, body in items.items():
            found[f"data.{tf_type}.{name}"] = strip_metadata(body)
    for section in ("output", "variable", "module"):
        for name, body in (stack.get(section) or {}).items():
            found[f"{section}.{name}"] = strip_metadata(body)
    for name, body in (stack.get("provider") or {}).items():
        found[f"provider.{name}"] = strip_metadata(body)
    for name, body in (stack.get("locals") or {}).items():
        found[f"local.{name}"] = strip_metadata(body)
    if stack.get("terraform"):
        found["terraform"] = strip_metadata(stack["terraform"])
    return found


def _as_document(value: Any) -> Any:
    """A string holding a JSON object/array (IAM policy, container definitions)."""
    if isinstance(value, str) and value[:1] in "{[":
        try:
            return json.loads(value)
        except ValueError:
            return MISSING
    return MISSING


def diff_values(old: Any, new: Any, path: str = "") -> list[Change]:
    if old == new:
        return []
    if isinstance(old, dict) and isinstance(new, dict):
        changes: list[Change] = []
        for key in sorted(set(old) | set(new)):
            here = f"{path}.{key}" if path else key
            if key not in old:
                changes.append(Change(here, new=new[key]))
            elif key not in new:
                changes.append(Change(here, old=old[key]))
            else:
                changes += diff_values(old[key], new[key], here)
        return changes
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        changes = []
        for index, (a, b) in enumerate(zip(old, new, strict=True)):
            changes += diff_values(a, b, f"{path}[{index}]")
        return changes
    old_doc, new_doc = _as_document(old), _as_document(new)
    if old_doc is not MISSING and new_doc is not MISSING:
        inner = diff_values(old_doc, new_doc, "")
        return [Change(f"{path}{{{c.path}}}", c.old, c.new) for c in inner]
    return [Change(path or "(value)", old, new)]


def _block_type(address: str) -> str:
    parts = address.split(".")
    return ".".join(parts[:-1])


def diff_stack(old: dict | None, new: dict | None) -> StackDiff:
    old_blocks = blocks(old) if old is not None else {}
    new_blocks = blocks(new) if new is not None else {}
    result = StackDiff(status="added" if old is None else "removed" if new is None else "changed")
    added = sorted(set(new_blocks) - set(old_blocks))
    removed = sorted(set(old_blocks) - set(new_blocks))
    for gone in list(removed):
        twin = next(
            (
                a
                for a in added
                if _block_type(a) == _block_type(gone) and new_blocks[a] == old_blocks[gone]
            ),
            None,
        )
        if twin is not None and result.status == "changed":
            result.renamed.append((gone, twin))
            added.remove(twin)
            removed.remove(gone)
    result.added, result.removed = added, removed
    for address in sorted(set(old_blocks) & set(new_blocks)):
        changes = diff_values(old_blocks[address], new_blocks[address])
        if changes:
            result.changed[address] = changes
    return result


def diff_apps(old: dict[str, dict], new: dict[str, dict]) -> dict[str, StackDiff]:
    """Stack name -> its diff, for every stack that differs."""
    diffs = {}
    for name in sorted(set(old) | set(new)):
        one = diff_stack(old.get(name), new.get(name))
        if not one.empty:
            diffs[name] = one
    return diffs


def format_diffs(diffs: dict[str, StackDiff], compared: int) -> str:
    if not diffs:
        return f"No infrastructure changes ({compared} stacks compared)."
    lines = []
    for name, one in diffs.items():
        if one.status != "changed":
            lines.append(f"{name}: stack {one.status} ({len(one.added) + len(one.removed)} blocks)")
        else:
            lines.append(
                f"{name}: {len(one.added)} added, {len(one.removed)} removed, "
                f"{len(one.changed)} changed, {len(one.renamed)} renamed"
            )
        lines += [f"  + {a}" for a in one.added]
        lines += [f"  - {r}" for r in one.removed]
        lines += [
            f"  > {a} -> {b} (replaced unless a moved block is added)" for a, b in one.renamed
        ]
        for address, changes in one.changed.items():
            lines.append(f"  ~ {address}")
            lines += [f"      {c}" for c in changes]
    unchanged = compared - len(diffs)
    lines.append(f"{len(diffs)} stack(s) differ, {unchanged} unchanged.")
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Synthesis of the working tree and of a ref
# --------------------------------------------------------------------------


def read_outdir(outdir: Path) -> dict[str, dict]:
    return read_stacks(outdir)


def synthesize(source: Path, outdir: Path) -> None:
    env = dict(os.environ, CDKTF_OUTDIR=str(outdir))
    node = ROOT / "node_modules" / ".bin" / "node"
    if node.exists():
        env.setdefault("JSII_NODE", str(node))
    env.pop("PYTHONPATH", None)  # main.py must import the tree it belongs to
    done = subprocess.run(
        [sys.executable, "main.py"],
        cwd=source,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise DiffError(f"synthesis in {source} failed ({done.returncode}):\n{done.stderr[-3000:]}")


def export_ref(ref: str, target: Path) -> None:
    archive = target.with_suffix(".tar")
    done = subprocess.run(
        ["git", "-C", str(ROOT), "archive", "--format=tar", "-o", str(archive), ref],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise DiffError(f"git archive {ref} failed: {done.stderr.strip()}")
    target.mkdir(parents=True)
    with tarfile.open(archive) as tar:
        tar.extractall(target, filter="data")
    if not (target / "main.py").exists():
        raise DiffError(f"{ref} has no main.py; cannot synthesize it")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Per-stack infrastructure diff of the working tree against a git ref.",
        epilog=__doc__.split("Usage::")[1] if "Usage::" in __doc__ else None,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "ref", nargs="?", default="HEAD", help="git ref to compare against (default HEAD)"
    )
    parser.add_argument(
        "--base-outdir",
        type=Path,
        help="use this synthesized output as the base instead of the ref",
    )
    parser.add_argument(
        "--head-outdir", type=Path, help="use this synthesized output instead of the working tree"
    )
    parser.add_argument("--exit-code", action="store_true", help="exit 1 when anything differs")
    args = parser.parse_args(argv)
    try:
        with tempfile.TemporaryDirectory(prefix="review-diff-") as tmp:
            head_out = args.head_outdir
            if head_out is None:
                head_out = Path(tmp, "head.out")
                synthesize(ROOT, head_out)
            base_out = args.base_outdir
            if base_out is None:
                source = Path(tmp, "base")
                export_ref(args.ref, source)
                base_out = Path(tmp, "base.out")
                synthesize(source, base_out)
            base, head = read_outdir(base_out), read_outdir(head_out)
    except DiffError as err:
        print(f"review diff: {err}", file=sys.stderr)
        return 2
    diffs = diff_apps(base, head)
    print(format_diffs(diffs, len(set(base) | set(head))))
    return 1 if diffs and args.exit_code else 0


if __name__ == "__main__":
    sys.exit(main())
