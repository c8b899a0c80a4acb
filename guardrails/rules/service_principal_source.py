"""PAY-IAM-001: every trust or resource policy that lets an AWS service
principal act carries a source condition (confused-deputy protection)."""

from __future__ import annotations

from guardrails.rules import policies, tf
from guardrails.rules.model import Finding, Rule, RuleContext

#: resource type -> the argument holding its policy document.
POLICY_ARGUMENTS = {
    "aws_iam_role": "assume_role_policy",
    "aws_s3_bucket_policy": "policy",
    "aws_sns_topic_policy": "policy",
    "aws_sqs_queue_policy": "policy",
    "aws_cloudwatch_log_resource_policy": "policy_document",
    "aws_kms_key": "policy",
    "aws_secretsmanager_secret_policy": "policy",
    "aws_ecr_repository_policy": "policy",
}
#: Global condition keys that tie a service's request to our resources
#: (IAM user guide, "The confused deputy problem").
SOURCE_KEYS = {"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "aws:sourceorgpaths"}
#: In key policies: the encryption context or the calling service names the source.
KMS_KEYS = {"kms:viaservice"}


def _bound(resource_type: str, statement: dict) -> bool:
    keys = policies.condition_keys(statement)
    if keys & SOURCE_KEYS:
        return True
    if resource_type == "aws_kms_key" and (
        keys & KMS_KEYS or any(k.startswith("kms:encryptioncontext:") for k in keys)
    ):
        return True
    if resource_type == "aws_s3_bucket_policy":
        # Elastic Load Balancing log delivery: the documented bucket policy
        # binds the account by the key prefix AWSLogs/<account-id>/.
        resources = [str(r) for r in tf.as_list(statement.get("Resource"))]
        return bool(resources) and all("/AWSLogs/" in r for r in resources)
    if resource_type == "aws_cloudwatch_log_resource_policy":
        return _creates_streams_of_named_groups(statement)
    return False


def _creates_streams_of_named_groups(statement: dict) -> bool:
    """Only ``logs:CreateLogStream``, on the streams of named log groups
    (``<group ARN>:*``, no wildcard in the group): EventBridge sends no
    ``aws:SourceArn`` with that call (PAY-LOG-003), and an empty stream
    writes nothing; the ``logs:PutLogEvents`` statement carries the source."""
    actions = [a.lower() for a in policies.actions(statement)]
    resources = [str(r) for r in tf.as_list(statement.get("Resource"))]
    return (
        actions == ["logs:createlogstream"]
        and bool(resources)
        and all(r.endswith(":*") and "*" not in r[:-2] and r[:-2] for r in resources)
    )


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for resource_type, argument in POLICY_ARGUMENTS.items():
        for _, name, body in tf.each(stack, resource_type):
            parsed = policies.statements(body.get(argument))
            if parsed is None:
                continue  # absent or an expression: other rules and reviews judge it
            for statement in parsed:
                services = policies.principals(statement, "Service")
                if not services or not policies.is_allow(statement):
                    continue
                if not _bound(resource_type, statement):
                    findings.append(
                        RULE.finding(
                            tf.address(resource_type, name),
                            f"{argument} statement {statement.get('Sid', '(no Sid)')!r} lets "
                            f"{services} act without aws:SourceAccount or aws:SourceArn",
                        )
                    )
    for _, name, body in tf.each(stack, "aws_lambda_permission"):
        principal = str(body.get("principal") or "")
        if principal.endswith(".amazonaws.com") and not (
            body.get("source_account") or body.get("source_arn")
        ):
            findings.append(
                RULE.finding(
                    tf.address("aws_lambda_permission", name),
                    f"lets {principal} invoke without source_account or source_arn",
                    "set source_arn (or source_account) to the resource that invokes",
                )
            )
    return findings


RULE = Rule(
    id="PAY-IAM-001",
    summary="Every trust or resource policy that allows an AWS service principal carries aws:SourceAccount or aws:SourceArn (key policies: or the encryption context / kms:ViaService; log resource policies: or logs:CreateLogStream alone on named log groups' streams).",
    why="Without a source condition the service acts for any account that names our role, bucket, "
    "topic, log group or key: another customer's resource can write into our audit logs or use "
    "our key (the confused-deputy problem; PCI DSS 7.2.2).",
    fix="Add Condition StringEquals aws:SourceAccount = this account, or ArnLike aws:SourceArn = "
    "the resource that calls (modules.iam.service_role(source_account=...)).",
    check=check,
)
