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

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from framework import Construct
from framework.aws import aws
from modules.python_function import FunctionConstruct, PythonFunctionProps, invoke_on

#: The function's code: this directory of the repository, nothing downloaded.
SOURCE = Path(__file__).resolve().parent.parent / "release_guard"
TIMEOUT_SECONDS = 60


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


def guard_statements(props: ReleaseGuardProps) -> list[dict]:
    """Least privilege: the environment's deployment groups and services
    (the topic's, logs' and X-Ray's statements are ``FunctionConstruct``'s)."""

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
    ]


class ReleaseGuard(FunctionConstruct):
    """The function, its role and log group, and the two EventBridge rules."""

    def __init__(self, scope: Construct, construct_id: str, props: ReleaseGuardProps) -> None:
        if not props.function_name.startswith("CodeDeployHook_"):
            raise ValueError(
                f"function_name: {props.function_name!r} is not allowed; CodeDeploy's role "
                "(AWSCodeDeployRoleForECSLimited) invokes only CodeDeployHook_* functions"
            )
        super().__init__(
            scope,
            construct_id,
            props,
            PythonFunctionProps(
                source=SOURCE,
                function_name=props.function_name,
                role_name=props.name,
                policy_name="release-guard",
                description="Refuses a task definition that differs from the running one in "
                "more than the app image and allowed variables (D55)",
                role_description="The release check (D55): reads deployments and task "
                "definitions, answers CodeDeploy's hook, stops a deployment that bypassed it, "
                "alerts",
                statements=guard_statements(props),
                environment=environment_variables(props),
                timeout_seconds=TIMEOUT_SECONDS,
            ),
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
            invoke_on(self, suffix, rule, self.function)
            self.rules[suffix] = rule
