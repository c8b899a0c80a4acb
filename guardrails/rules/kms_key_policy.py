"""PAY-KMS-002: no key policy lets a principal use keys freely: no
``kms:*`` to anyone, and ``kms:Decrypt`` only to named roles, through
services (``kms:ViaService``) or to service principals bound to this
account's sources."""

from __future__ import annotations

from fnmatch import fnmatchcase

from guardrails.rules import policies, tf
from guardrails.rules.model import Finding, Rule, RuleContext

#: Conditions that make a decrypt grant to the account (root delegation) narrow.
ACCOUNT_CONDITIONS = {"kms:viaservice", "aws:principalarn"}
#: Conditions that bind a service principal to this account's resources.
SERVICE_CONDITIONS = {"aws:sourceaccount", "aws:sourcearn", "aws:sourceorgid", "kms:viaservice"}


def _grants(statement: dict, action: str) -> bool:
    return any(fnmatchcase(action.lower(), a.lower()) for a in policies.actions(statement))


def _problems(statement: dict) -> list[str]:
    sid = statement.get("Sid", "(no Sid)")
    if not policies.is_allow(statement):
        return []
    if any(a in ("*", "kms:*") for a in policies.actions(statement)):
        return [f"statement {sid!r} allows {policies.actions(statement)} (every key operation)"]
    if not _grants(statement, "kms:Decrypt"):
        return []
    keys = policies.condition_keys(statement)
    problems = []
    aws = policies.principals(statement, "AWS")
    if aws and not keys & ACCOUNT_CONDITIONS:
        problems.append(
            f"statement {sid!r} lets {aws} decrypt without kms:ViaService or "
            "aws:PrincipalArn (any IAM policy with kms:Decrypt then reads the data)"
        )
    services = policies.principals(statement, "Service")
    service_keys = SERVICE_CONDITIONS | {k for k in keys if k.startswith("kms:encryptioncontext:")}
    if services and not keys & service_keys:
        problems.append(
            f"statement {sid!r} lets service {services} decrypt without aws:SourceAccount, "
            "aws:SourceArn or an encryption-context condition"
        )
    return problems


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for _, name, body in tf.each(stack, "aws_kms_key"):
        where = tf.address("aws_kms_key", name)
        policy = body.get("policy")
        if not isinstance(policy, str) or not policy.strip():
            findings.append(
                RULE.finding(
                    where,
                    "has no policy, so AWS attaches the default one giving the account kms:*",
                )
            )
            continue
        parsed = policies.statements(policy)
        if parsed is None:
            findings.append(
                RULE.finding(
                    where, "has a policy that is not JSON at synthesis; it cannot be checked"
                )
            )
            continue
        for statement in parsed:
            for problem in _problems(statement):
                findings.append(RULE.finding(where, problem))
    return findings


RULE = Rule(
    id="PAY-KMS-002",
    summary="No key policy grants kms:* to anyone, or kms:Decrypt to the account without kms:ViaService or aws:PrincipalArn, or to a service without a source condition.",
    why="With root kms:* any principal whose IAM policy allows kms:Decrypt on * (AdministratorAccess, "
    "PowerUserAccess) decrypts card data directly; key administration and key use must be "
    "separate duties (PCI DSS 3.6.1, 3.7.x), and a service principal without a source condition "
    "is a confused deputy for other accounts.",
    fix="Build the policy with modules.kms.key_policy: named administrator roles, policy changes "
    "and deletion for the deploy and break-glass roles only, use through kms:ViaService, service "
    "principals with aws:SourceAccount/aws:SourceArn.",
    check=check,
)
