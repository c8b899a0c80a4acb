"""CloudWatch Logs data protection: card data written to any log group of a
stack is masked and audited (PCI DSS 3.3.1, 3.4.1, 3.5.1), and the audit
findings go to a log group of the stack (D59)."""

from __future__ import annotations

import json

from framework import Construct
from framework.aws import aws
from modules.card_numbers import MASKING_REGEX
from modules.observability.metrics import Metric

#: Every event of a findings group is a findings report (CloudWatch Logs
#: user guide, "Audit findings reports", below), so the filter matches all:
#: an empty pattern matches every log event ("Filter pattern syntax for
#: metric filters",
#: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/FilterAndPatternSyntaxForMetricFilters.html).
EVERY_EVENT = ""

#: AWS managed data identifiers for payment card data (CloudWatch Logs user
#: guide, "Types of data that you can protect": financial data identifiers).
#: ``CreditCardNumber`` finds a number only near a keyword such as "card".
CARD_DATA_IDENTIFIERS = (
    "arn:aws:dataprotection::aws:data-identifier/CreditCardNumber",
    "arn:aws:dataprotection::aws:data-identifier/CreditCardExpiration",
    "arn:aws:dataprotection::aws:data-identifier/CreditCardSecurityCode",
)

#: A custom data identifier for a bare card number, no keyword needed
#: (CloudWatch Logs user guide, "Custom data identifiers":
#: https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/CWL-custom-data-identifiers.html).
#: Its name may not be a managed identifier's.
BARE_CARD_NUMBER = "BareCardNumber"
#: The bare card number's regex: 13-19 digits behind a known issuer prefix,
#: defined once with the WAF rule's (``modules/card_numbers.py``, which
#: lists the shapes). The documented constraints allow no parentheses, so
#: no groups and no lookarounds: nothing says "not preceded or followed by
#: a digit". A longer digit run holding such a shape is masked in part,
#: and Luhn cannot be checked: a 13-19 digit order number or phone number
#: behind one of these prefixes is masked too (the cost is over-masking,
#: never a PAN in clear). Runs of 12 digits or fewer (UUID groups, dates)
#: never match, nor do epoch timestamps in seconds, milliseconds or
#: microseconds (they start with 1 until 2286); one in nanoseconds (19
#: digits) holds a card-shaped run and is masked in part.
BARE_CARD_NUMBER_REGEX = MASKING_REGEX


def card_data_policy(name: str, findings_log_group: str | None) -> str:
    """A data protection policy: audit and mask every card identifier, the
    bare card number included; readers without ``logs:Unmask`` see masked
    values. Audit findings go to ``findings_log_group`` (None: to the log
    group's metrics only). The two statements must name the same
    identifiers (PutDataProtectionPolicy API reference:
    https://docs.aws.amazon.com/AmazonCloudWatchLogs/latest/APIReference/API_PutDataProtectionPolicy.html)."""
    identifiers = [*CARD_DATA_IDENTIFIERS, BARE_CARD_NUMBER]
    destination = {"CloudWatchLogs": {"LogGroup": findings_log_group}} if findings_log_group else {}
    return json.dumps(
        {
            "Name": name,
            "Description": "Masks payment card data in log events",
            "Version": "2021-06-01",
            "Configuration": {
                "CustomDataIdentifier": [
                    {"Name": BARE_CARD_NUMBER, "Regex": BARE_CARD_NUMBER_REGEX}
                ]
            },
            "Statement": [
                {
                    "Sid": "audit-card-data",
                    "DataIdentifier": identifiers,
                    "Operation": {"Audit": {"FindingsDestination": destination}},
                },
                {
                    "Sid": "mask-card-data",
                    "DataIdentifier": identifiers,
                    "Operation": {"Deidentify": {"MaskConfig": {}}},
                },
            ],
        }
    )


def protect_card_data(
    stack: Construct,
    policy_name: str,
    *,
    findings_log_group_name: str,
    kms_key_arn: str | None,
    retention_days: int,
    findings_metric: Metric | None = None,
) -> int:
    """Gives every log group of ``stack`` a data protection policy, next to
    it in the construct tree (id ``<group id>-data-protection``), whose
    audit findings go to a log group ``findings_log_group_name`` created
    here (id ``card-data-findings``, encrypted with ``kms_key_arn``, kept
    ``retention_days``); returns how many groups are protected. Call it
    once the stack is built. A stack without log groups gets nothing.

    The findings group has a policy of its own with no destination: a
    finding holds the identifier and the positions of a match, not the
    value (CloudWatch Logs user guide, "Audit findings reports":
    https://docs.aws.amazon.com/AmazonCloudWatch/latest/logs/mask-sensitive-log-data-audit-findings.html),
    and a group that audits into itself would feed its own findings back.

    ``findings_metric``: each findings report adds 1 to it (a metric filter
    on the findings group, D75), for an alarm to read; left out: no filter,
    the findings stay in the group for review."""
    groups = [
        node
        for node in stack.node.find_all()
        if isinstance(node, aws.cloudwatch_log_group.CloudwatchLogGroup)
    ]
    if not groups:
        return 0
    if not kms_key_arn:
        raise ValueError(
            f"{policy_name}: kms_key_arn is required: the card-data findings log group is "
            "encrypted like every other"
        )
    # The destination must exist before the policy (PutDataProtectionPolicy):
    # the policies reference its name, so Terraform creates it first.
    findings = aws.cloudwatch_log_group.CloudwatchLogGroup(
        stack,
        "card-data-findings",
        name=findings_log_group_name,
        kms_key_id=kms_key_arn,
        retention_in_days=retention_days,
    )
    aws.cloudwatch_log_data_protection_policy.CloudwatchLogDataProtectionPolicy(
        stack,
        "card-data-findings-data-protection",
        log_group_name=findings.name,
        policy_document=card_data_policy(policy_name, None),
    )
    if findings_metric is not None:
        aws.cloudwatch_log_metric_filter.CloudwatchLogMetricFilter(
            stack,
            "card-data-findings-metric",
            name=findings_metric.name,
            log_group_name=findings.name,
            pattern=EVERY_EVENT,
            metric_transformation={
                "name": findings_metric.name,
                "namespace": findings_metric.namespace,
                "value": "1",
            },
        )
    document = card_data_policy(policy_name, findings.name)
    for group in groups:
        aws.cloudwatch_log_data_protection_policy.CloudwatchLogDataProtectionPolicy(
            group.node.scope,
            f"{group.node.id}-data-protection",
            log_group_name=group.name,
            policy_document=document,
        )
    return len(groups) + 1
