"""The containers of ECS task definitions, for the container rules
(PAY-SEC-001, PAY-CTR-001..003).

Each of those rules judges one field of each container; this module reads the
task definitions and turns a judge's verdicts into findings. A
``container_definitions`` value that is not JSON at synthesis (for example
``${jsonencode(...)}`` or a reference) cannot be checked, so every
container rule reports it rather than passing it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule

TASK_DEFINITION = "aws_ecs_task_definition"
UNREADABLE_FIX = (
    "write container_definitions as literal JSON (json.dumps of the container "
    "list; references inside values are fine), or suppress this rule for the "
    "task definition with a reason"
)
#: A judge reads one container field's value (never an expression) and
#: returns the problems it finds; each reads after "container <name> ".
Judge = Callable[[Any], list[str]]


def _shown(value) -> str:
    text = value if isinstance(value, str) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def findings(rule: Rule, stack: dict, field: str, judge: Judge) -> list[Finding]:
    """``rule``'s findings on ``field`` of every container of every task
    definition: ``judge``'s problems (fix: ``rule.fix``), or that the field is
    an expression (unknown until plan) or the definitions are not JSON."""
    found = []
    for _, name, body in tf.each(stack, TASK_DEFINITION):
        where = tf.address(TASK_DEFINITION, name)
        containers = tf.container_definitions(body)
        if containers is None:
            found.append(
                rule.finding(
                    where,
                    f"has container_definitions that are not JSON at synthesis "
                    f"({_shown(body.get('container_definitions'))}), so {field} cannot "
                    "be checked",
                    UNREADABLE_FIX,
                )
            )
            continue
        for index, container in enumerate(containers):
            label = container.get("name") if isinstance(container.get("name"), str) else f"#{index}"
            value = container.get(field)
            if tf.is_expression(value):
                found.append(
                    rule.finding(
                        where,
                        f"container {label} sets {field} to an expression ({_shown(value)}), "
                        "which cannot be checked at synthesis",
                        f"set {field} to a literal value",
                    )
                )
                continue
            found += [
                rule.finding(where, f"container {label} {problem}") for problem in judge(value)
            ]
    return found
