"""The role the release tool (``python -m release``) runs as: every call of
docs/release.md "Permissions of the release role", on this environment's
resources only, and ``iam:PassRole`` only to the services' own task and
execution roles, only to ECS tasks (PCI DSS 7.2.2, 7.2.5, 6.5.1)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from config import EnvironmentConfig, ServiceConfig
from config.model import RELEASE_SESSION_MINUTES
from config.naming import (
    cluster_name,
    codedeploy_application_name,
    deployment_group_name,
    ecr_repository_name,
    ecs_service_name,
    execution_role_name,
    load_balancer_alarm_prefix,
    release_environment,
    release_role_name,
    service_alarm_prefix,
    task_family,
    task_role_name,
)
from framework import Construct
from framework.aws import aws
from modules import iam
from modules.github_oidc import (
    environment_subject,
    provider_arn,
    web_identity_statement,
)


@dataclass(frozen=True, kw_only=True)
class ReleaseRoleProps:
    """``environment``: its services, names and ``access.release_principal_arns``
    (who may assume the role). ``account_id``/``partition``/``region``: where
    the resources live (tokens are fine)."""

    environment: EnvironmentConfig
    account_id: str
    partition: str
    region: str


def release_statements(
    env: EnvironmentConfig, account_id: str, partition: str, region: str
) -> list[dict]:
    """The release role's policy: one statement per purpose, each on the
    environment's own resources (ARNs built from config.naming, the names the
    release tool looks up)."""
    arn = f"arn:{partition}"
    regional = f"{region}:{account_id}"
    services: Sequence[ServiceConfig] = env.services
    app = codedeploy_application_name(env)
    groups = [
        f"{arn}:codedeploy:{regional}:deploymentgroup:{app}/{deployment_group_name(env, s)}"
        for s in services
    ]
    passable = [
        f"{arn}:iam::{account_id}:role/{name}"
        for s in services
        for name in (execution_role_name(env, s), task_role_name(env, s))
    ]
    families = [f"{arn}:ecs:{regional}:task-definition/{task_family(env, s)}:*" for s in services]
    return [
        {
            # ECS's task-definition actions take no resource-level permission
            # except tagging; what a revision can do is bounded by PassRole below.
            "Sid": "TaskDefinitions",
            "Effect": "Allow",
            "Action": [
                "ecs:DescribeTaskDefinition",
                "ecs:RegisterTaskDefinition",
                "ecs:DeregisterTaskDefinition",
            ],
            "Resource": "*",
        },
        {
            "Sid": "TagOwnTaskDefinitionsAtRegistration",
            "Effect": "Allow",
            "Action": "ecs:TagResource",
            "Resource": families,
            "Condition": {"StringEquals": {"ecs:CreateAction": "RegisterTaskDefinition"}},
        },
        {
            "Sid": "PassOnlyTheServicesRolesToEcsTasks",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": passable,
            "Condition": {"StringEquals": {"iam:PassedToService": "ecs-tasks.amazonaws.com"}},
        },
        {
            "Sid": "ReadOwnServices",
            "Effect": "Allow",
            "Action": "ecs:DescribeServices",
            "Resource": [
                f"{arn}:ecs:{regional}:service/{cluster_name(env)}/{ecs_service_name(env, s)}"
                for s in services
            ],
        },
        {
            "Sid": "ReadOwnImages",
            "Effect": "Allow",
            "Action": [
                "ecr:DescribeRepositories",
                "ecr:DescribeImages",
                "ecr:DescribeImageScanFindings",
            ],
            "Resource": [
                f"{arn}:ecr:{regional}:repository/{ecr_repository_name(env, s)}" for s in services
            ],
        },
        {
            # The release tags what it deploys (release-<env>-<revision>) so the
            # repository's lifecycle policy keeps it (release/retain.py). Tags
            # are immutable: PutImage cannot move an existing tag.
            "Sid": "TagReleasedImages",
            "Effect": "Allow",
            "Action": ["ecr:BatchGetImage", "ecr:PutImage"],
            "Resource": [
                f"{arn}:ecr:{regional}:repository/{ecr_repository_name(env, s)}" for s in services
            ],
        },
        {
            "Sid": "DeployOwnGroups",
            "Effect": "Allow",
            "Action": [
                "codedeploy:GetDeploymentGroup",
                "codedeploy:ListDeployments",
                "codedeploy:CreateDeployment",
                "codedeploy:GetDeployment",
                "codedeploy:GetDeploymentTarget",
                "codedeploy:StopDeployment",
            ],
            "Resource": groups,
        },
        {
            "Sid": "OwnApplicationRevisions",
            "Effect": "Allow",
            "Action": [
                "codedeploy:GetApplicationRevision",
                "codedeploy:RegisterApplicationRevision",
            ],
            "Resource": f"{arn}:codedeploy:{regional}:application:{app}",
        },
        {
            "Sid": "ReadTheGroupsDeploymentConfig",
            "Effect": "Allow",
            "Action": "codedeploy:GetDeploymentConfig",
            "Resource": f"{arn}:codedeploy:{regional}:deploymentconfig:{env.deployment.config_name}",
        },
        {
            "Sid": "ReadHooks",
            "Effect": "Allow",
            "Action": "lambda:GetFunctionConfiguration",
            "Resource": f"{arn}:lambda:{regional}:function:CodeDeployHook_*",
        },
        {
            # `python -m release status`: the states of the deployment groups'
            # rollback alarms. DescribeAlarms takes alarm ARNs; the services
            # stack names a service's alarms <prefix>-<service>-..., so each
            # service's prefix (not the environment's: payment-dev-* would also
            # match an environment named dev-eu).
            "Sid": "ReadOwnAlarmStates",
            "Effect": "Allow",
            "Action": "cloudwatch:DescribeAlarms",
            "Resource": [
                *(
                    f"{arn}:cloudwatch:{regional}:alarm:{service_alarm_prefix(env, s)}*"
                    for s in services
                ),
                *(
                    f"{arn}:cloudwatch:{regional}:alarm:{load_balancer_alarm_prefix(env, public)}*"
                    for public in sorted({s.public for s in services}, reverse=True)
                ),
            ],
        },
        {
            # EC2 Describe* take no resource-level permission.
            "Sid": "FindTaskNetwork",
            "Effect": "Allow",
            "Action": ["ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"],
            "Resource": "*",
        },
    ]


class ReleaseRole(Construct):
    """``payment-<env>-release`` with ``release_statements`` inline."""

    def __init__(self, scope: Construct, construct_id: str, props: ReleaseRoleProps) -> None:
        super().__init__(scope, construct_id)
        env = props.environment
        # Never the account root (every principal whose IAM policy allows
        # sts:AssumeRole, the deploy role's roles included): the release job
        # below, the named break-glass role (its own trust enforces MFA:
        # docs/ci.md, "Break-glass") and named principals configured on
        # purpose (D52).
        trusted = [
            f"arn:{props.partition}:iam::{props.account_id}:role/{env.access.break_glass_role_name}",
            *env.access.release_principal_arns,
        ]
        release_job = environment_subject(
            env.pipeline.github_repository, release_environment(env.name)
        )
        self.role = aws.iam_role.IamRole(
            self,
            "role",
            name=release_role_name(env),
            description=f"Releases the services of {env.prefix} (python -m release)",
            # A release may run this long (config.model.RELEASE_SESSION_MINUTES;
            # .github/workflows/release.yml asks for the same duration).
            max_session_duration=RELEASE_SESSION_MINUTES * 60,
            assume_role_policy=iam.document(
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": trusted},
                    "Action": "sts:AssumeRole",
                },
                # The release workflow's job (GitHub environment <env>-release).
                web_identity_statement(
                    provider_arn(props.partition, props.account_id), release_job
                ),
            ),
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            "policy",
            role=self.role.id,
            name="release",
            policy=iam.document(
                *release_statements(env, props.account_id, props.partition, props.region)
            ),
        )
