"""PAY-NET-002: every VPC endpoint has an endpoint policy that does not
allow everything to everyone."""

from __future__ import annotations

from guardrails.rules import policies, tf
from guardrails.rules.model import Finding, Rule, RuleContext

#: Endpoint types that accept a policy (Gateway Load Balancer endpoints do not).
POLICY_TYPES = ("Gateway", "Interface")


def _allows_everything(statement: dict) -> bool:
    """An unconditioned Allow of every action on every resource to any principal."""
    if not policies.is_allow(statement) or statement.get("Condition"):
        return False
    wildcard_action = any(a == "*" or a.endswith(":*") for a in policies.actions(statement))
    wildcard_resource = "*" in tf.as_list(statement.get("Resource"))
    return wildcard_action and wildcard_resource and "*" in policies.principals(statement, "AWS")


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for _, name, body in tf.each(stack, "aws_vpc_endpoint"):
        if (body.get("vpc_endpoint_type") or "Gateway") not in POLICY_TYPES:
            continue
        where = tf.address("aws_vpc_endpoint", name)
        policy = body.get("policy")
        if not isinstance(policy, str) or not policy.strip():
            findings.append(
                RULE.finding(
                    where,
                    "has no policy, so AWS attaches the default policy allowing every action "
                    "on every resource of any account",
                )
            )
            continue
        parsed = policies.statements(policy)
        if parsed is None:
            continue  # an expression (policy document data source): not judged here
        for statement in parsed:
            if _allows_everything(statement):
                findings.append(
                    RULE.finding(
                        where,
                        f"policy statement {statement.get('Sid', '(no Sid)')!r} allows every "
                        "action on every resource to any principal without a condition",
                    )
                )
    return findings


RULE = Rule(
    id="PAY-NET-002",
    summary="Every gateway and interface VPC endpoint has a policy, and no statement of it allows every action on every resource to any principal unconditionally.",
    why="Without a policy AWS attaches one allowing full access, so a compromised task can copy "
    "card data to any account's bucket, secret store or log group through the endpoint "
    "(PCI DSS 1.3.2, 1.4.2); docs/services.md promises no egress besides this account's services.",
    fix="Set policy to modules.network.endpoint_policy(...): this account's principals on this "
    "account's resources (aws:PrincipalAccount and aws:ResourceAccount), actions without a "
    "resource for this account's principals, ECR's layer bucket for S3.",
    check=check,
)
