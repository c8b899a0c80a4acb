"""PAY-KMS-001: log groups, SNS topics, ECR repositories, secrets and the
database are encrypted with a customer-managed KMS key."""

from __future__ import annotations

import re

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

#: resource type -> how to read its key (None: not encrypted with KMS).
_KEY_ARN = re.compile(r"^arn:aws[a-z-]*:kms:[a-z0-9-]+:\d{12}:key/[A-Za-z0-9-]+$")
_KEY_ID = re.compile(
    r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$|^mrk-[0-9a-f]{32}$"
)
# cdktf names cross-stack outputs after the referenced resource type.
_CROSS_STACK_KEY = re.compile(
    r"^\$\{data\.terraform_remote_state\.[A-Za-z0-9_-]+\.outputs\.cross-stack-output-aws_kms_(key|alias)[A-Za-z0-9_.-]*\}$"
)


def _ecr_key(body: dict):
    enc = tf.block(body.get("encryption_configuration"))
    return enc.get("kms_key") if enc.get("encryption_type") == "KMS" else None


KEY_ATTRIBUTES = {
    "aws_cloudwatch_log_group": ("kms_key_id", lambda b: b.get("kms_key_id")),
    "aws_sns_topic": ("kms_master_key_id", lambda b: b.get("kms_master_key_id")),
    "aws_ecr_repository": ("encryption_configuration", _ecr_key),
    "aws_secretsmanager_secret": ("kms_key_id", lambda b: b.get("kms_key_id")),
    "aws_rds_cluster": ("kms_key_id", lambda b: b.get("kms_key_id")),
}
FIXES = {
    "aws_cloudwatch_log_group": "set kms_key_id to the environment's logs key (security stack)",
    "aws_sns_topic": "set kms_master_key_id to the environment's data key",
    "aws_ecr_repository": 'set encryption_configuration { encryption_type = "KMS", kms_key = <data key ARN> }',
    "aws_secretsmanager_secret": "set kms_key_id to the environment's data key",
    "aws_rds_cluster": "set storage_encrypted = true and kms_key_id to the environment's data key",
}


def customer_managed(stack: dict, value) -> bool:
    """True for a reference to a key this project manages (same stack or
    another stack of the app) or a literal key ARN/id; False for absent
    values and AWS-managed aliases (alias/aws/...)."""
    if not isinstance(value, str) or not value.strip():
        return False
    value = value.strip()
    if "alias/aws/" in value:
        return False
    for resource_type in ("aws_kms_key", "aws_kms_replica_key", "aws_kms_alias"):
        ref = tf.reference(value, resource_type)
        if ref is not None:
            return ref[1] in tf.resources(stack, resource_type)
    ref = tf.reference(value, "aws_kms_key", data=True)
    if ref is not None:
        source = tf.data_sources(stack, "aws_kms_key").get(ref[1]) or {}
        return "alias/aws/" not in str(source.get("key_id", "alias/aws/"))
    return bool(_CROSS_STACK_KEY.match(value) or _KEY_ARN.match(value) or _KEY_ID.match(value))


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for resource_type, (attribute, read) in KEY_ATTRIBUTES.items():
        for _, name, body in tf.each(stack, resource_type):
            where = tf.address(resource_type, name)
            key = read(body)
            if resource_type == "aws_rds_cluster" and not tf.is_true(body.get("storage_encrypted")):
                findings.append(
                    RULE.finding(
                        where, "has storage_encrypted unset or false", FIXES[resource_type]
                    )
                )
            if not customer_managed(stack, key):
                shown = "absent" if key in (None, "") else repr(key)
                findings.append(
                    RULE.finding(
                        where,
                        f"{attribute} is {shown}, not a customer-managed KMS key",
                        FIXES[resource_type],
                    )
                )
    return findings


RULE = Rule(
    id="PAY-KMS-001",
    summary="Log groups, SNS topics, ECR repositories, secrets and the database use a "
    "customer-managed KMS key.",
    why="With our own keys, key policies decide who can read logs, images, secrets and "
    "payment data, use is audited in CloudTrail, and access can be revoked (PCI DSS 3.5/3.6).",
    fix="Pass the environment's logs or data key (security stack) to the resource.",
    check=check,
)
