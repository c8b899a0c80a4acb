"""Keys and application secrets: the longest-lived resources of an environment."""

from __future__ import annotations

from typing import Any

from config import EnvironmentConfig
from config.naming import (
    SECURITY_PART,
    alarm_topic_name,
    execution_role_name,
    key_configuration_readers,
    key_policy_administrators,
    release_guard_name,
    restore_validator_name,
    secret_name,
    task_role_name,
)
from framework import Construct
from modules.kms import ManagedKey, ManagedKeyProps
from modules.secrets import AppSecret, AppSecretProps
from stacks.base import PlatformStack

#: The services that use the data key on a caller's behalf: Aurora (storage,
#: Performance Insights), Secrets Manager (application and master user
#: secrets), ECR (images). ``kms:ViaService`` names them (AWS KMS developer
#: guide, "kms:ViaService").
DATA_KEY_SERVICES = ("rds", "secretsmanager", "ecr")


def event_bridge_publishes_to_topic(topic_arn: str) -> dict:
    """Key statement letting EventBridge publish to the encrypted alarm
    topic (deployment FAILURE/STOP events, D51). EventBridge sends no
    ``aws:SourceArn`` or ``aws:SourceAccount`` to KMS when it publishes to an
    encrypted topic; SNS passes the topic's ARN as encryption context, so
    the statement is bound to that one topic (Amazon SNS developer guide,
    "Configuring AWS KMS permissions" / encryption context
    ``aws:sns:topicArn``,
    https://docs.aws.amazon.com/sns/latest/dg/sns-key-management.html;
    FIELD_NOTES §11)."""
    return {
        "Sid": "EventBridgePublishesToAlarmTopic",
        "Effect": "Allow",
        "Principal": {"Service": "events.amazonaws.com"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {"StringEquals": {"kms:EncryptionContext:aws:sns:topicArn": topic_arn}},
    }


def function_publishes_to_topic(sid: str, role_arn: str, topic_arn: str, region: str) -> dict:
    """Key statement letting one function's role (the release check, D55;
    the restore validator, D60) publish its alerts to the encrypted alarm
    topic, through SNS, for that topic only. The principal is the account
    with ``aws:PrincipalArn``: the role is created later, by the services
    stack, and KMS refuses a key policy that names a role that does not
    exist yet (FIELD_NOTES §11)."""
    return {
        "Sid": sid,
        "Effect": "Allow",
        "Principal": {"AWS": role_arn.split(":role/")[0] + ":root"},
        "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
        "Resource": "*",
        "Condition": {
            "ArnEquals": {"aws:PrincipalArn": role_arn},
            "StringEquals": {
                "kms:ViaService": f"sns.{region}.amazonaws.com",
                "kms:EncryptionContext:aws:sns:topicArn": topic_arn,
            },
        },
    }


class SecurityStack(PlatformStack):
    """KMS keys (logs, data) and application secrets shared by later tiers.

    Two keys, split by who must use them: the logs key is usable by the
    CloudWatch Logs service for every log group of the environment (and by
    CloudWatch alarms for the alarm topic); the data key encrypts what holds
    customer or credential data (database, secrets, images) and is usable
    only through those services. Named roles administer both (docs/pci-responsibility.md).
    See docs/data-and-secrets.md.
    """

    def __init__(self, scope: Construct, env: EnvironmentConfig) -> None:
        super().__init__(scope, env, SECURITY_PART)
        common: dict[str, Any] = dict(
            account_id=self.account_id,
            partition=self.partition,
            region=env.region,
            # The deploy role applies this stack: it reads, tags and names the
            # keys, never changes their policies or deletes them (D49).
            administrator_role_names=(*env.access.key_administrator_role_names, env.deploy_role),
            protected_role_names=key_policy_administrators(env),
            # Pull-request plans refresh the keys (modules/plan_reads.py).
            reader_role_names=key_configuration_readers(env),
        )
        alarm_topic = (
            f"arn:{self.partition}:sns:{env.region}:{self.account_id}:{alarm_topic_name(env)}"
        )
        self.logs_key = ManagedKey(
            self,
            "logs-key",
            ManagedKeyProps(
                alias=f"{env.prefix}-logs",
                description=f"Encrypts the CloudWatch log groups, alarm topic and ECS Exec sessions of {env.prefix}",
                allow_cloudwatch_logs=True,
                # Alarms publish to the encrypted alarm topic.
                allow_service_principals=(
                    (
                        "cloudwatch.amazonaws.com",
                        f"arn:{self.partition}:cloudwatch:{env.region}:{self.account_id}:alarm:{env.prefix}-*",
                    ),
                ),
                extra_statements=(
                    event_bridge_publishes_to_topic(alarm_topic),
                    *(
                        function_publishes_to_topic(
                            sid,
                            f"arn:{self.partition}:iam::{self.account_id}:role/{role}",
                            alarm_topic,
                            env.region,
                        )
                        for sid, role in (
                            ("ReleaseGuardPublishesToAlarmTopic", release_guard_name(env)),
                            ("RestoreValidatorPublishesToAlarmTopic", restore_validator_name(env)),
                        )
                    ),
                ),
                # ECS Exec's agent decrypts the session key itself (refused in
                # the production tier by configuration).
                direct_user_role_names=tuple(
                    task_role_name(env, svc) for svc in env.services if svc.enable_execute_command
                ),
                **common,
            ),
        )
        self.data_key = ManagedKey(
            self,
            "data-key",
            ManagedKeyProps(
                alias=f"{env.prefix}-data",
                description=f"Encrypts database, secrets and images of {env.prefix}",
                # No service principal and no direct user: only through these.
                via_services=DATA_KEY_SERVICES,
                **common,
            ),
        )

        def role(name: str) -> str:
            return f"arn:{self.partition}:iam::{self.account_id}:role/{name}"

        secret_admins = tuple(role(n) for n in env.access.secret_administrator_role_names)
        break_glass = role(env.access.break_glass_role_name)
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
                    value_writer_role_arns=(*secret_admins, break_glass),
                    policy_admin_role_arns=(role(env.deploy_role), *secret_admins, break_glass),
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
