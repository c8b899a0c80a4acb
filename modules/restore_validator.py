"""The restore test's validator (docs/decisions.md D60, D76): one Lambda
function (``restore_validator/handler.py``) run by two EventBridge rules:
when a job of the environment's restore testing plan completes (it checks
the restored cluster and gives it a secret, the Data API and an instance),
and when RDS has created that instance (it reads the restored data and
reports with PutRestoreValidationResult: AWS Backup developer guide,
"Restore testing validation",
https://docs.aws.amazon.com/aws-backup/latest/devguide/restore-testing-validation.html).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from framework import Construct
from framework.aws import aws
from modules.python_function import FunctionConstruct, PythonFunctionProps, invoke_on
from restore_validator.handler import (
    COMPLETED,
    DETAIL_TYPE,
    INSTANCE_CREATED,
    INSTANCE_EVENT,
    MAX_IDENTIFIER,
    RDS_SOURCE,
    RESTORE_JOB_TAG,
    SOURCE,
)

#: The function's code: this directory of the repository, nothing downloaded.
CODE = Path(__file__).resolve().parent.parent / "restore_validator"
#: Each step makes a few RDS calls and one Data API statement (which waits
#: while a paused Serverless v2 instance resumes); retries of the SDK fit.
TIMEOUT_SECONDS = 120
#: The secrets RDS manages for clusters (``rds!cluster-<id>``), the copies'
#: among them: the only secrets the validator reads.
COPY_SECRETS = "secret:rds!cluster-*"
#: Characters of the restore job's id a test instance's name keeps at least
#: (``instance_identifier``): fewer would let two jobs' instances collide.
MIN_JOB_ID_CHARACTERS = 16


def restore_validator_pattern(restore_testing_plan_arn: str) -> dict:
    """A restore job of this plan that reached ``COMPLETED`` (the rule the
    "Restore testing validation" page describes), exact values only."""
    return {
        "source": [SOURCE],
        "detail-type": [DETAIL_TYPE],
        "detail": {"status": [COMPLETED], "restoreTestingPlanArn": [restore_testing_plan_arn]},
    }


def instance_created_pattern(instance_arn_prefix: str) -> dict:
    """RDS created an instance whose ARN starts with ``instance_arn_prefix``
    (``RDS-EVENT-0005``, category creation: Aurora user guide, "Amazon RDS
    event categories and event messages for Aurora",
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Events.Messages.html;
    ``SourceArn`` is the instance's ARN, "Amazon RDS event notification tags
    and attributes",
    https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/USER_Events.TagsAttributesForFiltering.html)."""
    return {
        "source": [RDS_SOURCE],
        "detail-type": [INSTANCE_EVENT],
        "detail": {
            "EventID": [INSTANCE_CREATED],
            "SourceArn": [{"prefix": instance_arn_prefix}],
        },
    }


@dataclass(frozen=True, kw_only=True)
class RestoreValidatorProps:
    """``name``: function, role and rule. ``restore_testing_plan_arn``: the
    plan whose jobs it validates. ``subnet_group_name`` and
    ``security_group_id``: where the restore metadata overrides put the
    restored cluster (modules/backup.py). ``source_cluster_arn`` and
    ``source_secret_arn``: the protected cluster and its managed secret,
    which the validator may never change, query or read.
    ``instance_prefix``: the names of its test instances.
    ``database_name``, ``check_sql``, ``check_minimum``: what it reads from
    the copy (``BackupConfig.restore_check_*``). ``topic_arn``/
    ``topic_key_arn``: the alarm topic and its key (a failed validation and
    the dead-letter target)."""

    name: str
    restore_testing_plan_arn: str
    subnet_group_name: str
    security_group_id: str
    source_cluster_arn: str
    source_secret_arn: str
    instance_prefix: str
    database_name: str
    check_sql: str
    check_minimum: int
    topic_arn: str
    topic_key_arn: str
    logs_key_arn: str
    log_retention_days: int
    account_id: str
    partition: str
    region: str


def _arn(props: RestoreValidatorProps, service: str, resource: str) -> str:
    return f"arn:{props.partition}:{service}:{props.region}:{props.account_id}:{resource}"


def validator_statements(props: RestoreValidatorProps) -> list[dict]:
    """Least privilege: read restored clusters, give a copy a managed secret,
    the Data API and a test instance of ``instance_prefix``, read the copy's
    secret and query it, report a validation; never any of it on the source
    cluster or its secret (the topic's, logs' and X-Ray's statements are
    ``FunctionConstruct``'s). Actions and resource types: Service
    Authorization Reference, Amazon RDS
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html),
    RDS Data API
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrdsdataapi.html),
    AWS Secrets Manager
    (https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecretsmanager.html)."""
    # The restored cluster's identifier is AWS Backup's choice ("Restore
    # testing inferred metadata": dbClusterIdentifier is inferred), so
    # clusters cannot be named in advance; the source is denied below.
    clusters = _arn(props, "rds", "cluster:*")
    instances = _arn(props, "rds", f"db:{props.instance_prefix}*")
    # RDS names the secrets it manages for a cluster rds!cluster-<id>
    # (Aurora user guide, "Password management with Amazon Aurora and AWS
    # Secrets Manager"). A copy's secret is encrypted with aws/secretsmanager
    # (no MasterUserSecretKmsKeyId); the source's with the data key, which
    # this role is not allowed to use, and it is denied by ARN as well.
    secrets = _arn(props, "secretsmanager", COPY_SECRETS)
    # Only with the restore job's tag (a key absent from the request makes
    # StringLike false: IAM user guide, "Condition operators").
    tagged_with_the_job = {"StringLike": {f"aws:RequestTag/{RESTORE_JOB_TAG}": "?*"}}
    return [
        {
            "Sid": "ReadTheRestoredCluster",
            "Effect": "Allow",
            "Action": "rds:DescribeDBClusters",
            "Resource": clusters,
        },
        {
            # A managed secret (ManageMasterUserPassword), a Serverless v2
            # capacity and the Data API (EnableHttpEndpoint) for the copy.
            "Sid": "MakeTheCopyAnswer",
            "Effect": "Allow",
            "Action": ["rds:ModifyDBCluster", "rds:EnableHttpEndpoint"],
            "Resource": clusters,
        },
        {
            # The test instance, tagged with its restore job alone (tags on
            # create need AddTagsToResource too).
            "Sid": "CreateTheTestInstance",
            "Effect": "Allow",
            "Action": ["rds:CreateDBInstance", "rds:AddTagsToResource"],
            "Resource": [instances, clusters],
            "Condition": tagged_with_the_job,
        },
        {
            "Sid": "ReadAndDeleteTheTestInstance",
            "Effect": "Allow",
            "Action": ["rds:DescribeDBInstances", "rds:DeleteDBInstance"],
            "Resource": instances,
        },
        {
            # RDS creates the copy's managed secret as the caller (Aurora
            # user guide, "Permissions required for Secrets Manager
            # integration").
            "Sid": "TheCopysManagedSecret",
            "Effect": "Allow",
            "Action": ["secretsmanager:CreateSecret", "secretsmanager:TagResource"],
            "Resource": secrets,
        },
        {
            "Sid": "QueryTheCopy",
            "Effect": "Allow",
            "Action": "rds-data:ExecuteStatement",
            "Resource": clusters,
        },
        {
            # The Data API reads the secret with the caller's permissions
            # (Aurora user guide, "Authorizing access to the RDS Data API",
            # https://docs.aws.amazon.com/AmazonRDS/latest/AuroraUserGuide/data-api.access.html).
            "Sid": "ReadTheCopysSecret",
            "Effect": "Allow",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": secrets,
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
        {
            # The grants above name clusters by wildcard: never the source.
            "Sid": "NeverTheSourceCluster",
            "Effect": "Deny",
            "Action": [
                "rds:AddTagsToResource",
                "rds:CreateDBInstance",
                "rds:EnableHttpEndpoint",
                "rds:ModifyDBCluster",
                "rds-data:ExecuteStatement",
            ],
            "Resource": props.source_cluster_arn,
        },
        {
            "Sid": "NeverTheSourceSecret",
            "Effect": "Deny",
            "Action": "secretsmanager:*",
            "Resource": props.source_secret_arn,
        },
    ]


class RestoreValidator(FunctionConstruct):
    """The function, its role and log group, and the rule that runs it."""

    def __init__(self, scope: Construct, construct_id: str, props: RestoreValidatorProps) -> None:
        room = MAX_IDENTIFIER - len(props.instance_prefix)
        if room < MIN_JOB_ID_CHARACTERS:
            raise ValueError(
                f"instance_prefix: {props.instance_prefix!r} leaves {room} of RDS's "
                f"{MAX_IDENTIFIER} characters for the restore job's id; at least "
                f"{MIN_JOB_ID_CHARACTERS} are needed (shorten the environment prefix)"
            )
        super().__init__(
            scope,
            construct_id,
            props,
            PythonFunctionProps(
                source=CODE,
                function_name=props.name,
                role_name=props.name,
                policy_name="restore-validator",
                description="Reads the data of the cluster a restore test restored and "
                "reports PutRestoreValidationResult (D60, D76)",
                role_description="The restore test's validator (D60, D76): prepares and "
                "queries restored copies, reports the validation, alerts",
                statements=validator_statements(props),
                environment={
                    "RESTORE_VALIDATOR_PLAN_ARN": props.restore_testing_plan_arn,
                    "RESTORE_VALIDATOR_SUBNET_GROUP": props.subnet_group_name,
                    "RESTORE_VALIDATOR_SECURITY_GROUP": props.security_group_id,
                    "RESTORE_VALIDATOR_TOPIC_ARN": props.topic_arn,
                    "RESTORE_VALIDATOR_SOURCE_CLUSTER_ARN": props.source_cluster_arn,
                    "RESTORE_VALIDATOR_SOURCE_SECRET_ARN": props.source_secret_arn,
                    "RESTORE_VALIDATOR_INSTANCE_PREFIX": props.instance_prefix,
                    "RESTORE_VALIDATOR_DATABASE": props.database_name,
                    "RESTORE_VALIDATOR_CHECK_SQL": props.check_sql,
                    "RESTORE_VALIDATOR_CHECK_MINIMUM": str(props.check_minimum),
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
        self.instance_rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
            self,
            "instance-rule",
            name=f"{props.name}-instance",
            description="RDS created a restore test instance: read the restored data",
            event_pattern=json.dumps(
                instance_created_pattern(_arn(props, "rds", f"db:{props.instance_prefix}"))
            ),
        )
        invoke_on(self, "instance-created", self.instance_rule, self.function)
