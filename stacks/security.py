"""Keys and application secrets: the longest-lived resources of an environment."""

from __future__ import annotations

from typing import Any

from config import EnvironmentConfig
from config.naming import execution_role_name, secret_name
from framework import Construct
from modules.kms import ManagedKey, ManagedKeyProps
from modules.secrets import AppSecret, AppSecretProps
from stacks.base import PlatformStack


class SecurityStack(PlatformStack):
    """KMS keys (logs, data) and application secrets shared by later tiers.

    Two keys, split by who must use them: the logs key is usable by the
    CloudWatch Logs service for every log group of the environment; the
    data key encrypts what holds customer or credential data (database,
    secrets, images, alarm topic). See docs/data-and-secrets.md.
    """

    def __init__(self, scope: Construct, env: EnvironmentConfig) -> None:
        super().__init__(scope, env, "security")
        common: dict[str, Any] = dict(
            account_id=self.account_id, partition=self.partition, region=env.region
        )
        self.logs_key = ManagedKey(
            self,
            "logs-key",
            ManagedKeyProps(
                alias=f"{env.prefix}-logs",
                description=f"Encrypts the CloudWatch log groups of {env.prefix}",
                allow_cloudwatch_logs=True,
                **common,
            ),
        )
        self.data_key = ManagedKey(
            self,
            "data-key",
            ManagedKeyProps(
                alias=f"{env.prefix}-data",
                description=f"Encrypts database, secrets, images and alarm topic of {env.prefix}",
                allow_service_principals=("cloudwatch.amazonaws.com",),
                **common,
            ),
        )
        #: Application secrets by configured name; services read only theirs.
        self.secrets: dict[str, AppSecret] = {
            name: AppSecret(
                self,
                f"secret-{name}",
                AppSecretProps(
                    name=secret_name(env, name),
                    description=f"Application secret {name!r} of {env.prefix}; value set out of band",
                    kms_key_arn=self.data_key.arn,
                    prevent_destroy=env.is_production,
                    # By name: the roles are created later, in the services stack.
                    reader_role_arns=tuple(
                        f"arn:{self.partition}:iam::{self.account_id}:role/{execution_role_name(env, svc)}"
                        for svc in env.services
                        if name in svc.secrets
                    ),
                ),
            )
            for name in env.secrets
        }
        if env.is_production:
            for key in (self.logs_key, self.data_key):
                key.key.add_override("lifecycle.prevent_destroy", True)
