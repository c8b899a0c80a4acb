"""Customer-managed KMS keys with rotation and an explicit key policy."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from framework.references import read_once
from modules import iam

KEY_USER_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)


@dataclass(frozen=True, kw_only=True)
class ManagedKeyProps:
    """``alias``: without the ``alias/`` prefix. ``account_id``/``partition``/
    ``region``: where the key lives (tokens are fine).
    ``allow_cloudwatch_logs``: lets CloudWatch Logs of this account and region
    use the key for log groups (left out: no log group can use it).
    ``allow_service_principals``: AWS services (e.g. ``cloudwatch.amazonaws.com``
    publishing alarms to an encrypted SNS topic) that may generate data keys
    and decrypt; left out: none.
    ``deletion_window_days``: waiting period after a deletion is scheduled.
    """

    alias: str
    description: str
    account_id: str
    partition: str
    region: str
    allow_cloudwatch_logs: bool = False
    allow_service_principals: tuple[str, ...] = ()
    deletion_window_days: int = 30


class ManagedKey(Construct):
    """A symmetric CMK with yearly rotation.

    The key policy gives the account root administrative access, which is
    what lets IAM policies grant use of the key; roles that must decrypt get
    an IAM statement from ``decrypt_statement()`` rather than a key policy
    entry, so adding a service never edits the key policy.
    """

    def __init__(self, scope: Construct, construct_id: str, props: ManagedKeyProps) -> None:
        super().__init__(scope, construct_id)
        root = f"arn:{props.partition}:iam::{props.account_id}:root"
        statements: list[dict] = [
            {
                "Sid": "AccountRootAdministers",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": "kms:*",
                "Resource": "*",
            }
        ]
        if props.allow_cloudwatch_logs:
            statements.append(
                {
                    "Sid": "CloudWatchLogsEncryptsLogGroups",
                    "Effect": "Allow",
                    "Principal": {"Service": f"logs.{props.region}.amazonaws.com"},
                    "Action": list(KEY_USER_ACTIONS),
                    "Resource": "*",
                    "Condition": {
                        "ArnLike": {
                            "kms:EncryptionContext:aws:logs:arn": f"arn:{props.partition}:logs:{props.region}:{props.account_id}:log-group:*"
                        }
                    },
                }
            )
        if props.allow_service_principals:
            statements.append(
                {
                    "Sid": "AwsServicesPublishEncrypted",
                    "Effect": "Allow",
                    "Principal": {"Service": list(props.allow_service_principals)},
                    "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": props.account_id}},
                }
            )
        self.key = aws.kms_key.KmsKey(
            self,
            "key",
            description=props.description,
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=props.deletion_window_days,
            policy=iam.document(*statements),
        )
        self.alias = aws.kms_alias.KmsAlias(
            self, "alias", name=f"alias/{props.alias}", target_key_id=self.key.key_id
        )

    arn = read_once("key", "arn")

    def decrypt_statement(
        self, sid: str = "DecryptWithKey", via_services: tuple[str, ...] = ()
    ) -> dict:
        """IAM statement allowing decryption with this key only.

        ``via_services`` (e.g. ``("secretsmanager.eu-west-1.amazonaws.com",)``)
        limits the permission to requests those services make on the role's
        behalf, so the role cannot decrypt arbitrary ciphertext directly.
        Left out: any decryption with this key.
        """
        statement = {
            "Sid": sid,
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:DescribeKey"],
            "Resource": self.key.arn,
        }
        if via_services:
            statement["Condition"] = {"StringEquals": {"kms:ViaService": list(via_services)}}
        return statement
