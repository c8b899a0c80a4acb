"""PAY-ECS-001: a CODE_DEPLOY service carries no rolling-update settings,
has a load balancer, and leaves task definition and target group to
CodeDeploy."""
from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

SERVICE = "aws_ecs_service"
#: Settings of the ECS (rolling) controller: with CODE_DEPLOY they have no
#: effect (percentages), cause a permanent diff (circuit breaker, alarms) or
#: fail the apply (force_new_deployment).
ROLLING_SETTINGS = {
    "deployment_circuit_breaker": "remove the deployment_circuit_breaker block (CodeDeploy "
                                  "rolls back through the deployment group's auto_rollback_configuration)",
    "alarms": "remove the alarms block (put the alarms in the deployment group's alarm_configuration)",
    "deployment_minimum_healthy_percent": "remove deployment_minimum_healthy_percent (the "
                                          "CodeDeploy deployment configuration decides the pace)",
    "deployment_maximum_percent": "remove deployment_maximum_percent (the CodeDeploy "
                                  "deployment configuration decides the pace)",
    "force_new_deployment": "remove force_new_deployment (CodeDeploy services are redeployed "
                            "by creating a CodeDeploy deployment)",
}
#: Attributes CodeDeploy changes on every release.
IGNORED_ATTRIBUTES = ("task_definition", "load_balancer")


def controller_type(body: dict) -> str:
    """ECS when the block or its type is absent (the ECS default)."""
    return str(tf.block(body.get("deployment_controller")).get("type") or "ECS")


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for _, name, body in tf.each(stack, SERVICE):
        if controller_type(body) != "CODE_DEPLOY":
            continue
        where = tf.address(SERVICE, name)
        for setting, fix in ROLLING_SETTINGS.items():
            value = body.get(setting)
            if value is None or value == [] or value is False:
                continue
            findings.append(RULE.finding(
                where, f"uses the CODE_DEPLOY controller but sets the rolling-update "
                       f"setting {setting}", fix))
        if not tf.blocks(body.get("load_balancer")):
            findings.append(RULE.finding(
                where, "uses the CODE_DEPLOY controller without a load_balancer block",
                "attach the service to the blue target group of its deployment group "
                "(load_balancer { target_group_arn, container_name, container_port })"))
        missing = [a for a in IGNORED_ATTRIBUTES if not tf.ignores_changes(body, a)]
        if missing:
            findings.append(RULE.finding(
                where, "does not ignore changes to " + ", ".join(missing)
                       + " although CodeDeploy rewrites them on every release",
                "add lifecycle { ignore_changes = [task_definition, load_balancer] } "
                "(plus desired_count when autoscaled)"))
    return findings


RULE = Rule(
    id="PAY-ECS-001",
    summary="A CODE_DEPLOY ECS service has no rolling-update settings, has a load balancer "
            "and ignores task_definition and load_balancer changes.",
    why="CodeDeploy replaces the task set and swaps target groups; rolling settings are "
        "ignored or cause permanent diffs, and without ignore_changes every plan tries to "
        "revert the last release and fails (terraform-provider-aws #12703).",
    fix="Remove deployment_circuit_breaker/alarms/min-max percent, add load_balancer and "
        "lifecycle.ignore_changes = [task_definition, load_balancer].",
    check=check,
)
