"""The environment's alarm topic: every alarm notifies it."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from modules import iam
from modules.email_subscriptions import subscribe_emails


@dataclass(frozen=True, kw_only=True)
class AlarmTopicProps:
    """``kms_key_arn``: CMK whose key policy lets CloudWatch and EventBridge
    publish (GenerateDataKey/Decrypt; EventBridge through the topic's
    encryption context). ``emails``: addresses subscribed; left empty,
    nobody is notified (alarms still show in the console and on the
    dashboard; CodeDeploy reads alarm states itself, not through the topic).
    ``event_rule_arns``: EventBridge rules that may publish (each by its
    ARN, ``aws:SourceArn``); left out: none."""

    name: str
    kms_key_arn: str
    account_id: str
    emails: tuple[str, ...] = ()
    event_rule_arns: tuple[str, ...] = ()


class AlarmTopic(Construct):
    """KMS-encrypted SNS topic that CloudWatch alarms of this account and
    the named EventBridge rules may publish to (TLS only), with one e-mail
    subscription per address."""

    def __init__(self, scope: Construct, construct_id: str, props: AlarmTopicProps) -> None:
        super().__init__(scope, construct_id)
        self.topic = aws.sns_topic.SnsTopic(
            self,
            "topic",
            name=props.name,
            kms_master_key_id=props.kms_key_arn,
        )
        self.arn = self.topic.arn
        aws.sns_topic_policy.SnsTopicPolicy(
            self,
            "policy",
            arn=self.arn,
            policy=iam.document(
                {
                    "Sid": "CloudWatchAlarmsPublish",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudwatch.amazonaws.com"},
                    "Action": "sns:Publish",
                    "Resource": self.arn,
                    "Condition": {"StringEquals": {"aws:SourceAccount": props.account_id}},
                },
                *(
                    # EventBridge user guide, "Amazon SNS permissions"
                    # (https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-sns-permissions):
                    # events.amazonaws.com publishes; only our rules may.
                    [
                        {
                            "Sid": "EventBridgeRulesPublish",
                            "Effect": "Allow",
                            "Principal": {"Service": "events.amazonaws.com"},
                            "Action": "sns:Publish",
                            "Resource": self.arn,
                            "Condition": {
                                "ArnEquals": {"aws:SourceArn": list(props.event_rule_arns)}
                            },
                        }
                    ]
                    if props.event_rule_arns
                    else []
                ),
                iam.deny_insecure_transport("sns:Publish", self.arn),
            ),
        )
        subscribe_emails(self, self.topic.arn, props.emails)
