"""PAY-CTR-002: every container has a read-only root filesystem."""

from __future__ import annotations

from guardrails.rules import containers, tf
from guardrails.rules.model import Finding, Rule, RuleContext


def judge(read_only) -> list[str]:
    if tf.is_true(read_only):
        return []
    shown = "absent" if read_only is None else repr(read_only)
    return [f"has a writable root filesystem (readonlyRootFilesystem is {shown})"]


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    return containers.findings(RULE, stack, "readonlyRootFilesystem", judge)


RULE = Rule(
    id="PAY-CTR-002",
    summary="Every container of a task definition has a read-only root filesystem.",
    why="An attacker who gets code execution cannot replace the service's binaries, plant "
    "tools or persist in the container; writes go only to declared volumes.",
    fix="set readonlyRootFilesystem = true and mount a task volume for each directory the "
    "process writes (e.g. /tmp)",
    check=check,
)
