"""Runs the contract rules when a stack is synthesized.

Mechanism: a node validation on the stack (``node.add_validation``). cdktf
runs every node validation during ``app.synth()`` before writing the stack,
and any message makes synthesis fail with ``Validation failed``. The
validation reads ``stack.to_terraform()``: the stack's final, resolved
JSON including escape-hatch overrides and ``lifecycle`` blocks, which is
exactly what Terraform would see. cdktf invokes Aspects before it runs
validations, so resources or overrides an Aspect adds are checked too. (An
Aspect of our own would see one construct at a time; the cross-resource
rules need the whole stack.)
"""

from __future__ import annotations

import jsii

from framework import IValidation, TerraformStack
from guardrails.rules.model import Finding, RuleContext
from guardrails.rules.registry import RULES, run_rules
from guardrails.rules.suppression import Suppression, suppressions_in


def evaluate(stack: TerraformStack, ctx: RuleContext) -> tuple[list[Finding], list[Suppression]]:
    """(unsuppressed findings, suppressions) of one stack as it stands now."""
    findings = run_rules(stack.to_terraform(), ctx, RULES)
    suppressions = suppressions_in(stack)
    waived = {(s.address, s.rule_id) for s in suppressions}
    return [f for f in findings if (f.address, f.rule_id) not in waived], suppressions


@jsii.implements(IValidation)
class ContractRulesValidation:
    """Node validation returning one message per unsuppressed finding."""

    def __init__(self, stack: TerraformStack, ctx: RuleContext) -> None:
        self.stack = stack
        self.ctx = ctx

    def validate(self) -> list[str]:
        findings, _ = evaluate(self.stack, self.ctx)
        return [str(f) for f in findings]


def register(stack: TerraformStack, ctx: RuleContext) -> ContractRulesValidation:
    """Makes ``app.synth()`` fail when ``stack`` breaks a contract rule."""
    validation = ContractRulesValidation(stack, ctx)
    stack.node.add_validation(validation)
    return validation
