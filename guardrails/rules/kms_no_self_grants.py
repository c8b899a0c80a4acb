"""PAY-KMS-003: no key policy lets an IAM principal create grants for
itself: ``kms:CreateGrant`` (also through ``kms:Create*`` or ``kms:*``)
only with ``kms:GrantIsForAWSResource``, i.e. for an AWS service
integrated with KMS acting on the caller's behalf (Aurora, Secrets
Manager, ECR).

A grant gives its grantee key use (Decrypt, GenerateDataKey) without
changing the key policy (AWS KMS developer guide, "Grants in AWS KMS",
https://docs.aws.amazon.com/kms/latest/developerguide/grants.html), so it
shows neither in the policy nor in a Terraform plan. ``kms:Create*``, the
wildcard of the default key policy's administrator statement, includes it
(AWS KMS developer guide, "Default key policy",
https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html).
``kms:GrantIsForAWSResource`` is true only when a service integrated with
KMS calls CreateGrant for the caller
(https://docs.aws.amazon.com/kms/latest/developerguide/conditions-kms.html#conditions-kms-grant-is-for-aws-resource).
"""

from __future__ import annotations

from fnmatch import fnmatchcase

from guardrails.rules import policies, tf
from guardrails.rules.model import Finding, Rule, RuleContext

GRANT_CONDITION = "kms:grantisforawsresource"


def _grants_create_grant(statement: dict) -> bool:
    return any(fnmatchcase("kms:creategrant", a.lower()) for a in policies.actions(statement))


def _only_for_aws_resources(statement: dict) -> bool:
    condition = statement.get("Condition")
    if not isinstance(condition, dict):
        return False
    for operator, block in condition.items():
        if str(operator).lower() != "bool" or not isinstance(block, dict):
            continue
        for key, value in block.items():
            values = [str(v).lower() for v in tf.as_list(value)]
            if str(key).lower() == GRANT_CONDITION and values == ["true"]:
                return True
    return False


def problems(statement: dict) -> list[str]:
    """Why ``statement`` lets an IAM principal grant itself key use."""
    if not policies.is_allow(statement) or not policies.principals(statement, "AWS"):
        return []
    if not _grants_create_grant(statement) or _only_for_aws_resources(statement):
        return []
    sid = statement.get("Sid", "(no Sid)")
    return [
        f"statement {sid!r} allows kms:CreateGrant (through {policies.actions(statement)}) "
        "without Bool kms:GrantIsForAWSResource = true: its principals can grant "
        "themselves Decrypt, unseen in the key policy and the plan"
    ]


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for _, name, body in tf.each(stack, "aws_kms_key"):
        parsed = policies.statements(body.get("policy"))
        for statement in parsed or []:  # no policy or unreadable: PAY-KMS-002 reports it
            for problem in problems(statement):
                findings.append(RULE.finding(tf.address("aws_kms_key", name), problem))
    return findings


RULE = Rule(
    id="PAY-KMS-003",
    summary="No key policy allows kms:CreateGrant (kms:Create*, kms:*) to an IAM principal "
    "unless kms:GrantIsForAWSResource is true.",
    why="A grant gives key use without a key-policy change, so a key administrator with "
    "kms:Create* could grant itself Decrypt unseen by the policy, the plan and the review "
    "(PCI DSS 3.6.1, 3.7.x separation of key administration and use).",
    fix="List the administrator actions exactly (modules.kms.KEY_ADMINISTRATOR_ACTIONS); allow "
    "grants only with Bool kms:GrantIsForAWSResource = true and kms:ViaService.",
    check=check,
)
