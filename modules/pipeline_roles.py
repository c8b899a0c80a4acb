"""The roles the CI pipeline assumes in an environment's account
(docs/ci.md): the read-only plan role of pull requests and the deploy role
of ``main``, each trusted by exactly one GitHub OIDC subject of one
repository.

What the stacks declare decides what the roles may touch: ``SERVICES``
maps every Terraform type the stacks use to its IAM service, and
``READ_ACTIONS`` names the calls that read its configuration (never its
data: no object, secret value, log event or image layer).
tests/test_pipeline_roles.py requires every synthesized type to map;
tests/test_plan_reads.py requires the plan role to allow, per type, every
action the provider's Read calls (``modules.plan_reads.PLAN_READS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from config import EnvironmentConfig
from config.naming import (
    alb_access_log_bucket_name,
    ecs_role_patterns,
    plan_environment,
    restore_validator_name,
    security_alert_patterns,
)
from config.pipeline_contract import (
    ACCESS_LOG_BUCKET,
    ANY_RESOURCE,
    BOUNDED_ROLE_WRITES,
    CERTIFICATE,
    SIMULATED_ROLES,
    preflight_actions,
    verify_actions,
)
from framework import Construct
from framework.aws import aws
from modules import iam
from modules.backup import BACKUP_POLICY, RESTORE_POLICY
from modules.codedeploy_application import CODEDEPLOY_MANAGED_POLICY
from modules.database import ENHANCED_MONITORING_POLICY
from modules.github_oidc import (
    GITHUB_OIDC_HOST,
    environment_subject,
    pull_request_subject,
    web_identity_trust,
)

#: Terraform type prefix -> IAM service prefix; the longest prefix wins.
SERVICES: tuple[tuple[str, str], ...] = (
    ("aws_accessanalyzer_", "access-analyzer"),
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
    ("aws_lambda_", "lambda"),
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
    # The baseline's analyzer (GetAnalyzer returns its tags too) and its
    # archive rules (modules/plan_reads.py).
    "access-analyzer": ("GetAnalyzer", "GetArchiveRule"),
    "application-autoscaling": ("Describe*", "ListTagsForResource"),
    # Vaults, plans, selections, locks, policies, restore testing: settings
    # only (no backup:StartRestoreJob, no recovery point contents).
    "backup": ("Describe*", "Get*", "List*"),
    # GetInsightSelectors: the trail's Read calls it once insight selectors
    # are set (modules/plan_reads.py).
    "cloudtrail": (
        "DescribeTrails",
        "GetEventSelectors",
        "GetInsightSelectors",
        "GetTrail",
        "GetTrailStatus",
        "List*",
    ),
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
    # The release check's function and its EventBridge permission
    # (modules/release_guard.py): GetFunction, GetFunctionCodeSigningConfig,
    # GetPolicy, ListVersionsByFunction, ListTags. The code is this repository's.
    "lambda": ("Get*", "List*"),
    "logs": (
        "DescribeLogGroups",
        # The card-data findings' metric filters (production tier, D75).
        "DescribeMetricFilters",
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
    "wafv2": (
        "GetLoggingConfiguration",
        "GetRegexPatternSet",
        "GetWebACL",
        "GetWebACLForResource",
        "List*",
    ),
}
#: Services whose every action the deploy role may not have: secret values
#: are set and read by secret administrators only (docs/data-and-secrets.md),
#: so the deploy role manages the secrets' policies, never the value (no
#: GetSecretValue, PutSecretValue, BatchGetSecretValue) nor UpdateSecret,
#: which also sets values: a description or key change is a person's apply.
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
        "ValidateResourcePolicy",
    ),
}
#: CreateBackupVault also needs backup-storage:MountCapsule (AWS Backup
#: developer guide, "API permissions: actions, resources, and conditions").
BACKUP_STORAGE_ACTIONS = ("backup-storage:MountCapsule",)
#: What no pipeline credential may do to the backups (issue #28, docs/backup.md
#: "What no credential can do"): delete or shorten a recovery point, stop
#: continuous backup, change a vault's lock or access policy, delete a vault,
#: disable or re-aim the restore test, report a restore test's validation
#: (the validator's alone, D60), delete or share a database snapshot.
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
    "backup:PutRestoreValidationResult",
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
#: Services only the baseline stack declares. A person of the security
#: stage applies it (docs/decisions.md D42, D49): the deploy role reads
#: them (plans of every stack) and writes none.
BASELINE_SERVICES = ("access-analyzer", "cloudtrail", "config", "guardduty", "securityhub")
#: Calls that blind or end the audit trail and detection (PCI DSS
#: 10.3.2-10.3.4, 10.7.2, 11.5.1): the deploy role and every role it creates
#: (the boundary) are denied them; the baseline alerts on each
#: (modules/security_alerts.py). KMS calls here also end a key's use: the
#: key policies already deny them to all but the key-policy administrators.
AUDIT_TAMPERING_ACTIONS: dict[str, tuple[str, ...]] = {
    # The analyzer that finds roles trusted outside the account (D66):
    # deleting it, or an archive rule that archives new findings before
    # anyone sees them (IAM Access Analyzer API reference, CreateArchiveRule).
    "access-analyzer": (
        "ApplyArchiveRule",
        "CreateArchiveRule",
        "DeleteAnalyzer",
        "UpdateArchiveRule",
    ),
    "cloudtrail": ("DeleteTrail", "PutEventSelectors", "StopLogging", "UpdateTrail"),
    "config": (
        "DeleteConfigurationRecorder",
        "DeleteDeliveryChannel",
        "StopConfigurationRecorder",
    ),
    # A member account leaving its administrator stops the organization's
    # view of its findings (GuardDuty API reference; the second name is the
    # current one, the first its deprecated alias, both still callable).
    "guardduty": (
        "DeleteDetector",
        "DisassociateFromAdministratorAccount",
        "DisassociateFromMasterAccount",
        "UpdateDetector",
    ),
    "kms": ("DisableKey", "PutKeyPolicy", "ScheduleKeyDeletion"),
    "securityhub": ("BatchDisableStandards", "DisableSecurityHub"),
}
#: Bucket calls that open or blind the audit and AWS Config buckets; they
#: are bucket-scoped, so the deploy role's deny names those buckets
#: (``BUCKET_CONFIGURATION_WRITES`` covers each: tests/test_security_alerts.py)
#: and the baseline alerts on them for those buckets only.
AUDIT_BUCKET_TAMPERING_ACTIONS = ("DeleteBucketPolicy", "PutBucketLogging", "PutBucketPolicy")
#: What would silence the security alerts (the baseline's EventBridge rules
#: and topic, modules/security_alerts.py): the deploy role and every role it
#: creates are denied them on those resources (named
#: ``config.naming.security_alerts_name``).
SECURITY_ALERT_WRITES = (
    "events:DeleteRule",
    "events:DisableRule",
    "events:PutRule",
    "events:PutTargets",
    "events:RemoveTargets",
    "events:TagResource",
    "events:UntagResource",
    "sns:AddPermission",
    "sns:DeleteTopic",
    "sns:PutDataProtectionPolicy",
    "sns:RemovePermission",
    "sns:SetSubscriptionAttributes",
    "sns:SetTopicAttributes",
    "sns:Subscribe",
    "sns:TagResource",
    "sns:Unsubscribe",
    "sns:UntagResource",
)


def security_alert_resources(partition: str, account_id: str) -> list[str]:
    """The baseline's alert rules, topic and its subscriptions in every
    region of ``account_id``, whichever environment owns the baseline."""
    rules, topic = security_alert_patterns()
    return [
        f"arn:{partition}:events:*:{account_id}:rule/{rules}",
        f"arn:{partition}:sns:*:{account_id}:{topic}",
        f"arn:{partition}:sns:*:{account_id}:{topic}:*",
    ]


#: Acting as another role (docs/decisions.md D75). Within one account a
#: role's trust policy that names a principal's ARN is enough for
#: AssumeRole, whatever the principal's own policy says (IAM user guide,
#: "Policy evaluation logic",
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_evaluation-logic.html,
#: and "How to use trust policies with IAM roles",
#: https://aws.amazon.com/blogs/security/how-to-use-trust-policies-with-iam-roles/):
#: the deploy role may rewrite a workload role's trust
#: (iam:UpdateAssumeRolePolicy, which no condition key can narrow to the
#: document's content), so only an explicit Deny in its own policy keeps it
#: from re-trusting an execution role to itself and reading its secrets.
#: TagSession and SetSourceIdentity are authorized with AssumeRole when a
#: session carries tags or a source identity (Service Authorization
#: Reference, AWS STS:
#: https://docs.aws.amazon.com/service-authorization/latest/reference/list_awssecuritytokenservice.html).
#: Terraform never assumes a role here: no provider or backend names one
#: (tests/test_deploy_bounds.py). AssumeRoleWithWebIdentity/SAML are not
#: authorized by the caller's policy, so they are not listed.
NEVER_ACT_AS_ANOTHER_ROLE = ("sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession")
#: ECS calls that start code outside a service's reviewed task definition
#: history or enter a running container (its environment holds the
#: injected secrets). Terraform never makes them: the provider calls RunTask
#: only in the ``aws_ecs_task_execution`` data source
#: (internal/service/ecs/task_execution_data_source.go), which no stack
#: declares (a test), and StartTask and ExecuteCommand nowhere (Service
#: Authorization Reference, Amazon ECS:
#: https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonelasticcontainerservice.html).
NEVER_START_TASKS = ("ecs:ExecuteCommand", "ecs:RunTask", "ecs:StartTask")
#: The service a service's execution and task roles may be passed to: ECS
#: checks iam:PassRole with ``iam:PassedToService`` ecs-tasks.amazonaws.com
#: (IAM condition keys,
#: https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_iam-condition-keys.html#ck_PassedToService;
#: the AWS managed policy AWSCodeDeployRoleForECSLimited passes them with
#: the same condition). Passed to Lambda (or any other service) after a
#: trust rewrite, an execution role would run code of the pipeline's choice.
ECS_TASKS_SERVICE = "ecs-tasks.amazonaws.com"


def ecs_role_arns(env: EnvironmentConfig, partition: str, account_id: str) -> list[str]:
    """The execution and task roles of ``env``'s services, by pattern."""
    return [f"arn:{partition}:iam::{account_id}:role/{p}" for p in ecs_role_patterns(env)]


def restore_validator_statements(
    env: EnvironmentConfig, partition: str, account_id: str
) -> list[dict]:
    """The restore validator reports whatever its event says was restored
    (D60): invoked by hand with a forged event, it would report a restore
    test SUCCESSFUL. Only EventBridge invokes it, through the function's
    resource policy, so no role needs lambda:InvokeFunction on it (Service
    Authorization Reference, AWS Lambda, above). The release check's
    function is invoked by CodeDeploy's bounded role and reads the
    deployment itself, so it is left out."""
    function = f"arn:{partition}:lambda:*:{account_id}:function:{restore_validator_name(env)}"
    return [
        {
            "Sid": "NeverInvokeTheRestoreValidator",
            "Effect": "Deny",
            "Action": ["lambda:InvokeAsync", "lambda:InvokeFunction"],
            "Resource": [function, f"{function}:*"],
        }
    ]


def no_role_takeover_statements(
    env: EnvironmentConfig, partition: str, account_id: str
) -> list[dict]:
    """Denies shared by the deploy role and the boundary of every role it
    creates (a bounded role it creates must not do what it may not):
    ``NEVER_ACT_AS_ANOTHER_ROLE``, ``NEVER_START_TASKS``, and passing the
    services' ECS roles to anything but ECS tasks."""
    return [
        {
            "Sid": "NeverActAsAnotherRole",
            "Effect": "Deny",
            "Action": list(NEVER_ACT_AS_ANOTHER_ROLE),
            "Resource": "*",
        },
        {
            "Sid": "NeverStartTasksOutsideAService",
            "Effect": "Deny",
            "Action": list(NEVER_START_TASKS),
            "Resource": "*",
        },
        {
            "Sid": "PassTheServicesRolesOnlyToEcsTasks",
            "Effect": "Deny",
            "Action": "iam:PassRole",
            "Resource": ecs_role_arns(env, partition, account_id),
            "Condition": {"StringNotEquals": {"iam:PassedToService": ECS_TASKS_SERVICE}},
        },
    ]


#: Beyond tampering: reading masked card data, writing secret values, and
#: creating keys (a key the pipeline creates with the lockout check
#: bypassed could re-encrypt a snapshot for another account).
PIPELINE_NEVER_ACTIONS = (
    # Calls Terraform never makes here that would silence the release and
    # restore checks (D75): the provider turns a rule off with PutRule's
    # State (internal/service/events/rule.go expandPutRuleInput), never
    # DisableRule; no stack declares a function URL (a test), which would
    # let anyone invoke the restore validator with a forged event.
    # Service Authorization Reference, EventBridge and Lambda:
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazoneventbridge.html,
    # https://docs.aws.amazon.com/service-authorization/latest/reference/list_awslambda.html
    "events:DisableRule",
    "kms:CreateKey",
    "kms:ReplicateKey",
    "lambda:CreateFunctionUrlConfig",
    "lambda:UpdateFunctionUrlConfig",
    "logs:Unmask",
    "rds:ModifyDBClusterSnapshotAttribute",
    "rds:ModifyDBSnapshotAttribute",
    "secretsmanager:PutSecretValue",
    "secretsmanager:UpdateSecret",
)
#: Bucket-level writes on the buckets a person's stacks own (state, audit,
#: AWS Config): their policies, locks, lifecycles and encryption.
BUCKET_CONFIGURATION_WRITES = (
    "s3:DeleteBucket",
    "s3:DeleteBucketPolicy",
    "s3:PutBucket*",
    "s3:PutEncryptionConfiguration",
    "s3:PutLifecycleConfiguration",
    "s3:PutReplicationConfiguration",
)
#: Managed policies a role of the pipeline-applied stacks may have attached:
#: the AWS managed policies the modules attach (modules/iam.py
#: ``service_role``), by name under ``arn:<partition>:iam::aws:policy/``.
ATTACHABLE_MANAGED_POLICIES = (
    CODEDEPLOY_MANAGED_POLICY,
    ENHANCED_MONITORING_POLICY,
    BACKUP_POLICY,
    RESTORE_POLICY,
)
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
#: BOUNDED_ROLE_WRITES (config/pipeline_contract.py): what Terraform calls
#: to create a role and change its permissions, only with the boundary.
#: The rest of a role's life: these take no ``iam:PermissionsBoundary``
#: (a condition on it would deny them), and none widens what a role may do.
ROLE_WRITES = (
    "iam:DeleteRole",
    "iam:PassRole",
    "iam:TagRole",
    "iam:UntagRole",
    "iam:UpdateAssumeRolePolicy",
    "iam:UpdateRole",
    "iam:UpdateRoleDescription",
)
#: What the roles of the pipeline-applied stacks may ever call (the
#: boundary's allow): their services, and X-Ray, SSM messages (ECS Exec) and
#: STS that their code and agents use; of IAM only iam:PassRole.
BOUNDARY_SERVICES = (
    "application-autoscaling",
    # The AWS Backup service role (modules/backup.py): its managed policies
    # back up and restore the cluster and look it up by tag.
    "backup",
    "backup-storage",
    "cloudwatch",
    "codedeploy",
    "ec2",
    "ecr",
    "ecs",
    "elasticloadbalancing",
    "kms",
    "lambda",
    "logs",
    "rds",
    # The restore validator reads restored copies through the Data API (D76).
    "rds-data",
    "rds-db",
    "s3",
    "secretsmanager",
    "sns",
    "ssmmessages",
    "sts",
    "tag",
    "xray",
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
    ``account_id``/``partition``: where the roles live (tokens are fine).
    ``boundary_arn``: the permissions boundary every role the deploy role
    creates must carry. ``protected_bucket_names``: buckets of the stacks a
    person applies (state, audit, AWS Config), whose configuration the
    deploy role may not write. ``release_role_name``: the role whose trust
    the deploy role may not change (it may still keep its permissions,
    inside the boundary)."""

    environment: EnvironmentConfig
    provider_arn: str
    state_key_arn: str
    state_object_pattern: str
    bucket_names: Sequence[str]
    account_id: str
    partition: str
    boundary_arn: str
    protected_bucket_names: Sequence[str]
    release_role_name: str


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


def preflight_statements(env: EnvironmentConfig) -> list[dict]:
    """What the deploy workflow's preflight (verify/preflight.py) reads
    (``config.pipeline_contract.PREFLIGHT_READS``, the deploy role's rows),
    in every region, as ``verify_statements``: the engine versions and the
    Elastic IP quota and addresses on ``"*"`` (neither RDS
    DescribeDBEngineVersions nor EC2's Describe calls take a resource:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonrds.html,
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazonec2.html),
    and the load balancers' certificate, which the stacks only name by ARN
    (ACM DescribeCertificate on that certificate alone:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscertificatemanager.html).
    The person-only reads (the baseline's, IAM GetRole) are not granted here."""
    statements = [
        {
            "Sid": "PreflightReads",
            "Effect": "Allow",
            "Action": list(preflight_actions(ANY_RESOURCE, deploy_role=True)),
            "Resource": "*",
        }
    ]
    if env.load_balancer.certificate_arn is not None:
        statements.append(
            {
                "Sid": "PreflightReadsTheCertificate",
                "Effect": "Allow",
                "Action": list(preflight_actions(CERTIFICATE, deploy_role=True)),
                "Resource": env.load_balancer.certificate_arn,
            }
        )
    return statements


def verify_statements(props: PipelineRolesProps) -> list[dict]:
    """What ``make verify`` reads after the deploy job's apply
    (``config.pipeline_contract.VERIFY_READS``, docs/verify.md
    "Permissions"), one statement per resource scope, in every region (a
    read; the security topic may live in the baseline owner's region).
    ``Resource "*"``: CloudWatch GetMetricData takes no resource
    (https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/permissions-reference-cw.html),
    nor do the listings (ListDetectors, ListAnalyzers, DescribeTrails,
    DescribeVpcEndpoints, the Config status calls); the rest read the
    configuration and status of what the stacks declare, as the plan
    role's ``ReadConfiguration`` does on ``*``. Narrowed where it means
    something: the simulator's policy sources (SimulatePrincipalPolicy
    takes a role, user or group as its resource:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_awsidentityandaccessmanagementiam.html)
    and the access-log bucket's listing (object keys; s3:ListBucket is
    bucket-scoped:
    https://docs.aws.amazon.com/service-authorization/latest/reference/list_amazons3.html).
    No Deny of ``deploy_statements`` names a read (tests/test_verify_permissions.py).
    """
    env = props.environment
    account = f"arn:{props.partition}:iam::{props.account_id}"
    scopes = {
        ANY_RESOURCE: ("VerifyReads", "*"),
        SIMULATED_ROLES: (
            "VerifySimulatesTheEnvironmentsRoles",
            sorted({f"{account}:role/{env.prefix}-*", f"{account}:role/{env.deploy_role}"}),
        ),
    }
    if env.load_balancer.access_logs:
        bucket = alb_access_log_bucket_name(env, props.account_id)
        scopes[ACCESS_LOG_BUCKET] = (
            "VerifyListsTheAccessLogBucket",
            f"arn:{props.partition}:s3:::{bucket}",
        )
    return [
        {"Sid": sid, "Effect": "Allow", "Action": list(verify_actions(scope)), "Resource": where}
        for scope, (sid, where) in scopes.items()
    ]


def deploy_statements(props: PipelineRolesProps) -> list[dict]:
    """Manages every type the pipeline-applied stacks declare, in the
    environment's regions; IAM only on the environment's roles and only
    with the boundary; never the pipeline's own identities, the boundary,
    the release role's trust, key policies, the audit trail and detection,
    or a secret's value (docs/decisions.md D49)."""
    env = props.environment
    account = f"arn:{props.partition}:iam::{props.account_id}"
    regions = sorted({env.region, env.backend_region, env.backup.copy_region or env.region})
    regional = sorted(
        f"{svc}:{action}"
        for svc in READ_ACTIONS
        if svc not in GLOBAL_SERVICES and svc not in BASELINE_SERVICES
        for action in MANAGE_ACTIONS.get(svc, ("*",))
    )
    pipeline_identities = [
        f"{account}:role/{env.plan_role}",
        f"{account}:role/{env.deploy_role}",
        f"{account}:oidc-provider/{GITHUB_OIDC_HOST}",
    ]
    roles = f"{account}:role/{env.prefix}-*"
    boundary = {"StringEquals": {"iam:PermissionsBoundary": props.boundary_arn}}
    buckets = [f"arn:{props.partition}:s3:::{name}" for name in props.protected_bucket_names]
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
            # Plans of the baseline stack read them; only a person writes.
            "Sid": "ReadTheBaselinesServices",
            "Effect": "Allow",
            "Action": sorted(f"{svc}:{a}" for svc in BASELINE_SERVICES for a in READ_ACTIONS[svc]),
            "Resource": "*",
        },
        {
            "Sid": "CloudMapPrivateDnsZones",
            "Effect": "Allow",
            "Action": list(CLOUD_MAP_DNS_ACTIONS),
            "Resource": "*",
        },
        *preflight_statements(env),
        *verify_statements(props),
        {
            "Sid": "ReadIam",
            "Effect": "Allow",
            "Action": ["iam:Get*", "iam:List*"],
            "Resource": "*",
        },
        {
            # The stacks name every role payment-<env>-...; a role is
            # created, and its permissions changed, only with the boundary.
            "Sid": "ChangeRolesOnlyWithTheBoundary",
            "Effect": "Allow",
            "Action": list(BOUNDED_ROLE_WRITES),
            "Resource": roles,
            "Condition": boundary,
        },
        {
            "Sid": "AttachOnlyAllowedPoliciesToBoundedRoles",
            "Effect": "Allow",
            "Action": "iam:AttachRolePolicy",
            "Resource": roles,
            "Condition": {
                **boundary,
                "ArnEquals": {
                    "iam:PolicyARN": [
                        f"arn:{props.partition}:iam::aws:policy/{name}"
                        for name in ATTACHABLE_MANAGED_POLICIES
                    ]
                },
            },
        },
        {
            "Sid": "ManageTheEnvironmentsRoles",
            "Effect": "Allow",
            "Action": list(ROLE_WRITES),
            "Resource": roles,
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
            "Resource": [*pipeline_identities, props.boundary_arn],
        },
        {
            # A boundary once set stays: removing it would unbound the role.
            "Sid": "NeverRemoveABoundary",
            "Effect": "Deny",
            "Action": "iam:DeleteRolePermissionsBoundary",
            "Resource": "*",
        },
        {
            # Who may release is decided in the bootstrap review, not by a
            # merged pull request: no new trust, and no delete and re-create
            # with another one. A person creates it on the first apply.
            "Sid": "NeverChangeTheReleaseRolesTrust",
            "Effect": "Deny",
            "Action": ["iam:CreateRole", "iam:DeleteRole", "iam:UpdateAssumeRolePolicy"],
            "Resource": f"{account}:role/{props.release_role_name}",
        },
        # No re-trusted workload role assumed, no task run or container
        # entered outside a service, no ECS role handed to another service
        # (D75): each would read the secrets an execution role is named for.
        *no_role_takeover_statements(env, props.partition, props.account_id),
        *restore_validator_statements(env, props.partition, props.account_id),
        {
            "Sid": "NeverBlindTheAuditTrail",
            "Effect": "Deny",
            "Action": sorted(
                f"{svc}:{a}" for svc, actions in AUDIT_TAMPERING_ACTIONS.items() for a in actions
            ),
            "Resource": "*",
        },
        {
            # The baseline's alerts on exactly these calls (D52): the
            # pipeline cannot silence the alarm before it tampers.
            "Sid": "NeverSilenceTheSecurityAlerts",
            "Effect": "Deny",
            "Action": list(SECURITY_ALERT_WRITES),
            "Resource": security_alert_resources(props.partition, props.account_id),
        },
        {
            "Sid": "NeverKeysUnmaskingOrSecretValues",
            "Effect": "Deny",
            "Action": list(PIPELINE_NEVER_ACTIONS),
            "Resource": "*",
        },
        {
            "Sid": "NeverReconfigureThePeoplesBuckets",
            "Effect": "Deny",
            "Action": list(BUCKET_CONFIGURATION_WRITES),
            "Resource": buckets,
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
        *access_log_read_deny(env, props.partition, props.account_id),
    ]


def access_log_read_deny(env: EnvironmentConfig, partition: str, account_id: str) -> list[dict]:
    """The pipeline never reads the load balancers' access-log objects: a
    request the web ACL blocked for a card number in its URL is logged there
    in clear (D77), as ``logs:Unmask`` keeps it from masked log events. None
    without access logs."""
    if not env.load_balancer.access_logs:
        return []
    bucket = alb_access_log_bucket_name(env, account_id)
    return [
        {
            "Sid": "NeverReadTheAccessLogObjects",
            "Effect": "Deny",
            "Action": ["s3:GetObject", "s3:GetObjectVersion"],
            "Resource": f"arn:{partition}:s3:::{bucket}/*",
        }
    ]


def boundary_statements(env: EnvironmentConfig) -> list[dict]:
    """The permissions boundary of every role the deploy role creates: the
    services the stacks' roles use, never an identity change, the audit
    trail and detection, key policies and keys, unmasking or secret values.
    A role's own policies narrow it further; a role given more by mistake
    (or by a hostile pull request) still cannot escape it."""
    return [
        {
            # What the workload roles call: the stacks' services and what
            # their code and agents use (X-Ray, ECS Exec's SSM channel, STS
            # for their own identity); tests/test_pipeline_roles.py checks
            # every action of every such role is inside.
            "Sid": "WorkloadServices",
            "Effect": "Allow",
            "Action": sorted(f"{svc}:*" for svc in BOUNDARY_SERVICES),
            "Resource": "*",
        },
        {
            # CodeDeploy and the release role hand the task roles to ECS;
            # no other IAM call (checkov CKV2_AWS_40: no full IAM).
            "Sid": "PassRolesOnly",
            "Effect": "Allow",
            "Action": "iam:PassRole",
            "Resource": "*",
        },
        {
            # iam:PassRole stays (CodeDeploy passes the task roles to ECS).
            "Sid": "NoIdentityChanges",
            "Effect": "Deny",
            "Action": list(IAM_WRITES),
            "Resource": "*",
        },
        # What the deploy role may not do, a role it creates may not either
        # (D75). Partition and account as "*": the boundary names no token.
        *no_role_takeover_statements(env, "*", "*"),
        *restore_validator_statements(env, "*", "*"),
        {
            "Sid": "NoAuditTampering",
            "Effect": "Deny",
            "Action": sorted(
                f"{svc}:{a}" for svc, actions in AUDIT_TAMPERING_ACTIONS.items() for a in actions
            ),
            "Resource": "*",
        },
        {
            "Sid": "NoSilencingTheSecurityAlerts",
            "Effect": "Deny",
            "Action": list(SECURITY_ALERT_WRITES),
            "Resource": security_alert_resources("*", "*"),
        },
        {
            "Sid": "NoKeysUnmaskingOrSecretValues",
            "Effect": "Deny",
            "Action": [*PIPELINE_NEVER_ACTIONS, "kms:CancelKeyDeletion"],
            "Resource": "*",
        },
        {
            # A grant only for an AWS service acting for the role: AWS
            # Backup's copies and RDS need one on the keys; a grant to a
            # principal of the role's choosing is never possible (KMS
            # developer guide, kms:GrantIsForAWSResource).
            "Sid": "GrantsOnlyForAwsServices",
            "Effect": "Deny",
            "Action": "kms:CreateGrant",
            "Resource": "*",
            "Condition": {"BoolIfExists": {"kms:GrantIsForAWSResource": "false"}},
        },
    ]


def plan_subject(env: EnvironmentConfig) -> str:
    """The one OIDC subject the plan role of ``env`` trusts: a production-tier
    plan runs in its own GitHub environment (``config.naming.plan_environment``,
    ``prod-plan``), whose reviewers decide which pull request's code may read
    the production state; other tiers take any pull request's
    ``repo:<owner>/<repo>:pull_request`` (docs/ci.md, D59)."""
    repository = env.pipeline.github_repository
    environment = plan_environment(env)
    if environment is None:
        return pull_request_subject(repository)
    return environment_subject(repository, environment)


class PipelineRoles(Construct):
    """``plan_role`` (trust: ``plan_subject``),
    ``deploy_role`` (trust: ``repo:<owner>/<repo>:environment:<env>``) and
    ``boundary``, the managed policy every role the deploy role creates
    carries (named ``props.boundary_arn``'s last segment)."""

    def __init__(self, scope: Construct, construct_id: str, props: PipelineRolesProps) -> None:
        super().__init__(scope, construct_id)
        env = props.environment
        repository = env.pipeline.github_repository
        self.boundary = aws.iam_policy.IamPolicy(
            self,
            "workload-boundary",
            name=props.boundary_arn.rsplit("/", 1)[-1],
            description=f"Permissions boundary of every role the {env.prefix} stacks create",
            policy=iam.document(*boundary_statements(env)),
        )
        self.plan_role = self._role(
            "plan",
            name=env.plan_role,
            description=f"Plans {env.prefix} in pull requests of {repository} (read-only)",
            session_seconds=3600,
            trust=web_identity_trust(props.provider_arn, plan_subject(env)),
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
