"""CloudWatch Logs data protection: card data written to any log group of a
stack is masked and audited (PCI DSS 3.3.1, 3.4.1, 3.5.1)."""

from __future__ import annotations

import json

from framework import Construct
from framework.aws import aws

#: AWS managed data identifiers for payment card data (CloudWatch Logs user
#: guide, "Types of data that you can protect": financial data identifiers).
CARD_DATA_IDENTIFIERS = (
    "arn:aws:dataprotection::aws:data-identifier/CreditCardNumber",
    "arn:aws:dataprotection::aws:data-identifier/CreditCardExpiration",
    "arn:aws:dataprotection::aws:data-identifier/CreditCardSecurityCode",
)


def card_data_policy(name: str) -> str:
    """A data protection policy: audit (findings in the log group's
    metrics) and mask every card identifier; readers without
    ``logs:Unmask`` see masked values."""
    return json.dumps(
        {
            "Name": name,
            "Description": "Masks payment card data in log events",
            "Version": "2021-06-01",
            "Statement": [
                {
                    "Sid": "audit-card-data",
                    "DataIdentifier": list(CARD_DATA_IDENTIFIERS),
                    "Operation": {"Audit": {"FindingsDestination": {}}},
                },
                {
                    "Sid": "mask-card-data",
                    "DataIdentifier": list(CARD_DATA_IDENTIFIERS),
                    "Operation": {"Deidentify": {"MaskConfig": {}}},
                },
            ],
        }
    )


def protect_card_data(stack: Construct, policy_name: str) -> int:
    """Gives every log group of ``stack`` a data protection policy, next to
    it in the construct tree (id ``<group id>-data-protection``); returns
    how many. Call it once the stack is built."""
    groups = [
        node
        for node in stack.node.find_all()
        if isinstance(node, aws.cloudwatch_log_group.CloudwatchLogGroup)
    ]
    document = card_data_policy(policy_name)
    for group in groups:
        aws.cloudwatch_log_data_protection_policy.CloudwatchLogDataProtectionPolicy(
            group.node.scope,
            f"{group.node.id}-data-protection",
            log_group_name=group.name,
            policy_document=document,
        )
    return len(groups)
