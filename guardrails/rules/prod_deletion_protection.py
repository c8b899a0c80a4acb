"""PAY-DEL-001: stateful resources in the production tier are protected from deletion."""

from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

PREVENT_DESTROY = "add lifecycle { prevent_destroy = true }"
#: Resource types Terraform must never destroy in the production tier.
PREVENT_DESTROY_TYPES = (
    "aws_rds_cluster",
    "aws_kms_key",
    "aws_ecr_repository",
    "aws_secretsmanager_secret",
    "aws_cloudwatch_log_group",
    "aws_s3_bucket",
)


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    if not ctx.production:
        return []
    findings = []
    for resource_type, name, body in tf.each(stack, *PREVENT_DESTROY_TYPES):
        if not tf.prevents_destroy(body):
            findings.append(
                RULE.finding(
                    tf.address(resource_type, name),
                    "has no lifecycle.prevent_destroy in the production tier",
                    PREVENT_DESTROY,
                )
            )
    for _, name, body in tf.each(stack, "aws_rds_cluster"):
        if not tf.is_true(body.get("deletion_protection")):
            findings.append(
                RULE.finding(
                    tf.address("aws_rds_cluster", name),
                    "has deletion_protection unset or false in the production tier",
                    "set deletion_protection = true",
                )
            )
    for lb_type, name, body in tf.each(stack, "aws_lb", "aws_alb"):
        if not tf.is_true(body.get("enable_deletion_protection")):
            findings.append(
                RULE.finding(
                    tf.address(lb_type, name),
                    "has enable_deletion_protection unset or false in the production tier",
                    "set enable_deletion_protection = true",
                )
            )
    return findings


RULE = Rule(
    id="PAY-DEL-001",
    summary="In the production tier, the database, KMS keys, every S3 bucket (state, access logs), every log "
    "group, ECR repositories and secrets have prevent_destroy; the database and load "
    "balancers have deletion protection.",
    why="Losing a key makes every backup unreadable; losing the database, images, secrets "
    "or state is an outage; losing a log group or log bucket loses the year of audit "
    "trail PCI DSS 10.5.1 asks for. A mistaken plan must fail instead of destroying them.",
    fix="lifecycle.prevent_destroy = true; deletion_protection / enable_deletion_protection = true.",
    check=check,
)
