"""CodeDeploy deployment state changes, recorded for the dashboard."""

from __future__ import annotations

import json
from dataclasses import dataclass

from framework import Construct, Token
from framework.aws import aws
from modules import iam


@dataclass(frozen=True, kw_only=True)
class DeploymentEventsProps:
    """Records CodeDeploy state changes in a log group for the dashboard.

    ``log_group_name`` must start with ``/aws/events/`` (EventBridge rule).
    ``application_name``: the CodeDeploy application whose deployments are
    recorded; other applications of the account (other environments sharing
    it) are left out.
    """

    name: str
    log_group_name: str
    kms_key_arn: str
    retention_days: int
    application_name: str


class DeploymentEvents(Construct):
    """An EventBridge rule that writes the application's deployment state
    changes to a KMS-encrypted log group (the dashboard's deployments table)."""

    def __init__(self, scope: Construct, construct_id: str, props: DeploymentEventsProps) -> None:
        super().__init__(scope, construct_id)
        if not Token.is_unresolved(props.log_group_name) and not props.log_group_name.startswith(
            "/aws/events/"
        ):
            raise ValueError(
                f"log_group_name: {props.log_group_name!r} is not allowed; EventBridge "
                "targets need a log group whose name starts with /aws/events/"
            )
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=props.log_group_name,
            retention_in_days=props.retention_days,
            kms_key_id=props.kms_key_arn,
        )
        rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "rule",
            name=f"{props.name}-deployments",
            description="CodeDeploy deployment state changes, for the dashboard",
            event_pattern=json.dumps(
                {
                    "source": ["aws.codedeploy"],
                    "detail-type": ["CodeDeploy Deployment State-change Notification"],
                    "detail": {"application": [props.application_name]},
                }
            ),
        )
        aws.cloudwatch_log_resource_policy.CloudwatchLogResourcePolicy(
            self,
            "delivery-policy",
            policy_name=f"{props.name}-deployment-events",
            policy_document=iam.document(
                {
                    "Effect": "Allow",
                    "Principal": {
                        "Service": ["events.amazonaws.com", "delivery.logs.amazonaws.com"]
                    },
                    "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                    "Resource": f"{self.log_group.arn}:*",
                    # Only this rule's deliveries (EventBridge user guide,
                    # "CloudWatch Logs permissions": aws:SourceArn).
                    "Condition": {"ArnEquals": {"aws:SourceArn": rule.arn}},
                }
            ),
        )
        aws.cloudwatch_event_target.CloudwatchEventTarget(
            self,
            "target",
            rule=rule.name,
            arn=self.log_group.arn,
        )
