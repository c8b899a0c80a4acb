"""Application secrets in Secrets Manager; values are never in Terraform."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from framework import Construct, TerraformResourceLifecycle
from framework.aws import aws
from modules import iam

#: Actions that change what a reader gets (Secrets Manager API reference).
VALUE_ACTIONS = (
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecretVersionStage",
    "secretsmanager:RotateSecret",
    "secretsmanager:CancelRotateSecret",
)
#: Actions that change who may read, or remove the secret.
POLICY_ACTIONS = (
    "secretsmanager:PutResourcePolicy",
    "secretsmanager:DeleteResourcePolicy",
    "secretsmanager:UpdateSecret",
    "secretsmanager:DeleteSecret",
    "secretsmanager:RestoreSecret",
    "secretsmanager:ReplicateSecretToRegions",
    "secretsmanager:RemoveRegionsFromReplication",
    "secretsmanager:StopReplicationToReplica",
)


def _deny_except(sid: str, actions: tuple[str, ...], allowed: tuple[str, ...]) -> dict:
    """Deny ``actions`` to every principal but ``allowed`` (all when empty)."""
    statement: dict[str, Any] = {
        "Sid": sid,
        "Effect": "Deny",
        "Principal": "*",
        "Action": list(actions),
        "Resource": "*",
    }
    if allowed:
        statement["Condition"] = {"ArnNotLike": {"aws:PrincipalArn": list(allowed)}}
    return statement


@dataclass(frozen=True, kw_only=True)
class AppSecretProps:
    """``name``: full secret name. ``kms_key_arn``: CMK that encrypts it.
    ``recovery_window_days``: days a deleted secret can still be restored.
    ``prevent_destroy``: Terraform refuses to delete the secret; left out, it
    can be destroyed (and restored within the recovery window).
    ``reader_role_arns``: the only principals that may read the value (a
    resource policy denies GetSecretValue to every other principal, whatever
    its IAM policies say); empty: nobody may read it.
    ``value_writer_role_arns``: the only principals that may set or rotate
    the value (secret administrators, break-glass); empty: nobody.
    ``policy_admin_role_arns``: the only principals that may change or
    delete the resource policy, the secret's settings or the secret (the
    deploy role, which keeps managing the policy, secret administrators,
    break-glass); empty: nobody. Without these two denies any principal
    allowed by IAM could remove the read restriction (DeleteResourcePolicy)
    or swap the value (PCI DSS 7.2.2, 8.6.3).
    """

    name: str
    description: str
    kms_key_arn: str
    recovery_window_days: int = 30
    prevent_destroy: bool = False
    reader_role_arns: tuple[str, ...] = ()
    value_writer_role_arns: tuple[str, ...] = ()
    policy_admin_role_arns: tuple[str, ...] = ()


class AppSecret(Construct):
    """A secret container only: no ``aws_secretsmanager_secret_version`` is
    created, so no value reaches the synthesized JSON or the state. Operators
    set the value out of band (see docs/data-and-secrets.md)."""

    def __init__(self, scope: Construct, construct_id: str, props: AppSecretProps) -> None:
        super().__init__(scope, construct_id)
        self.kms_key_arn = props.kms_key_arn
        self.secret = aws.secretsmanager_secret.SecretsmanagerSecret(
            self,
            "secret",
            name=props.name,
            description=props.description,
            kms_key_id=props.kms_key_arn,
            recovery_window_in_days=props.recovery_window_days,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True)
            if props.prevent_destroy
            else None,
        )
        self.arn = self.secret.arn
        deny: dict[str, Any] = {
            "Sid": "OnlyConfiguredServicesRead",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "secretsmanager:GetSecretValue",
            "Resource": "*",
        }
        if props.reader_role_arns:
            deny["Condition"] = {
                "StringNotLike": {"aws:PrincipalArn": list(props.reader_role_arns)}
            }
        self.policy = aws.secretsmanager_secret_policy.SecretsmanagerSecretPolicy(
            self,
            "policy",
            secret_arn=self.secret.arn,
            block_public_policy=True,
            policy=iam.document(
                deny,
                _deny_except(
                    "OnlyAdministratorsChangeTheValue",
                    VALUE_ACTIONS,
                    props.value_writer_role_arns,
                ),
                _deny_except(
                    "OnlyDeployAndAdministratorsChangeThePolicy",
                    POLICY_ACTIONS,
                    props.policy_admin_role_arns,
                ),
            ),
        )

    def decrypt_statement(self, region: str, sid: str = "DecryptSecret") -> dict:
        """IAM statement letting a reader decrypt this secret's CMK, but only
        through Secrets Manager (``kms:ViaService``); pair it with
        ``read_statement``. The key policy needs no entry: it delegates to IAM.
        """
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": self.kms_key_arn,
            "Condition": {
                "StringEquals": {
                    "kms:ViaService": f"secretsmanager.{region}.amazonaws.com",
                }
            },
        }

    def read_statement(self, sid: str = "ReadSecret") -> dict:
        """IAM statement allowing to read this secret's value only."""
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Action": ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
            "Resource": self.arn,
        }
