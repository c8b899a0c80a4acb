"""The roles the CI pipeline assumes in an environment's account
(docs/ci.md): the read-only plan role of pull requests and the deploy role
of ``main``, each trusted by exactly one GitHub OIDC subject of one
repository.

What the stacks declare decides what the roles may touch: ``SERVICES``
maps every Terraform type the stacks use to its IAM service, and
``READ_ACTIONS`` names the calls that read its configuration (never its
data: no object, secret value, log event or image layer).
tests/test_pipeline_roles.py requires every synthesized type to map.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from config import EnvironmentConfig
from framework import Construct
from framework.aws import aws
from modules import iam
from modules.github_oidc import (
    GITHUB_OIDC_HOST,
    environment_subject,
    pull_request_subject,
    web_identity_trust,
)

#: Terraform type prefix -> IAM service prefix; the longest prefix wins.
SERVICES: tuple[tuple[str, str], ...] = (
    ("aws_appautoscaling_", "application-autoscaling"),
    ("aws_backup_", "backup"),
    ("aws_cloudtrail", "cloudtrail"),
    ("aws_cloudwatch_event_", "events"),
    ("aws_cloudwatch_log_", "logs"),
    ("aws_cloudwatch_", "cloudwatch"),
    ("aws_codedeploy_", "codedeploy"),
    ("aws_config_", "config"),
    ("aws_db_", "rds"),
    ("aws_rds_", "rds"),
    ("aws_default_security_group", "ec2"),
    ("aws_eip", "ec2"),
    ("aws_flow_log", "ec2"),
    ("aws_internet_gateway", "ec2"),
    ("aws_nat_gateway", "ec2"),
    ("aws_route", "ec2"),
    ("aws_security_group", "ec2"),
    ("aws_subnet", "ec2"),
    ("aws_vpc", "ec2"),
    ("aws_ecr_", "ecr"),
    ("aws_ecs_", "ecs"),
    ("aws_guardduty_", "guardduty"),
    ("aws_iam_", "iam"),
    ("aws_kms_", "kms"),
    ("aws_lb", "elasticloadbalancing"),
    ("aws_s3_", "s3"),
    ("aws_secretsmanager_", "secretsmanager"),
    ("aws_securityhub_", "securityhub"),
    ("aws_service_discovery_", "servicediscovery"),
    ("aws_sns_", "sns"),
    ("aws_wafv2_", "wafv2"),
)
#: Data sources answered without an AWS permission (STS identity, static
#: tables) or through the state bucket (``terraform_remote_state``).
NO_PERMISSION_DATA_SOURCES = (
    "aws_caller_identity",
    "aws_partition",
    "aws_elb_service_account",
    "terraform_remote_state",
)

#: Configuration reads per service, what a plan's refresh calls. Left out on
#: purpose: s3:GetObject (outside the state), secretsmanager:GetSecretValue,
#: logs:GetLogEvents/FilterLogEvents, ecr:GetDownloadUrlForLayer/BatchGetImage,
#: ecr:GetAuthorizationToken, cloudtrail:LookupEvents, wafv2:GetSampledRequests.
READ_ACTIONS: dict[str, tuple[str, ...]] = {
    "application-autoscaling": ("Describe*", "ListTagsForResource"),
    # Vaults, plans, selections, locks, policies, restore testing: settings
    # only (no backup:StartRestoreJob, no recovery point contents).
    "backup": ("Describe*", "Get*", "List*"),
    "cloudtrail": ("DescribeTrails", "GetEventSelectors", "GetTrail", "GetTrailStatus", "List*"),
    "cloudwatch": ("DescribeAlarms", "GetDashboard", "ListDashboards", "ListTagsForResource"),
    "codedeploy": ("BatchGet*", "Get*", "List*"),
    "config": ("Describe*", "ListTagsForResource"),
    "ec2": ("Describe*",),
    "ecr": ("Describe*", "GetLifecyclePolicy", "GetRepositoryPolicy", "ListTagsForResource"),
    "ecs": ("Describe*", "List*"),
    "elasticloadbalancing": ("Describe*",),
    "events": ("Describe*", "List*"),
    "guardduty": ("GetDetector", "GetMemberDetectors", "ListDetectors", "ListTagsForResource"),
    "iam": ("Get*", "List*"),
    "kms": ("DescribeKey", "GetKeyPolicy", "GetKeyRotationStatus", "List*"),
    "logs": (
        "DescribeLogGroups",
        "DescribeResourcePolicies",
        # aws_cloudwatch_log_subscription_filter, once a log-archive
        # destination is configured (modules/log_archive.py).
        "DescribeSubscriptionFilters",
        "GetDataProtectionPolicy",
        "ListTagsForResource",
        "ListTagsLogGroup",
    ),
    "rds": ("Describe*", "ListTagsForResource"),
    "s3": (
        "GetAccelerateConfiguration",
        "GetBucket*",
        "GetEncryptionConfiguration",
        "GetLifecycleConfiguration",
        "GetReplicationConfiguration",
    ),
    "secretsmanager": ("DescribeSecret", "GetResourcePolicy", "ListSecrets"),
    "securityhub": (
        "DescribeHub",
        "DescribeStandards*",
        "GetEnabledStandards",
        "ListTagsForResource",
    ),
    "servicediscovery": ("GetNamespace", "GetOperation", "GetService", "List*"),
    "sns": (
        "GetSubscriptionAttributes",
        "GetTopicAttributes",
        "ListSubscriptionsByTopic",
        "ListTagsForResource",
    ),
    "wafv2": ("GetLoggingConfiguration", "GetWebACL", "GetWebACLForResource", "List*"),
}
#: Services whose every action the deploy role may not have: secret values
#: are set and read by secret administrators only (docs/data-and-secrets.md),
#: so the deploy role manages the secrets' settings and policies, never the
#: value (no GetSecretValue, PutSecretValue, BatchGetSecretValue).
MANAGE_ACTIONS: dict[str, tuple[str, ...]] = {
    "secretsmanager": (
        "CreateSecret",
        "DeleteResourcePolicy",
        "DeleteSecret",
        "DescribeSecret",
        "GetResourcePolicy",
        "ListSecrets",
        "PutResourcePolicy",
        "RestoreSecret",
        "TagResource",
        "UntagResource",
        "UpdateSecret",
        "ValidateResourcePolicy",
    ),
}
#: CreateBackupVault also needs backup-storage:MountCapsule (AWS Backup
#: developer guide, "API permissions: actions, resources, and conditions").
BACKUP_STORAGE_ACTIONS = ("backup-storage:MountCapsule",)
#: What no pipeline credential may do to the backups (issue #28, docs/backup.md
#: "What no credential can do"): delete or shorten a recovery point, stop
#: continuous backup, change a vault's lock or access policy, delete a vault,
#: disable or re-aim the restore test, delete or share a database snapshot.
#: Each vault's access policy denies the vault actions too
#: (modules/backup.py). A change Terraform would make with one of them is an
#: administrator's apply (docs/decisions.md D48).
NEVER_BY_PIPELINE = (
    "backup:DeleteBackupVault",
    "backup:DeleteBackupVaultAccessPolicy",
    "backup:DeleteBackupVaultLockConfiguration",
    "backup:DeleteRecoveryPoint",
    "backup:DeleteRestoreTestingPlan",
    "backup:DeleteRestoreTestingSelection",
    "backup:DisassociateRecoveryPoint",
    "backup:DisassociateRecoveryPointFromParent",
    "backup:PutBackupVaultAccessPolicy",
    "backup:PutBackupVaultLockConfiguration",
    "backup:UpdateRecoveryPointLifecycle",
    "backup:UpdateRestoreTestingPlan",
    "backup:UpdateRestoreTestingSelection",
    "rds:DeleteDBClusterAutomatedBackup",
    "rds:DeleteDBClusterSnapshot",
    "rds:ModifyDBClusterSnapshotAttribute",
)
#: Production tier: the keys that decrypt recovery points (the cluster's data
#: key: Aurora recovery points keep it) and the vault keys are never disabled
#: or scheduled for deletion by the pipeline; prevent_destroy already keeps
#: Terraform from planning it. Break-glass and the root user still may
#: (key policy, modules/kms.py).
NEVER_BY_PIPELINE_IN_PRODUCTION = ("kms:DisableKey", "kms:ScheduleKeyDeletion")
#: Global services: IAM is scoped by resource below, not by region.
GLOBAL_SERVICES = ("iam",)
#: Cloud Map's private DNS namespace is a Route 53 private hosted zone that
#: ServiceDiscovery creates with the caller's permissions.
CLOUD_MAP_DNS_ACTIONS = (
    "route53:ChangeResourceRecordSets",
    "route53:CreateHostedZone",
    "route53:DeleteHostedZone",
    "route53:GetChange",
    "route53:GetHostedZone",
    "route53:ListHostedZonesByName",
    "route53:ListResourceRecordSets",
)
#: What Terraform calls to manage a role with inline policies and managed
#: policy attachments, and to hand it to a service.
ROLE_WRITES = (
    "iam:AttachRolePolicy",
    "iam:CreateRole",
    "iam:DeleteRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PassRole",
    "iam:PutRolePolicy",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
#: Every IAM write, for the deny that keeps the pipeline's identities out of
#: the deploy role's reach.
IAM_WRITES = (
    "iam:Add*",
    "iam:Attach*",
    "iam:Create*",
    "iam:Delete*",
    "iam:Detach*",
    "iam:Put*",
    "iam:Remove*",
    "iam:Tag*",
    "iam:Untag*",
    "iam:Update*",
)


def service_of(terraform_type: str) -> str | None:
    """The IAM service of a Terraform resource or data source type, None
    when the table does not know it."""
    found = [(len(prefix), svc) for prefix, svc in SERVICES if terraform_type.startswith(prefix)]
    return max(found)[1] if found else None


@dataclass(frozen=True, kw_only=True)
class PipelineRolesProps:
    """``environment``: names, repository, regions. ``provider_arn``: the
    account's GitHub OIDC provider. ``state_key_arn``: the key the state is
    encrypted with. ``state_object_pattern``: the state objects' keys in
    ``environment.state_bucket`` (``payment-platform/<env>/*.tfstate``).
    ``bucket_names``: every bucket the environment's stacks manage
    (``config.naming.bucket_names``): the provider reads each with
    HeadBucket, which needs s3:ListBucket on it.
    ``account_id``/``partition``: where the roles live (tokens are fine)."""

    environment: EnvironmentConfig
    provider_arn: str
    state_key_arn: str
    state_object_pattern: str
    bucket_names: Sequence[str]
    account_id: str
    partition: str


def plan_statements(props: PipelineRolesProps) -> list[dict]:
    """Reads state and configuration; writes only the state lock objects."""
    env = props.environment
    bucket = f"arn:{props.partition}:s3:::{env.state_bucket}"
    state = f"{bucket}/{props.state_object_pattern}"
    lock = f"{state}.tflock"
    reads = sorted(f"{svc}:{action}" for svc, actions in READ_ACTIONS.items() for action in actions)
    return [
        {
            # The provider reads every aws_s3_bucket with HeadBucket, which
            # needs s3:ListBucket on that bucket (S3 API reference,
            # HeadBucket: https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html);
            # the state bucket's listing is the backend's too.
            "Sid": "ListTheEnvironmentsBuckets",
            "Effect": "Allow",
            "Action": "s3:ListBucket",
            "Resource": [f"arn:{props.partition}:s3:::{name}" for name in props.bucket_names],
        },
        {
            # Its own stacks' state, and the upstream stacks' it reads
            # through terraform_remote_state.
            "Sid": "ReadStateAndLocks",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": [state, lock],
        },
        {
            # use_lockfile: the lock is <key>.tflock, written with
            # If-None-Match and deleted when the plan ends.
            "Sid": "TakeTheStateLockOnly",
            "Effect": "Allow",
            "Action": ["s3:PutObject", "s3:DeleteObject"],
            "Resource": lock,
        },
        {
            # Decrypt the state, encrypt the lock object: through S3 only.
            "Sid": "StateKeyThroughS3Only",
            "Effect": "Allow",
            "Action": ["kms:Decrypt", "kms:GenerateDataKey"],
            "Resource": props.state_key_arn,
            "Condition": {
                "StringEquals": {"kms:ViaService": f"s3.{env.backend_region}.amazonaws.com"}
            },
        },
        {
            # Describe/List/Get of every type the stacks declare. Most take
            # no resource-level permission; the rest read configuration only.
            "Sid": "ReadConfiguration",
            "Effect": "Allow",
            "Action": reads,
            "Resource": "*",
        },
    ]


def deploy_statements(props: PipelineRolesProps) -> list[dict]:
    """Manages every type the stacks declare, in the environment's regions;
    IAM only on the environment's roles; never the pipeline's own identities
    and never a secret's value."""
    env = props.environment
    account = f"arn:{props.partition}:iam::{props.account_id}"
    regions = sorted({env.region, env.backend_region, env.backup.copy_region or env.region})
    regional = sorted(
        f"{svc}:{action}"
        for svc in READ_ACTIONS
        if svc not in GLOBAL_SERVICES
        for action in MANAGE_ACTIONS.get(svc, ("*",))
    )
    pipeline_identities = [
        f"{account}:role/{env.plan_role}",
        f"{account}:role/{env.deploy_role}",
        f"{account}:oidc-provider/{GITHUB_OIDC_HOST}",
    ]
    return [
        {
            "Sid": "ManageTheStacksServicesInTheirRegions",
            "Effect": "Allow",
            "Action": regional,
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": regions}},
        },
        {
            "Sid": "CreateBackupVaults",
            "Effect": "Allow",
            "Action": list(BACKUP_STORAGE_ACTIONS),
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:RequestedRegion": regions}},
        },
        {
            "Sid": "CloudMapPrivateDnsZones",
            "Effect": "Allow",
            "Action": list(CLOUD_MAP_DNS_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "ReadIam",
            "Effect": "Allow",
            "Action": ["iam:Get*", "iam:List*"],
            "Resource": "*",
        },
        {
            # The stacks name every role payment-<env>-...; what Terraform
            # calls for a role, its inline policies and attachments.
            "Sid": "ManageTheEnvironmentsRoles",
            "Effect": "Allow",
            "Action": list(ROLE_WRITES),
            "Resource": f"{account}:role/{env.prefix}-*",
        },
        {
            "Sid": "CreateServiceLinkedRoles",
            "Effect": "Allow",
            "Action": "iam:CreateServiceLinkedRole",
            "Resource": f"{account}:role/aws-service-role/*",
        },
        {
            # A merged pull request cannot widen who assumes the pipeline's
            # roles or what they may do: that is an administrator's apply.
            "Sid": "NeverChangeThePipelineIdentities",
            "Effect": "Deny",
            "Action": list(IAM_WRITES),
            "Resource": pipeline_identities,
        },
        {
            # Secret values are set out of band by secret administrators;
            # the deny outlives a wider grant added by mistake.
            "Sid": "NeverTouchSecretValues",
            "Effect": "Deny",
            "Action": [
                "secretsmanager:BatchGetSecretValue",
                "secretsmanager:GetSecretValue",
                "secretsmanager:PutSecretValue",
            ],
            "Resource": "*",
        },
        {
            # No condition, no resource narrowing: outlives any grant.
            "Sid": "NeverDeleteOrUnlockBackups",
            "Effect": "Deny",
            "Action": list(NEVER_BY_PIPELINE)
            + (list(NEVER_BY_PIPELINE_IN_PRODUCTION) if env.is_production else []),
            "Resource": "*",
        },
    ]


class PipelineRoles(Construct):
    """``plan_role`` (trust: ``repo:<owner>/<repo>:pull_request``) and
    ``deploy_role`` (trust: ``repo:<owner>/<repo>:environment:<env>``)."""

    def __init__(self, scope: Construct, construct_id: str, props: PipelineRolesProps) -> None:
        super().__init__(scope, construct_id)
        env = props.environment
        repository = env.pipeline.github_repository
        self.plan_role = self._role(
            "plan",
            name=env.plan_role,
            description=f"Plans {env.prefix} in pull requests of {repository} (read-only)",
            session_seconds=3600,
            trust=web_identity_trust(props.provider_arn, pull_request_subject(repository)),
            statements=plan_statements(props),
        )
        self.deploy_role = self._role(
            "deploy",
            name=env.deploy_role,
            description=f"Deploys {env.prefix} from {repository} (GitHub environment {env.name})",
            # A deploy job may run two hours (deploy-environment.yml).
            session_seconds=7200,
            trust=web_identity_trust(props.provider_arn, environment_subject(repository, env.name)),
            statements=deploy_statements(props),
        )

    def _role(
        self,
        purpose: str,
        *,
        name: str,
        description: str,
        session_seconds: int,
        trust: str,
        statements: list[dict],
    ):
        """Role ``<purpose>-role`` with its inline policy ``<purpose>-policy``."""
        role = aws.iam_role.IamRole(
            self,
            f"{purpose}-role",
            name=name,
            description=description,
            max_session_duration=session_seconds,
            assume_role_policy=trust,
        )
        aws.iam_role_policy.IamRolePolicy(
            self,
            f"{purpose}-policy",
            role=role.id,
            name=purpose,
            policy=iam.document(*statements),
        )
        return role
