"""PAY-ECS-002: a target group CodeDeploy shifts traffic on is served only
by the CODE_DEPLOY service of that deployment group, and every CODE_DEPLOY
service is driven by a deployment group.

This is the bug of the original AWS CDK design: a rolling-update service
(ECS controller with circuit breaker and min/max percent) attached directly
to the production target group while a CodeDeploy deployment group also
claims that target group. ECS and CodeDeploy then both move the traffic,
and the first CodeDeploy release fails (the service is not CODE_DEPLOY).
"""

from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.ecs_codedeploy_service import SERVICE, controller_type
from guardrails.rules.model import Finding, Rule, RuleContext

GROUP = "aws_codedeploy_deployment_group"
TARGET_GROUP = "aws_lb_target_group"


def claimed_target_groups(stack: dict) -> dict[str, list[str]]:
    """target group name -> deployment groups whose target group pair lists it."""
    claimed: dict[str, list[str]] = {}
    for _, group, body in tf.each(stack, GROUP):
        for info in tf.blocks(body.get("load_balancer_info")):
            for pair in tf.blocks(info.get("target_group_pair_info")):
                for target in tf.blocks(pair.get("target_group")):
                    name = tf.resolve(stack, target.get("name"), TARGET_GROUP, "name")
                    if name is not None:
                        claimed.setdefault(name, []).append(group)
    return claimed


def driven_service(stack: dict, group_body: dict) -> str | None:
    """The aws_ecs_service (in this stack) a deployment group releases."""
    ecs = tf.block(group_body.get("ecs_service"))
    return tf.resolve(stack, ecs.get("service_name"), SERVICE, "name")


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    claimed = claimed_target_groups(stack)
    drives: dict[str, list[str]] = {}
    for _, group, body in tf.each(stack, GROUP):
        service = driven_service(stack, body)
        if service is not None:
            drives.setdefault(service, []).append(group)
    services = tf.resources(stack, SERVICE)
    for name, body in services.items():
        where = tf.address(SERVICE, name)
        controller = controller_type(body)
        for lb in tf.blocks(body.get("load_balancer")):
            target = tf.resolve(stack, lb.get("target_group_arn"), TARGET_GROUP, "arn")
            for group in claimed.get(target or "", []):
                if controller != "CODE_DEPLOY":
                    findings.append(
                        RULE.finding(
                            where,
                            f"uses the rolling-update deployment controller ({controller}) but its "
                            f"load_balancer attaches it to target group {target}, which CodeDeploy "
                            f"deployment group {group} shifts traffic on; ECS and CodeDeploy would "
                            "both drive this traffic and the first CodeDeploy release fails",
                            f'set deployment_controller {{ type = "CODE_DEPLOY" }}, remove '
                            "deployment_circuit_breaker, deployment_minimum_healthy_percent and "
                            f"deployment_maximum_percent, and release it through {group}; or attach "
                            "the service to a target group no deployment group uses",
                        )
                    )
                elif driven_service(stack, tf.resources(stack, GROUP)[group]) != name:
                    findings.append(
                        RULE.finding(
                            where,
                            f"is attached to target group {target} of deployment group {group}, "
                            "which releases a different service",
                            f"attach it to its own target group pair, or set {group}'s "
                            "ecs_service.service_name to this service",
                        )
                    )
        if controller == "CODE_DEPLOY" and name not in drives:
            findings.append(
                RULE.finding(
                    where,
                    "uses the CODE_DEPLOY controller but no deployment group in this stack "
                    "releases it (ecs_service.service_name), so it can never be updated",
                    "add an aws_codedeploy_deployment_group whose ecs_service names this service",
                )
            )
    for service, groups in drives.items():
        if controller_type(services[service]) != "CODE_DEPLOY":
            for group in groups:
                findings.append(
                    RULE.finding(
                        tf.address(GROUP, group),
                        f"releases {tf.address(SERVICE, service)}, whose deployment controller is "
                        f"{controller_type(services[service])}, not CODE_DEPLOY",
                        'set deployment_controller { type = "CODE_DEPLOY" } on the service '
                        "(it is create-only: the service is replaced)",
                    )
                )
    return findings


RULE = Rule(
    id="PAY-ECS-002",
    summary="Target groups of a CodeDeploy deployment group serve only that group's "
    "CODE_DEPLOY service, and every CODE_DEPLOY service has a deployment group.",
    why="A rolling-update service attached to a target group CodeDeploy also shifts "
    "(the original AWS CDK design: circuit breaker + attach_to_application_target_group "
    "next to a deployment group) has two owners of its traffic; releases fail or "
    "route traffic to the wrong task set.",
    fix="Use deployment_controller CODE_DEPLOY without rolling settings and release the "
    "service only through its deployment group.",
    check=check,
)
