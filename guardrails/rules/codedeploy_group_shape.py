"""PAY-CD-001: an ECS deployment group is blue/green with traffic control,
one production listener, a test listener, two target groups that listeners
route to, and automatic rollback."""

from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

GROUP = "aws_codedeploy_deployment_group"
LISTENER = "aws_lb_listener"
LISTENER_RULE = "aws_lb_listener_rule"
TARGET_GROUP = "aws_lb_target_group"


def forward_targets(actions) -> list:
    """Target group ARNs an action list forwards to (simple or weighted forward)."""
    targets = []
    for action in tf.blocks(actions):
        if action.get("target_group_arn") is not None:
            targets.append(action["target_group_arn"])
        for forward in tf.blocks(action.get("forward")):
            targets += [tg.get("arn") for tg in tf.blocks(forward.get("target_group"))]
    return targets


def routed_target_groups(stack: dict) -> set[str]:
    """Target groups (by resource name) some listener or listener rule forwards to."""
    routed: set[str] = set()
    for _, _, body in tf.each(stack, LISTENER_RULE):
        routed.update(
            name
            for arn in forward_targets(body.get("action"))
            if (name := tf.resolve(stack, arn, TARGET_GROUP, "arn")) is not None
        )
    for _, _, body in tf.each(stack, LISTENER):
        routed.update(
            name
            for arn in forward_targets(body.get("default_action"))
            if (name := tf.resolve(stack, arn, TARGET_GROUP, "arn")) is not None
        )
    return routed


def _route_findings(stack: dict, where: str, pair: dict, route: str, label: str) -> list[Finding]:
    listeners = tf.as_list(tf.block(pair.get(route)).get("listener_arns"))
    if len(listeners) != 1:
        return [
            RULE.finding(
                where,
                f"has {len(listeners)} {label} listeners in {route}; CodeDeploy needs exactly one",
                f"set {route}.listener_arns to the one {label} listener",
            )
        ]
    if tf.resolve(stack, listeners[0], LISTENER, "arn") is None:
        return [
            RULE.finding(
                where,
                f"{route} listener {listeners[0]!r} is not an aws_lb_listener "
                "of this stack, so the contract cannot be checked",
                "create the listeners in the same stack as the deployment group",
            )
        ]
    return []


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    routed = None
    for _, name, body in tf.each(stack, GROUP):
        if not tf.blocks(body.get("ecs_service")):
            continue  # EC2/Lambda deployment groups have other contracts
        where = tf.address(GROUP, name)
        style = tf.block(body.get("deployment_style"))
        if (
            style.get("deployment_type") != "BLUE_GREEN"
            or style.get("deployment_option") != "WITH_TRAFFIC_CONTROL"
        ):
            findings.append(
                RULE.finding(
                    where,
                    f"deployment_style is {style.get('deployment_type')}/"
                    f"{style.get('deployment_option')}",
                    'set deployment_style { deployment_type = "BLUE_GREEN", '
                    'deployment_option = "WITH_TRAFFIC_CONTROL" }',
                )
            )
        pairs = [
            pair
            for info in tf.blocks(body.get("load_balancer_info"))
            for pair in tf.blocks(info.get("target_group_pair_info"))
        ]
        if len(pairs) != 1:
            findings.append(
                RULE.finding(
                    where,
                    f"has {len(pairs)} load_balancer_info.target_group_pair_info blocks",
                    "give exactly one target_group_pair_info with prod and test routes and two "
                    "target groups",
                )
            )
        for pair in pairs[:1]:
            findings += _route_findings(stack, where, pair, "prod_traffic_route", "production")
            findings += _route_findings(stack, where, pair, "test_traffic_route", "test")
            targets = [t.get("name") for t in tf.blocks(pair.get("target_group"))]
            names = [tf.resolve(stack, t, TARGET_GROUP, "name") for t in targets]
            if len(targets) != 2 or len(set(targets)) != 2:
                findings.append(
                    RULE.finding(
                        where,
                        f"lists {len(targets)} target groups ({len(set(targets))} distinct)",
                        "list exactly two distinct target groups (blue and green)",
                    )
                )
            if routed is None:
                routed = routed_target_groups(stack)
            for target, resolved in zip(targets, names, strict=True):
                if resolved is None:
                    findings.append(
                        RULE.finding(
                            where,
                            f"target group {target!r} is not an aws_lb_target_group of this stack",
                            "create both target groups in the same stack as the deployment group",
                        )
                    )
                elif resolved not in routed:
                    findings.append(
                        RULE.finding(
                            where,
                            f"target group {resolved} is not forwarded to by any listener rule or listener, "
                            "so it has no load balancer and CodeDeploy rejects the pair",
                            "forward the production listener rule to the blue target group and the "
                            "test listener rule to the green one",
                        )
                    )
        rollback = tf.block(body.get("auto_rollback_configuration"))
        events = tf.as_list(rollback.get("events"))
        if not tf.is_true(rollback.get("enabled")) or "DEPLOYMENT_FAILURE" not in events:
            findings.append(
                RULE.finding(
                    where,
                    "has no automatic rollback on DEPLOYMENT_FAILURE",
                    "set auto_rollback_configuration { enabled = true, events = "
                    '["DEPLOYMENT_FAILURE", "DEPLOYMENT_STOP_ON_ALARM"] }',
                )
            )
    return findings


RULE = Rule(
    id="PAY-CD-001",
    summary="An ECS deployment group has one production listener, a test listener, two "
    "routed target groups and automatic rollback.",
    why="CodeDeploy rejects a pair whose target groups have no load balancer and shifts "
    "only one production route; without auto rollback a failed release stays live.",
    fix="One prod_traffic_route listener, one test_traffic_route listener, two target "
    "groups each forwarded to by a listener rule, auto_rollback_configuration enabled.",
    check=check,
)
