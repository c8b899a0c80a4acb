"""The server-side release check (docs/decisions.md D55): one Lambda function
(``release_guard/handler.py``) that CodeDeploy runs on ``BeforeInstall`` and
that EventBridge runs on the CloudTrail records of ``CreateDeployment`` and
``RegisterTaskDefinition``.

CodeDeploy's service role (AWSCodeDeployRoleForECSLimited) invokes only
functions named ``CodeDeployHook_*`` (AWS managed policy reference,
https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCodeDeployRoleForECSLimited.html;
FIELD_NOTES §4): the function is named so (``config.naming``).
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from framework import AssetType, Construct, TerraformAsset
from framework.aws import aws
from modules import iam

#: The function's code: this directory of the repository, nothing downloaded.
SOURCE = Path(__file__).resolve().parent.parent / "release_guard"
#: Lambda's Python runtime (ships boto3; supported until 2029: Lambda
#: developer guide, "Lambda runtimes").
RUNTIME = "python3.13"
HANDLER = "handler.handler"
TIMEOUT_SECONDS = 60
#: 1980-01-02 UTC: the staged files' time (a zip cannot record earlier).
FIXED_MTIME = 315619200


def release_guard_patterns(application_name: str, family_prefix: str) -> dict[str, dict]:
    """The EventBridge patterns: rule suffix -> pattern. CloudTrail delivers
    API calls as ``AWS API Call via CloudTrail`` from ``aws.<service>``
    (EventBridge user guide, "Events from AWS services delivered via
    CloudTrail",
    https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-service-event-cloudtrail.html).
    Deployments of this environment's application; task definitions of its
    families (a family no service runs reaches a service only through a
    deployment, which the first rule and the hook see)."""
    return {
        "create-deployment": {
            "source": ["aws.codedeploy"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventSource": ["codedeploy.amazonaws.com"],
                "eventName": ["CreateDeployment"],
                "requestParameters": {"applicationName": [application_name]},
            },
        },
        "register-task-definition": {
            "source": ["aws.ecs"],
            "detail-type": ["AWS API Call via CloudTrail"],
            "detail": {
                "eventSource": ["ecs.amazonaws.com"],
                "eventName": ["RegisterTaskDefinition"],
                "requestParameters": {"family": [{"prefix": family_prefix}]},
            },
        },
    }


@dataclass(frozen=True, kw_only=True)
class GuardedService:
    """One service the check guards: its deployment group and ECS names."""

    deployment_group: str
    cluster: str
    service: str
    family: str
    container: str


@dataclass(frozen=True, kw_only=True)
class ReleaseGuardProps:
    """``name``: role, rules and log group names. ``function_name``: a
    ``CodeDeployHook_*`` name. ``application_name``: the environment's
    CodeDeploy application. ``family_prefix``: what every task family of the
    environment starts with. ``topic_arn``/``topic_key_arn``: the alarm
    topic and the key it is encrypted with (alerts and the dead-letter
    target). ``deploy_role_name``: whose registrations are Terraform's.
    ``allowed_environment``: environment variables a release may change;
    left out: none.
    """

    name: str
    function_name: str
    application_name: str
    family_prefix: str
    services: Sequence[GuardedService]
    topic_arn: str
    topic_key_arn: str
    logs_key_arn: str
    log_retention_days: int
    deploy_role_name: str
    account_id: str
    partition: str
    region: str
    allowed_environment: Sequence[str] = field(default_factory=tuple)


def _staged_source() -> str:
    """A copy of the function's Python files alone: the asset's hash is its
    content's, and ``__pycache__`` left by the tests must not change it. The
    copies carry a fixed time, which the archive records, so the same code
    gives the same archive byte for byte (``make other-python`` compares
    ``cdktf.out``)."""
    staging = Path(tempfile.mkdtemp(prefix="release-guard-"))
    # The synthesis copies it into cdktf.out; nothing needs it after the process.
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    for source in sorted(SOURCE.glob("*.py")):
        shutil.copyfile(source, staging / source.name)
        os.utime(staging / source.name, (FIXED_MTIME, FIXED_MTIME))
    return str(staging)


def environment_variables(props: ReleaseGuardProps) -> Mapping[str, str]:
    """What the function reads (``release_guard.handler.settings``)."""
    variables = {
        "RELEASE_GUARD_SERVICES": json.dumps(
            {
                s.deployment_group: {
                    "cluster": s.cluster,
                    "service": s.service,
                    "family": s.family,
                    "container": s.container,
                }
                for s in props.services
            },
            sort_keys=True,
        ),
        "RELEASE_GUARD_TOPIC_ARN": props.topic_arn,
        "RELEASE_GUARD_DEPLOY_ROLE": props.deploy_role_name,
    }
    if props.allowed_environment:
        variables["RELEASE_GUARD_ALLOWED_ENVIRONMENT"] = ",".join(props.allowed_environment)
    return variables


def guard_statements(props: ReleaseGuardProps, log_group_arn: str) -> list[dict]:
    """Least privilege: the environment's deployment groups, services, topic."""

    def regional(service: str) -> str:
        return f"arn:{props.partition}:{service}:{props.region}:{props.account_id}"

    codedeploy = regional("codedeploy")
    groups = [
        f"{codedeploy}:deploymentgroup:{props.application_name}/{s.deployment_group}"
        for s in props.services
    ]
    services = [f"{regional('ecs')}:service/{s.cluster}/{s.service}" for s in props.services]
    return [
        {
            "Sid": "ReadAndAnswerDeployments",
            "Effect": "Allow",
            "Action": [
                "codedeploy:GetDeployment",
                "codedeploy:PutLifecycleEventHookExecutionStatus",
                "codedeploy:StopDeployment",
            ],
            "Resource": groups,
        },
        {
            "Sid": "ReadTheAppSpec",
            "Effect": "Allow",
            "Action": "codedeploy:GetApplicationRevision",
            "Resource": f"{codedeploy}:application:{props.application_name}",
        },
        {
            "Sid": "ReadTheRunningService",
            "Effect": "Allow",
            "Action": "ecs:DescribeServices",
            "Resource": services,
        },
        {
            # DescribeTaskDefinition supports no resource-level permission
            # (Service Authorization Reference, Amazon ECS).
            "Sid": "ReadTaskDefinitions",
            "Effect": "Allow",
            "Action": "ecs:DescribeTaskDefinition",
            "Resource": "*",
        },
        {
            "Sid": "AlertTheAlarmTopic",
            "Effect": "Allow",
            "Action": "sns:Publish",
            "Resource": props.topic_arn,
        },
        {
            # Publishing to an encrypted topic (SNS developer guide, "Key
            # management": the publisher needs GenerateDataKey* and Decrypt).
            "Sid": "EncryptForTheAlarmTopic",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
            "Resource": props.topic_key_arn,
            "Condition": {
                "StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": props.topic_arn}
            },
        },
        {
            "Sid": "WriteItsLogs",
            "Effect": "Allow",
            "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
            "Resource": f"{log_group_arn}:*",
        },
        {
            # Active tracing (X-Ray does not support resource-level permissions).
            "Sid": "Traces",
            "Effect": "Allow",
            "Action": ["xray:PutTraceSegments", "xray:PutTelemetryRecords"],
            "Resource": "*",
        },
    ]


class ReleaseGuard(Construct):
    """The function, its role and log group, and the two EventBridge rules."""

    def __init__(self, scope: Construct, construct_id: str, props: ReleaseGuardProps) -> None:
        super().__init__(scope, construct_id)
        if not props.function_name.startswith("CodeDeployHook_"):
            raise ValueError(
                f"function_name: {props.function_name!r} is not allowed; CodeDeploy's role "
                "(AWSCodeDeployRoleForECSLimited) invokes only CodeDeployHook_* functions"
            )
        if len(props.function_name) > 64:
            raise ValueError(
                f"function_name: {props.function_name!r} has {len(props.function_name)} "
                "characters; Lambda allows 64 (shorten the environment prefix)"
            )
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/aws/lambda/{props.function_name}",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_key_arn,
        )
        self.role = iam.service_role(
            self,
            "role",
            name=props.name,
            service="lambda.amazonaws.com",
            source_account=props.account_id,
            description="The release check (D55): reads deployments and task definitions, "
            "answers CodeDeploy's hook, stops a deployment that bypassed it, alerts",
            inline_policy=(
                "policy",
                "release-guard",
                guard_statements(props, self.log_group.arn),
            ),
        )
        self.code = TerraformAsset(self, "code", path=_staged_source(), type=AssetType.ARCHIVE)
        self.function = aws.lambda_function.LambdaFunction(
            self,
            "function",
            function_name=props.function_name,
            description="Refuses a task definition that differs from the running one in "
            "more than the app image and allowed variables (D55)",
            role=self.role.arn,
            runtime=RUNTIME,
            handler=HANDLER,
            filename=self.code.path,
            # The content hash of the staged files: a change of the code
            # updates the function, a new synthesis of the same code does not.
            source_code_hash=self.code.asset_hash,
            timeout=TIMEOUT_SECONDS,
            memory_size=256,
            environment={"variables": dict(environment_variables(props))},
            tracing_config={"mode": "Active"},
            # EventBridge invokes asynchronously: an event the function could
            # not handle after Lambda's retries reaches the alarm topic.
            dead_letter_config={"target_arn": props.topic_arn},
            logging_config={"log_format": "Text", "log_group": self.log_group.name},
            depends_on=[self.log_group],
        )
        self.rules = {}
        for suffix, pattern in release_guard_patterns(
            props.application_name, props.family_prefix
        ).items():
            rule = aws.cloudwatch_event_rule.CloudwatchEventRule(
                self,
                f"rule-{suffix}",
                name=f"{props.name}-{suffix}",
                description=f"The release check on CloudTrail {pattern['detail']['eventName'][0]}",
                event_pattern=json.dumps(pattern),
            )
            aws.cloudwatch_event_target.CloudwatchEventTarget(
                self, f"target-{suffix}", rule=rule.name, arn=self.function.arn
            )
            aws.lambda_permission.LambdaPermission(
                self,
                f"permission-{suffix}",
                statement_id=f"EventBridge-{suffix}",
                action="lambda:InvokeFunction",
                function_name=self.function.function_name,
                principal="events.amazonaws.com",
                source_arn=rule.arn,
            )
            self.rules[suffix] = rule
