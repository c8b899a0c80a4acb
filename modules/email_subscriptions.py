"""E-mail subscriptions of an SNS topic: the one home of the loop the alarm
topic and the security alert topic share."""

from __future__ import annotations

from collections.abc import Iterable

from framework import Construct
from framework.aws import aws


def subscribe_emails(scope: Construct, topic_arn: str, emails: Iterable[str]) -> None:
    """One ``email`` subscription of ``topic_arn`` per address, with the
    construct id ``email-<index>`` under ``scope`` (a construct id is part of
    the resource address: keep it). SNS sends each address a confirmation
    e-mail; nothing is delivered until its owner confirms
    (https://docs.aws.amazon.com/sns/latest/api/API_Subscribe.html)."""
    for index, email in enumerate(emails):
        aws.sns_topic_subscription.SnsTopicSubscription(
            scope,
            f"email-{index}",
            topic_arn=topic_arn,
            protocol="email",
            endpoint=email,
        )
