"""PAY-ECS-001: a CODE_DEPLOY ECS service sets only arguments of the contract
table, has a load balancer and ignores what CodeDeploy owns.

The table, its classes and their sources (ECS API reference, UpdateService;
the ECS blue/green AppSpec; terraform-provider-aws #43434, #43533, #29252)
live in config/codedeploy_contract.py, which the services tier imports too.
"""

from __future__ import annotations

from config.codedeploy_contract import CONTRACT, MUST_IGNORE, REFUSED
from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

SERVICE = "aws_ecs_service"

#: Terraform meta-arguments and cdktf metadata: not service arguments.
META = frozenset(
    {"//", "count", "for_each", "depends_on", "lifecycle", "provider", "provisioner", "connection"}
)


def controller_type(body: dict) -> str:
    """ECS when the block or its type is absent (the ECS default)."""
    return str(tf.block(body.get("deployment_controller")).get("type") or "ECS")


def _is_set(value) -> bool:
    return not (value is None or value == [] or value == {} or value is False)


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for _, name, body in tf.each(stack, SERVICE):
        if controller_type(body) != "CODE_DEPLOY":
            continue
        where = tf.address(SERVICE, name)
        for argument, value in body.items():
            if argument in META or argument in CONTRACT or not _is_set(value):
                continue
            if argument in REFUSED:
                findings.append(
                    RULE.finding(
                        where,
                        f"uses the CODE_DEPLOY controller but sets {argument}",
                        REFUSED[argument],
                    )
                )
            else:
                findings.append(
                    RULE.finding(
                        where,
                        f"sets {argument}, which the CODE_DEPLOY contract table does not classify",
                        "add it to CONTRACT in config/codedeploy_contract.py with its "
                        "class and the API reference that justifies it, or remove it",
                    )
                )
        if not tf.blocks(body.get("load_balancer")):
            findings.append(
                RULE.finding(
                    where,
                    "uses the CODE_DEPLOY controller without a load_balancer block",
                    "attach the service to the blue target group of its deployment group "
                    "(load_balancer { target_group_arn, container_name, container_port })",
                )
            )
        missing = [a for a in MUST_IGNORE if not tf.ignores_changes(body, a)]
        if missing:
            findings.append(
                RULE.finding(
                    where,
                    "does not ignore changes to "
                    + ", ".join(missing)
                    + ", which a CODE_DEPLOY service changes only through CodeDeploy or "
                    "by re-creation (UpdateService refuses them)",
                    "add lifecycle { ignore_changes = ["
                    + ", ".join(MUST_IGNORE)
                    + "] } (plus desired_count when autoscaled)",
                )
            )
    return findings


RULE = Rule(
    id="PAY-ECS-001",
    summary="A CODE_DEPLOY ECS service sets only arguments of the contract table, has a load "
    "balancer and ignores what CodeDeploy owns and the create-time settings.",
    why="UpdateService on a CODE_DEPLOY service accepts only desired count, deployment "
    "configuration, grace period, placement, managed tags and tag propagation (ECS API "
    "reference); anything else Terraform changes fails the apply or is reverted on every "
    "plan (terraform-provider-aws #12703).",
    fix="Remove rolling-update settings, add load_balancer and lifecycle.ignore_changes = "
    "[task_definition, load_balancer, network_configuration, platform_version, "
    "capacity_provider_strategy, service_registries, enable_execute_command].",
    check=check,
)
