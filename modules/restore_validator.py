"""The restore test's validator (docs/decisions.md D60): one Lambda function
(``restore_validator/handler.py``) that an EventBridge rule runs when a job
of the environment's restore testing plan completes. It checks the restored
cluster and reports with PutRestoreValidationResult (AWS Backup developer
guide, "Restore testing validation",
https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-validation.html).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from framework import Construct
from framework.aws import aws
from modules.python_function import FunctionConstruct, PythonFunctionProps, invoke_on
from restore_validator.handler import COMPLETED, DETAIL_TYPE, SOURCE

#: The function's code: this directory of the repository, nothing downloaded.
CODE = Path(__file__).resolve().parent.parent / "restore_validator"
#: DescribeDBClusters takes seconds; retries of the SDK fit.
TIMEOUT_SECONDS = 60


def restore_validator_pattern(restore_testing_plan_arn: str) -> dict:
    """A restore job of this plan that reached ``COMPLETED`` (the rule the
    "Restore testing validation" page describes), exact values only."""
    return {
        "source": [SOURCE],
        "detail-type": [DETAIL_TYPE],
        "detail": {"status": [COMPLETED], "restoreTestingPlanArn": [restore_testing_plan_arn]},
    }


@dataclass(frozen=True, kw_only=True)
class RestoreValidatorProps:
    """``name``: function, role and rule. ``restore_testing_plan_arn``: the
    plan whose jobs it validates. ``subnet_group_name`` and
    ``security_group_id``: where the restore metadata overrides put the
    restored cluster (modules/backup.py). ``topic_arn``/``topic_key_arn``:
    the alarm topic and its key (a failed validation and the dead-letter
    target)."""

    name: str
    restore_testing_plan_arn: str
    subnet_group_name: str
    security_group_id: str
    topic_arn: str
    topic_key_arn: str
    logs_key_arn: str
    log_retention_days: int
    account_id: str
    partition: str
    region: str


def validator_statements(props: RestoreValidatorProps) -> list[dict]:
    """Least privilege: read restored clusters of the account and region,
    report a validation (the topic's, logs' and X-Ray's statements are
    ``FunctionConstruct``'s)."""
    return [
        {
            # The restored cluster's identifier is AWS Backup's choice
            # ("Restore testing inferred metadata": dbClusterIdentifier is
            # inferred), so it cannot be named in advance; read-only.
            "Sid": "ReadTheRestoredCluster",
            "Effect": "Allow",
            "Action": "rds:DescribeDBClusters",
            "Resource": f"arn:{props.partition}:rds:{props.region}:{props.account_id}:cluster:*",
        },
        {
            # PutRestoreValidationResult supports no resource-level
            # permission (Service Authorization Reference, AWS Backup,
            # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsbackup.html).
            "Sid": "ReportTheValidation",
            "Effect": "Allow",
            "Action": "backup:PutRestoreValidationResult",
            "Resource": "*",
        },
    ]


class RestoreValidator(FunctionConstruct):
    """The function, its role and log group, and the rule that runs it."""

    def __init__(self, scope: Construct, construct_id: str, props: RestoreValidatorProps) -> None:
        super().__init__(
            scope,
            construct_id,
            props,
            PythonFunctionProps(
                source=CODE,
                function_name=props.name,
                role_name=props.name,
                policy_name="restore-validator",
                description="Checks the cluster a restore test restored and reports "
                "PutRestoreValidationResult (D60)",
                role_description="The restore test's validator (D60): reads restored "
                "clusters, reports the validation, alerts",
                statements=validator_statements(props),
                environment={
                    "RESTORE_VALIDATOR_PLAN_ARN": props.restore_testing_plan_arn,
                    "RESTORE_VALIDATOR_SUBNET_GROUP": props.subnet_group_name,
                    "RESTORE_VALIDATOR_SECURITY_GROUP": props.security_group_id,
                    "RESTORE_VALIDATOR_TOPIC_ARN": props.topic_arn,
                },
                timeout_seconds=TIMEOUT_SECONDS,
            ),
        )
        self.rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "rule",
            name=props.name,
            description="A restore test of the database completed: validate it",
            event_pattern=json.dumps(restore_validator_pattern(props.restore_testing_plan_arn)),
        )
        invoke_on(self, "restore-completed", self.rule, self.function)
