"""Copies of the audit trail outside the account: every log group of a stack
subscribed to a CloudWatch Logs destination (usually a log-archive account's).

PCI DSS 10.3.3 wants audit logs backed up to a central store that is hard to
alter; the account's own log groups can be altered by its administrators. A
CloudWatch Logs destination in another account receives the events through
its destination policy, so the subscription filter needs no IAM role here
(CloudWatch Logs user guide, "Cross-account cross-Region subscriptions").
"""

from __future__ import annotations

from typing import Any

from framework import TerraformStack
from framework.aws import aws

#: Every event is copied: an empty pattern matches all.
ALL_EVENTS = ""


def subscribe_log_groups(stack: TerraformStack, destination_arn: str) -> list[Any]:
    """Adds one subscription filter per log group of ``stack`` (beside the
    group, construct id ``<group id>-archive``); returns them."""
    groups = [
        node
        for node in stack.node.find_all()
        if isinstance(node, aws.cloudwatch_log_group.CloudwatchLogGroup)
    ]
    filters = []
    for group in groups:
        filters.append(
            aws.cloudwatch_log_subscription_filter.CloudwatchLogSubscriptionFilter(
                group.node.scope,
                f"{group.node.id}-archive",
                name="log-archive",
                log_group_name=group.name,
                filter_pattern=ALL_EVENTS,
                destination_arn=destination_arn,
            )
        )
    return filters
