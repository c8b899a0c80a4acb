"""Customer-managed KMS keys with rotation and an explicit key policy."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from framework import Construct
from framework.aws import aws
from modules import iam
from modules.plan_reads import PLAN_READS

KEY_USER_ACTIONS = (
    "kms:Encrypt",
    "kms:Decrypt",
    "kms:ReEncrypt*",
    "kms:GenerateDataKey*",
    "kms:DescribeKey",
)


#: What key administrators may do: describe, tag, rotate and re-enable the
#: key, name it, read its policy and grants and revoke grants; never use it,
#: change its policy or delete it. Listed exactly, not as ``kms:Create*`` (the
#: KMS developer guide's default key policy, "Allows key administrators to
#: administer the KMS key"): that wildcard includes ``kms:CreateGrant``, with
#: which an administrator grants itself Decrypt, invisible in the key policy
#: and in a Terraform plan (AWS KMS developer guide, "Grants in AWS KMS";
#: PAY-KMS-003).
KEY_ADMINISTRATOR_ACTIONS = (
    "kms:DescribeKey",
    "kms:GetKeyPolicy",
    "kms:GetKeyRotationStatus",
    "kms:ListGrants",
    "kms:ListKeyPolicies",
    "kms:ListKeyRotations",
    "kms:ListResourceTags",
    "kms:EnableKey",
    "kms:EnableKeyRotation",
    "kms:RotateKeyOnDemand",
    "kms:UpdateKeyDescription",
    "kms:CreateAlias",
    "kms:UpdateAlias",
    "kms:RevokeGrant",
    "kms:TagResource",
    "kms:UntagResource",
)
#: Operations that end or take over a key: only the break-glass role, the
#: people who apply stacks by hand (``access.key_policy_administrator_role_patterns``; KMS
#: refuses CreateKey and PutKeyPolicy to a caller the new policy does not
#: allow kms:PutKeyPolicy, AWS KMS API reference, CreateKey
#: ``BypassPolicyLockoutSafetyCheck``) and the account's root user (so the
#: key never becomes unmanageable) may call them; never the deploy role
#: (docs/decisions.md D49).
PROTECTED_ACTIONS = (
    "kms:PutKeyPolicy",
    "kms:ScheduleKeyDeletion",
    "kms:CancelKeyDeletion",
    "kms:DisableKey",
    "kms:Delete*",
)
GRANT_ACTIONS = ("kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant")
#: What a plan's refresh of an aws_kms_key calls (modules/plan_reads.py):
#: a key policy must allow them, or the plan fails with AccessDenied (a
#: key's policy is required for any access to it: AWS KMS developer guide,
#: "Key policies in AWS KMS",
#: https://docs.aws.amazon.com/kms/latest/developerguide/key-policies.html).
KEY_READER_ACTIONS = PLAN_READS["aws_kms_key"].actions
#: The longest waiting period KMS allows after ScheduleKeyDeletion (7-30
#: days); every key policy denies a shorter one to everyone, root included
#: (PCI DSS 3.6.1, 10.3.3: the audit logs stay readable for the longest time
#: a mistaken or hostile deletion can be cancelled in).
MINIMUM_DELETION_WINDOW_DAYS = 30


@dataclass(frozen=True, kw_only=True)
class ManagedKeyProps:
    """``alias``: without the ``alias/`` prefix. ``account_id``/``partition``/
    ``region``: where the key lives (tokens are fine).
    ``administrator_role_names``: roles that administer the key (never use
    it). ``protected_role_names``: roles that may also change its policy,
    disable or delete it (the break-glass role and the
    people who apply stacks by hand): names or IAM ``path/name`` patterns
    (``*``, ``?``), matched with ``ArnLike aws:PrincipalArn`` because a key
    policy ``Principal`` takes no wildcards; the account's root user always
    may. Left out, both: nobody but the root
    user (tests and unit stacks only; stacks pass configuration).
    ``via_services``: service prefixes (``rds``, ``secretsmanager``...)
    through which the account's principals (as their IAM policies allow)
    may use the key (``kms:ViaService``); nobody decrypts directly.
    ``direct_user_role_names``: named roles that may also use the key
    directly (ECS Exec task roles, non-production tiers only); left out:
    none.
    ``allow_cloudwatch_logs``: CloudWatch Logs of this account and region
    may use the key for its log groups (encryption-context condition).
    ``allow_service_principals``: service principal -> ``aws:SourceArn``
    pattern; each may generate data keys and decrypt for sources of this
    account matching the pattern (e.g. CloudWatch alarms publishing to an
    encrypted SNS topic). ``deletion_window_days``: waiting period after a
    deletion is scheduled; shorter than 30 is refused (the key policy
    denies it).
    """

    alias: str
    description: str
    account_id: str
    partition: str
    region: str
    administrator_role_names: tuple[str, ...] = ()
    protected_role_names: tuple[str, ...] = ()
    via_services: tuple[str, ...] = ()
    direct_user_role_names: tuple[str, ...] = ()
    #: Roles that read the key's configuration only (``KEY_READER_ACTIONS``):
    #: the plan role, whose pull-request plans refresh the key. Left out: none.
    reader_role_names: tuple[str, ...] = ()
    allow_cloudwatch_logs: bool = False
    allow_service_principals: tuple[tuple[str, str], ...] = ()
    deletion_window_days: int = MINIMUM_DELETION_WINDOW_DAYS
    #: Further statements a service needs beyond the ones above (e.g.
    #: CloudTrail's encryption-context condition); left out: none.
    extra_statements: tuple[dict, ...] = ()
    #: The provider of ``region`` when it is not the stack's own (an
    #: aliased provider, ``EnvironmentStack.provider_in``). Left out: the
    #: stack's default provider, whose region ``region`` must be.
    provider: Any = None


def key_policy(props: ManagedKeyProps) -> list[dict]:
    """The statements of a key's policy (PCI DSS 3.6.1, 3.7: separation of
    key administration from key use). The account root is the principal of
    the account statements, narrowed by ``aws:PrincipalArn`` to named roles,
    so roles that do not exist yet do not make PutKeyPolicy fail."""
    account = f"arn:{props.partition}:iam::{props.account_id}"
    root = f"{account}:root"

    def roles(names: tuple[str, ...]) -> list[str]:
        # role/<path>/<name>: ArnLike matches a pattern's * across "/".
        return [f"{account}:role/{name}" for name in names]

    protected = [root, *roles(props.protected_role_names)]
    statements: list[dict] = [
        {
            "Sid": "KeyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": list(KEY_ADMINISTRATOR_ACTIONS),
            "Resource": "*",
            "Condition": {
                "ArnLike": {
                    "aws:PrincipalArn": [
                        *protected,
                        *roles(props.administrator_role_names),
                    ]
                }
            },
        },
        {
            "Sid": "PolicyAndDeletionOnlyKeyPolicyAdministrators",
            "Effect": "Allow",
            "Principal": {"AWS": root},
            "Action": list(PROTECTED_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnLike": {"aws:PrincipalArn": protected}},
        },
        {
            "Sid": "DenyPolicyAndDeletionToOthers",
            "Effect": "Deny",
            "Principal": "*",
            "Action": list(PROTECTED_ACTIONS),
            "Resource": "*",
            "Condition": {"ArnNotLike": {"aws:PrincipalArn": protected}},
        },
        {
            "Sid": "DenyShortDeletionWindows",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "kms:ScheduleKeyDeletion",
            "Resource": "*",
            "Condition": {
                "NumericLessThan": {
                    "kms:ScheduleKeyDeletionPendingWindowInDays": str(MINIMUM_DELETION_WINDOW_DAYS)
                }
            },
        },
    ]
    if props.via_services:
        via = [f"{service}.{props.region}.amazonaws.com" for service in props.via_services]
        statements += [
            {
                "Sid": "UseOnlyThroughServices",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": list(KEY_USER_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": via,
                        "kms:CallerAccount": props.account_id,
                    }
                },
            },
            {
                "Sid": "GrantsOnlyForServiceResources",
                "Effect": "Allow",
                "Principal": {"AWS": root},
                "Action": list(GRANT_ACTIONS),
                "Resource": "*",
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": via,
                        "kms:CallerAccount": props.account_id,
                    },
                    "Bool": {"kms:GrantIsForAWSResource": "true"},
                },
            },
        ]
    # Named roles that use the key directly, and those that read its
    # configuration only (the plan role).
    for sid, actions, names in (
        ("NamedDirectUsers", KEY_USER_ACTIONS, props.direct_user_role_names),
        ("ConfigurationReaders", KEY_READER_ACTIONS, props.reader_role_names),
    ):
        if names:
            statements.append(
                {
                    "Sid": sid,
                    "Effect": "Allow",
                    "Principal": {"AWS": root},
                    "Action": list(actions),
                    "Resource": "*",
                    "Condition": {"ArnLike": {"aws:PrincipalArn": roles(names)}},
                }
            )
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
    for index, (principal, source_arn) in enumerate(props.allow_service_principals):
        statements.append(
            {
                "Sid": f"AwsServicePublishesEncrypted{index}",
                "Effect": "Allow",
                "Principal": {"Service": principal},
                "Action": ["kms:Decrypt", "kms:GenerateDataKey*"],
                "Resource": "*",
                "Condition": {
                    "StringEquals": {"aws:SourceAccount": props.account_id},
                    "ArnLike": {"aws:SourceArn": source_arn},
                },
            }
        )
    return statements + list(props.extra_statements)


class ManagedKey(Construct):
    """A symmetric CMK with yearly rotation and ``key_policy``: named roles
    administer it, the break-glass role and the people who apply by hand
    alone change its policy or delete it (never with a window under 30
    days), and everyone else uses it only through the services named (``decrypt_statement`` is the IAM half of such a use).
    """

    def __init__(self, scope: Construct, construct_id: str, props: ManagedKeyProps) -> None:
        super().__init__(scope, construct_id)
        if props.deletion_window_days < MINIMUM_DELETION_WINDOW_DAYS:
            raise ValueError(
                f"{props.alias}: deletion_window_days {props.deletion_window_days} is refused; "
                f"every key policy denies a window under {MINIMUM_DELETION_WINDOW_DAYS} days"
            )
        self.key = aws.kms_key.KmsKey(
            self,
            "key",
            description=props.description,
            enable_key_rotation=True,
            rotation_period_in_days=365,
            deletion_window_in_days=props.deletion_window_days,
            policy=iam.document(*key_policy(props)),
            provider=props.provider,
        )
        self.arn = self.key.arn
        self.alias = aws.kms_alias.KmsAlias(
            self,
            "alias",
            name=f"alias/{props.alias}",
            target_key_id=self.key.key_id,
            provider=props.provider,
        )

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
