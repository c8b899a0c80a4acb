"""The Fargate cluster of an environment."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws

CAPACITY_PROVIDERS = ("FARGATE", "FARGATE_SPOT")


@dataclass(frozen=True, kw_only=True)
class FargateClusterProps:
    """``name``: cluster name. ``logs_key_arn``: CMK of the ECS Exec audit
    log group. ``exec_key_arn``: CMK that encrypts ECS Exec sessions (task
    roles of services with ECS Exec may decrypt with it).
    ``log_retention_days``: retention of the ECS Exec audit log.
    ``container_insights``: ``enhanced`` (per-task metrics) or ``enabled``;
    left out: ``enhanced``.
    """

    name: str
    logs_key_arn: str
    exec_key_arn: str
    log_retention_days: int
    container_insights: str = "enhanced"


class FargateCluster(Construct):
    """Cluster with Container Insights, FARGATE and FARGATE_SPOT capacity and
    audited ECS Exec (sessions KMS-encrypted, commands logged to an encrypted
    log group; OVERRIDE so the log does not depend on per-task settings)."""

    def __init__(self, scope: Construct, construct_id: str, props: FargateClusterProps) -> None:
        super().__init__(scope, construct_id)
        if props.container_insights not in ("enhanced", "enabled"):
            raise ValueError(
                f"container_insights: {props.container_insights!r} is not allowed; "
                "allowed: enhanced, enabled"
            )
        self.exec_key_arn = props.exec_key_arn
        self.exec_log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "exec-log-group",
            name=f"/{props.name}/ecs-exec",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_key_arn,
        )
        self.exec_log_group_arn = self.exec_log_group.arn
        ec = aws.ecs_cluster
        self.cluster = ec.EcsCluster(
            self,
            "cluster",
            name=props.name,
            setting=[
                ec.EcsClusterSetting(name="containerInsights", value=props.container_insights)
            ],
            configuration=ec.EcsClusterConfiguration(
                execute_command_configuration=ec.EcsClusterConfigurationExecuteCommandConfiguration(
                    kms_key_id=props.exec_key_arn,
                    logging="OVERRIDE",
                    log_configuration=ec.EcsClusterConfigurationExecuteCommandConfigurationLogConfiguration(
                        cloud_watch_encryption_enabled=True,
                        cloud_watch_log_group_name=self.exec_log_group.name,
                    ),
                ),
            ),
        )
        self.name = self.cluster.name
        self.arn = self.cluster.arn
        cp = aws.ecs_cluster_capacity_providers
        self.capacity_providers = cp.EcsClusterCapacityProviders(
            self,
            "capacity-providers",
            cluster_name=self.cluster.name,
            capacity_providers=list(CAPACITY_PROVIDERS),
            # Services set their own strategy; this only covers ad-hoc tasks.
            default_capacity_provider_strategy=[
                cp.EcsClusterCapacityProvidersDefaultCapacityProviderStrategy(
                    capacity_provider="FARGATE", base=1, weight=1
                )
            ],
        )

    def exec_statements(self) -> list[dict]:
        """IAM statements a task role needs for ECS Exec on this cluster."""
        return [
            {
                "Sid": "EcsExecChannels",
                "Effect": "Allow",
                "Action": [
                    "ssmmessages:CreateControlChannel",
                    "ssmmessages:CreateDataChannel",
                    "ssmmessages:OpenControlChannel",
                    "ssmmessages:OpenDataChannel",
                ],
                "Resource": "*",
            },
            {
                "Sid": "EcsExecSessionKey",
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": self.exec_key_arn,
            },
            {
                # The agent checks the group's encryption before it writes.
                "Sid": "EcsExecDescribeLogGroups",
                "Effect": "Allow",
                "Action": ["logs:DescribeLogGroups"],
                "Resource": "*",
            },
            {
                "Sid": "EcsExecAuditLog",
                "Effect": "Allow",
                "Action": ["logs:CreateLogStream", "logs:DescribeLogStreams", "logs:PutLogEvents"],
                "Resource": f"{self.exec_log_group_arn}:*",
            },
        ]
