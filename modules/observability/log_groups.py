"""Log groups AWS would otherwise create itself, unencrypted and short-lived."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct, Token
from framework.aws import aws


@dataclass(frozen=True, kw_only=True)
class ContainerInsightsLogGroupProps:
    """``cluster_name``: the ECS cluster's literal name (Container Insights
    derives the group name from it, so a token is refused).
    ``kms_key_arn``/``retention_days``: the environment's logs key and
    retention."""

    cluster_name: str
    kms_key_arn: str
    retention_days: int


class ContainerInsightsLogGroup(Construct):
    """The group Container Insights writes its performance events to.

    Left to Container Insights, the group is created on the first metrics
    with a 1-day retention and no CMK; creating it beforehand (the cluster
    depends on it) puts it under the logs key and the configured retention
    like every other log group.
    """

    def __init__(
        self, scope: Construct, construct_id: str, props: ContainerInsightsLogGroupProps
    ) -> None:
        super().__init__(scope, construct_id)
        if Token.is_unresolved(props.cluster_name) or not props.cluster_name:
            raise ValueError(
                f"cluster_name: {props.cluster_name!r} is not allowed; give the literal "
                "cluster name (the log group name must be known at synth time)"
            )
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "log-group",
            name=f"/aws/ecs/containerinsights/{props.cluster_name}/performance",
            retention_in_days=props.retention_days,
            kms_key_id=props.kms_key_arn,
        )
