"""The VPC of an environment."""

from __future__ import annotations

from config import EnvironmentConfig
from config.naming import NETWORK_PART, vpc_name
from framework import Construct
from modules.network import Network, NetworkProps
from stacks.base import PlatformStack
from stacks.security import SecurityStack


class NetworkStack(PlatformStack):
    def __init__(self, scope: Construct, env: EnvironmentConfig, security: SecurityStack) -> None:
        super().__init__(scope, env, NETWORK_PART)
        self.network = Network(
            self,
            "network",
            NetworkProps(
                name=vpc_name(env),
                cidr=env.vpc_cidr,
                availability_zones=env.azs,
                nat_gateway_count=env.nat_gateway_count,
                flow_log_key_arn=security.logs_key.arn,
                flow_log_retention_days=env.log_retention_days,
                account_id=self.account_id,
                partition=self.partition,
                region=env.region,
            ),
        )
        # Card data that reaches a log group is masked (PAY-LOG-001, docs/pci-responsibility.md 3.3.1).
        self.mask_card_data(security.logs_key.arn)
