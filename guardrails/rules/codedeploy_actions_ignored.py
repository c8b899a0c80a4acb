"""PAY-CD-002: listeners and listener rules CodeDeploy rewrites ignore
their action changes."""

from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.codedeploy_group_shape import (
    GROUP,
    LISTENER,
    LISTENER_RULE,
    TARGET_GROUP,
    forward_targets,
)
from guardrails.rules.ecs_target_group_owner import claimed_target_groups
from guardrails.rules.model import Finding, Rule, RuleContext


def traffic_listeners(stack: dict) -> dict[str, list[str]]:
    """listener name -> deployment groups using it as prod or test route."""
    used: dict[str, list[str]] = {}
    for _, group, body in tf.each(stack, GROUP):
        for info in tf.blocks(body.get("load_balancer_info")):
            for pair in tf.blocks(info.get("target_group_pair_info")):
                for route in ("prod_traffic_route", "test_traffic_route"):
                    for arn in tf.as_list(tf.block(pair.get(route)).get("listener_arns")):
                        name = tf.resolve(stack, arn, LISTENER, "arn")
                        if name is not None:
                            used.setdefault(name, []).append(group)
    return used


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for name, groups in sorted(traffic_listeners(stack).items()):
        body = tf.resources(stack, LISTENER)[name]
        if not tf.ignores_changes(body, "default_action"):
            findings.append(
                RULE.finding(
                    tf.address(LISTENER, name),
                    f"is a traffic route of deployment group {sorted(set(groups))[0]} but does not "
                    "ignore default_action changes, so a plan after a release reverts CodeDeploy's routing",
                    "add lifecycle { ignore_changes = [default_action] }",
                )
            )
    claimed = claimed_target_groups(stack)
    for _, name, body in tf.each(stack, LISTENER_RULE):
        targets = {
            tf.resolve(stack, arn, TARGET_GROUP, "arn")
            for arn in forward_targets(body.get("action"))
        }
        owned = sorted(t for t in targets if t in claimed)
        if owned and not tf.ignores_changes(body, "action"):
            findings.append(
                RULE.finding(
                    tf.address(LISTENER_RULE, name),
                    f"forwards to target group {owned[0]} of deployment group {claimed[owned[0]][0]} "
                    "but does not ignore action changes, so a plan after a release reverts "
                    "CodeDeploy's weighted forward",
                    "add lifecycle { ignore_changes = [action] }",
                )
            )
    return findings


RULE = Rule(
    id="PAY-CD-002",
    summary="Listeners and listener rules CodeDeploy rewrites ignore default_action / action changes.",
    why="CodeDeploy points listeners and rules at the new target group on every release; "
    "Terraform would switch traffic back to the old task set on the next apply.",
    fix="lifecycle.ignore_changes = [default_action] on traffic-route listeners and "
    "[action] on rules forwarding to a deployment group's target groups.",
    check=check,
)
