"""CodeDeploy deployment state changes: every one recorded for the
dashboard (``DeploymentEvents``), failed and stopped ones sent to the alarm
topic (``DeploymentAlerts``)."""

from __future__ import annotations

import json
from dataclasses import dataclass

from framework import Construct, Token
from framework.aws import aws
from modules import iam

#: Who delivers an EventBridge rule's events to a log group (EventBridge
#: user guide, "CloudWatch Logs permissions",
#: https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-use-resource-based.html#eb-cloudwatchlogs-permissions).
EVENT_DELIVERY_PRINCIPALS = ["events.amazonaws.com", "delivery.logs.amazonaws.com"]


def delivery_statements(*, log_group_arn: str, rule_arn: str) -> tuple[dict, dict]:
    """The log resource policy that lets one rule write to one log group.

    Two statements (D58): EventBridge's ``logs:CreateLogStream`` call does
    not carry the rule as ``aws:SourceArn``, so it is bound by its resource
    only (the streams of this one group; an empty stream carries nothing);
    ``logs:PutLogEvents``, which writes, only for this rule. One statement
    conditioning both on ``aws:SourceArn`` delivers nothing: AWS's own sample
    was split for that reason (aws-samples/serverless-patterns PR #618,
    eventbridge-cloudwatch/template.yaml), and so was the provider's
    "CloudWatch Log Group Usage" example of ``aws_cloudwatch_event_target``
    (terraform-provider-aws #26628). PAY-LOG-003 refuses the single form,
    PAY-IAM-001 accepts the stream-creation statement by its resource."""
    return (
        {
            "Sid": "EventBridgeCreatesStreams",
            "Effect": "Allow",
            "Principal": {"Service": list(EVENT_DELIVERY_PRINCIPALS)},
            "Action": "logs:CreateLogStream",
            "Resource": f"{log_group_arn}:*",
        },
        {
            "Sid": "OnlyThisRuleWritesEvents",
            "Effect": "Allow",
            "Principal": {"Service": list(EVENT_DELIVERY_PRINCIPALS)},
            "Action": "logs:PutLogEvents",
            "Resource": f"{log_group_arn}:*",
            "Condition": {"ArnEquals": {"aws:SourceArn": rule_arn}},
        },
    )


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
                *delivery_statements(log_group_arn=self.log_group.arn, rule_arn=rule.arn)
            ),
        )
        aws.cloudwatch_event_target.CloudwatchEventTarget(
            self,
            "target",
            rule=rule.name,
            arn=self.log_group.arn,
        )


#: CodeDeploy deployment state-change notifications (CodeDeploy user guide,
#: "Monitoring deployments with Amazon EventBridge",
#: https://docs.aws.amazon.com/codedeploy/latest/userguide/monitoring-cloudwatch-events.html;
#: a sample event is tests/fixtures/events/).
CODEDEPLOY_SOURCE = "aws.codedeploy"
DEPLOYMENT_STATE_CHANGE = "CodeDeploy Deployment State-change Notification"
#: States someone must hear about: the deployment failed (timeout, task set
#: or hook error: no alarm fires for those) or was stopped (by an alarm, a
#: person or the release tool); a rollback follows where it is configured.
ALERTED_STATES = ("FAILURE", "STOP")


def deployment_alert_pattern(application_name: str) -> dict:
    """The event pattern of ``DeploymentAlerts``: FAILURE and STOP of the
    application's deployments, exact values only."""
    return {
        "source": [CODEDEPLOY_SOURCE],
        "detail-type": [DEPLOYMENT_STATE_CHANGE],
        "detail": {"application": [application_name], "state": list(ALERTED_STATES)},
    }


@dataclass(frozen=True, kw_only=True)
class DeploymentAlertsProps:
    """``application_name``: the CodeDeploy application whose failed or
    stopped deployments are sent (other environments of the account are
    left out)."""

    name: str
    application_name: str


class DeploymentAlerts(Construct):
    """An EventBridge rule for the application's FAILURE and STOP deployment
    events; ``send_to`` makes the alarm topic its target. Two steps because
    the topic's policy names the rule (``AlarmTopicProps.event_rule_arns``)."""

    def __init__(self, scope: Construct, construct_id: str, props: DeploymentAlertsProps) -> None:
        super().__init__(scope, construct_id)
        self.rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "rule",
            name=f"{props.name}-deployment-alerts",
            description="CodeDeploy deployments that failed or were stopped, to the alarm topic",
            event_pattern=json.dumps(deployment_alert_pattern(props.application_name)),
        )

    def send_to(self, topic_arn: str) -> None:
        """The topic as the rule's target, with a one-line message (the
        e-mail subscriber reads it) built by an input transformer."""
        target = aws.cloudwatch_event_target
        target.CloudwatchEventTarget(
            self,
            "target",
            rule=self.rule.name,
            arn=topic_arn,
            input_transformer=target.CloudwatchEventTargetInputTransformer(
                input_paths={
                    "state": "$.detail.state",
                    "application": "$.detail.application",
                    "group": "$.detail.deploymentGroup",
                    "deployment": "$.detail.deploymentId",
                    "time": "$.time",
                },
                input_template=json.dumps(
                    "CodeDeploy deployment <deployment> of <application>/<group>: <state> at "
                    "<time>. A rollback follows where the group rolls back on failure; see "
                    "docs/observability.md (Where alarms go)."
                ),
            ),
        )
