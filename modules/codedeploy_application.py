"""The environment's CodeDeploy application and the role of its deployment groups."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from framework.references import read_once
from modules.iam import service_role

#: The limited policy scopes lambda:InvokeFunction to CodeDeployHook_* functions and
#: sns:Publish to CodeDeployTopic_* topics; AWSCodeDeployRoleForECS allows them (and
#: s3:GetObject) on "*" (CodeDeploy user guide, "Amazon ECS service role").
CODEDEPLOY_MANAGED_POLICY = "AWSCodeDeployRoleForECSLimited"


@dataclass(frozen=True, kw_only=True)
class CodeDeployEcsApplicationProps:
    """``name``: application name (``config.naming.codedeploy_application_name``).
    ``account_id``/``partition``: for the service role."""

    name: str
    account_id: str
    partition: str


class CodeDeployEcsApplication(Construct):
    """The CodeDeploy application of an environment (compute platform ECS)
    and the one service role its deployment groups use."""

    def __init__(
        self, scope: Construct, construct_id: str, props: CodeDeployEcsApplicationProps
    ) -> None:
        super().__init__(scope, construct_id)
        self.app = aws.codedeploy_app.CodedeployApp(
            self, "application", name=props.name, compute_platform="ECS"
        )
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

    name = read_once("app", "name")
    role_arn = read_once("role", "arn")
