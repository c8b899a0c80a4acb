"""Per-resource suppressions, each with a written reason.

A suppression is metadata on the resource's construct node, so it travels
with the resource (renaming a variable cannot orphan it) and is visible to
anyone reading the construct tree. ``suppress`` also records each one in a
Python-side list on the stack object, so
``suppressions_in`` answers without walking the tree (walking it costs one
jsii round trip per construct and attribute: about a second per synth).
"""

from __future__ import annotations

from dataclasses import dataclass

from framework import TerraformResource, TerraformStack
from guardrails.rules.registry import RULES_BY_ID

METADATA_TYPE = "payment/guardrails/suppress"

#: Attribute of a stack's Python object holding its suppressions.
_ATTRIBUTE = "_payment_guardrails_suppressions"


@dataclass(frozen=True, kw_only=True)
class Suppression:
    stack: str
    address: str
    rule_id: str
    reason: str

    def __str__(self) -> str:
        return f"{self.stack}: {self.address}: {self.rule_id} suppressed: {self.reason}"


def suppress(resource, rule_id: str, *, reason: str) -> None:
    """Exempts ``resource`` (a provider resource construct) from ``rule_id``.

    ``reason`` must say why the exception is acceptable; it is printed in
    every synth report. Refuses unknown rule ids, empty reasons and
    anything that is not a Terraform resource.
    """
    if not isinstance(resource, TerraformResource):
        raise ValueError(
            f"resource: {resource!r} is not allowed; suppress a Terraform "
            "resource construct (e.g. aws.ecs_service.EcsService)"
        )
    if rule_id not in RULES_BY_ID:
        raise ValueError(
            f"rule_id: {rule_id!r} is not a known rule; allowed: " + ", ".join(RULES_BY_ID)
        )
    if not isinstance(reason, str) or not reason.strip():
        raise ValueError(
            f"reason: {reason!r} is not allowed; write why {rule_id} does not "
            f"apply to {resource.node.path}"
        )
    resource.node.add_metadata(METADATA_TYPE, {"rule": rule_id, "reason": reason.strip()})
    stack = TerraformStack.of(resource)
    stack.__dict__.setdefault(_ATTRIBUTE, []).append(
        Suppression(
            stack=stack.node.id,
            address=f"{resource.terraform_resource_type}.{resource.friendly_unique_id}",
            rule_id=rule_id,
            reason=reason.strip(),
        )
    )


def suppressions_in(stack: TerraformStack) -> list[Suppression]:
    """Every suppression on a resource of ``stack`` (not of nested stacks)."""
    return list(stack.__dict__.get(_ATTRIBUTE, ()))
