"""The environment's CodeDeploy application and the role of its deployment groups."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from framework import Construct
from framework.aws import aws
from modules import iam
from modules.iam import service_role

#: The limited policy scopes lambda:InvokeFunction to CodeDeployHook_* functions and
#: sns:Publish to CodeDeployTopic_* topics; AWSCodeDeployRoleForECS allows them (and
#: s3:GetObject) on "*" (CodeDeploy user guide, "Amazon ECS service role").
#: Its iam:PassRole covers only role/ecsTaskExecutionRole and role/ECSTaskExecution*
#: (https://docs.aws.amazon.com/aws-managed-policy/latest/reference/AWSCodeDeployRoleForECSLimited.html,
#: v3): the services' own roles are added by ``allow_pass_role``.
CODEDEPLOY_MANAGED_POLICY = "AWSCodeDeployRoleForECSLimited"
#: CodeDeploy hands the task and execution roles of a revision to ECS tasks.
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"


@dataclass(frozen=True, kw_only=True)
class CodeDeployEcsApplicationProps:
    """``name``: application name (``config.naming.codedeploy_application_name``).
    ``account_id``/``partition``: for the service role."""

    name: str
    account_id: str
    partition: str


class CodeDeployEcsApplication(Construct):
    """The CodeDeploy application of an environment (compute platform ECS)
    and the one service role its deployment groups use.

    Every service deployed through it calls ``allow_pass_role`` with its
    task and execution roles: CreateTaskSet passes them to ECS, and the
    managed policy lets CodeDeploy pass only roles named like ECS's default
    execution role (ECS developer guide, "Amazon ECS CodeDeploy IAM Role":
    add iam:PassRole for the task and execution roles). Without it every
    release fails at its first step.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: CodeDeployEcsApplicationProps
    ) -> None:
        super().__init__(scope, construct_id)
        self.app = aws.codedeploy_app.CodedeployApp(
            self, "application", name=props.name, compute_platform="ECS"
        )
        self.name = self.app.name
        self.role = service_role(
            self,
            "service-role",
            name=f"{props.name}-codedeploy",
            service="codedeploy.amazonaws.com",
            source_account=props.account_id,
            managed_policy=(
                "service-role-policy",
                f"arn:{props.partition}:iam::aws:policy/{CODEDEPLOY_MANAGED_POLICY}",
            ),
        )
        self.role_arn = self.role.arn
        self._passable: list[str] = []
        #: The inline policy ``allow_pass_role`` creates (None until then).
        self.pass_role_policy: Any = None

    def allow_pass_role(self, *roles) -> None:
        """Lets the deployment groups pass ``roles`` (``aws_iam_role``
        resources: a service's task and execution roles) to ECS tasks, and
        nothing else. One inline policy lists every role given so far; the
        first call creates it."""
        if not roles:
            raise ValueError("roles: none given; pass the service's task and execution roles")
        self._passable.extend(role.arn for role in roles)
        policy = iam.document(
            {
                "Sid": "PassTheServicesRolesToEcsTasks",
                "Effect": "Allow",
                "Action": "iam:PassRole",
                "Resource": list(self._passable),
                "Condition": {"StringEquals": {"iam:PassedToService": ECS_TASKS_SERVICE}},
            }
        )
        if self.pass_role_policy is None:
            self.pass_role_policy = aws.iam_role_policy.IamRolePolicy(
                self,
                "pass-service-roles",
                role=self.role.id,
                name="pass-service-roles",
                policy=policy,
            )
        else:
            self.pass_role_policy.policy = policy
