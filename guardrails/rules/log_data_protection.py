"""PAY-LOG-001: every log group of a stack has a CloudWatch Logs data
protection policy that masks payment card numbers."""

from __future__ import annotations

import json

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

CARD_NUMBER = "arn:aws:dataprotection::aws:data-identifier/CreditCardNumber"


def _masks_card_numbers(document) -> bool:
    try:
        parsed = json.loads(document) if isinstance(document, str) else document
    except ValueError:
        return False
    for statement in tf.as_list((parsed or {}).get("Statement")):
        if not isinstance(statement, dict):
            continue
        identifiers = tf.as_list(statement.get("DataIdentifier"))
        operation = statement.get("Operation") or {}
        if any(str(i).endswith("data-identifier/CreditCardNumber") for i in identifiers) and (
            "Deidentify" in operation
        ):
            return True
    return False


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    protected = set()
    for _, _, body in tf.each(stack, "aws_cloudwatch_log_data_protection_policy"):
        if _masks_card_numbers(body.get("policy_document")):
            ref = tf.reference(body.get("log_group_name"), "aws_cloudwatch_log_group")
            protected.add(ref[1] if ref else body.get("log_group_name"))
    findings = []
    for _, name, body in tf.each(stack, "aws_cloudwatch_log_group"):
        if name not in protected and body.get("name") not in protected:
            findings.append(
                RULE.finding(
                    tf.address("aws_cloudwatch_log_group", name),
                    "has no data protection policy masking card numbers",
                )
            )
    return findings


RULE = Rule(
    id="PAY-LOG-001",
    summary="Every log group has a data protection policy that masks card numbers (CreditCardNumber, Deidentify).",
    why="A stack trace, a slow statement or a debug line can carry a PAN; unmasked it is stored "
    "in clear for a year and readable by everyone with logs:GetLogEvents (PCI DSS 3.3.1, 3.4.1).",
    fix="Call modules.observability.data_protection.protect_card_data(stack, ...) at the end of "
    "the stack's constructor (the network, data and services stacks do), or add an aws_cloudwatch_log_data_protection_policy for it.",
    check=check,
)
