"""PAY-CTR-001: no container runs privileged."""

from __future__ import annotations

from guardrails.rules import containers, tf
from guardrails.rules.model import Finding, Rule, RuleContext


def judge(privileged) -> list[str]:
    return ["is privileged (privileged = true)"] if tf.is_true(privileged) else []


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    return containers.findings(RULE, stack, "privileged", judge)


RULE = Rule(
    id="PAY-CTR-001",
    summary="No container of a task definition is privileged.",
    why="A privileged container has every capability and the host's devices: one "
    "compromised process owns the host and every task on it.",
    fix="remove privileged or set privileged = false",
    check=check,
)
