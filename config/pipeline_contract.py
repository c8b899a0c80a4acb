"""The deploy role's contracts with `make verify`: its bounded role writes
(docs/decisions.md D49, D61) and the reads verify and preflight make with
it (D67).

The deploy role may call ``BOUNDED_ROLE_WRITES`` only on roles that carry
the configured permissions boundary. modules/pipeline_roles.py grants them
with that condition; ``make verify`` (verify/checks/iam.py) proves live,
with the IAM policy simulator, that they are denied without it.
``VERIFY_READS`` is every call ``make verify`` makes; the deploy role's
policy grants exactly those in one statement per resource scope. The
``PREFLIGHT_READS`` is every call ``make preflight`` (verify/preflight.py)
makes, each marked with whether the deploy workflow's run makes it. The
contracts live here, below both, so neither imports the other
(tests/test_layering.py).
"""

from __future__ import annotations

from dataclasses import dataclass

#: What Terraform calls to create a role and change its permissions: only
#: with the environment's boundary (``iam:PermissionsBoundary``: the new
#: role's, or the existing role's; IAM user guide, "Permissions boundaries
#: for IAM entities", delegating example). AttachRolePolicy also needs an
#: allowed policy (modules/pipeline_roles.py ATTACHABLE_MANAGED_POLICIES).
BOUNDED_ROLE_WRITES = (
    "iam:CreateRole",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:PutRolePermissionsBoundary",
    "iam:PutRolePolicy",
)


#: Resource scopes of ``VERIFY_READS`` (modules/pipeline_roles.py
#: ``verify_statements`` turns each into ARNs).
ANY_RESOURCE = "*"
#: ``role/<prefix>-*`` and the deploy role: the CodeDeploy role
#: (``iam.pass-role``) and the deploy role (``iam.boundary``) are the policy
#: sources simulated.
SIMULATED_ROLES = "simulated-roles"
#: The load balancers' access-log bucket (``alb.access-logs``).
ACCESS_LOG_BUCKET = "access-log-bucket"
#: The load balancers' certificate (``load_balancer.certificate_arn``;
#: preflight only, modules/pipeline_roles.py ``preflight_statements``).
CERTIFICATE = "certificate"


@dataclass(frozen=True)
class VerifyRead:
    """One AWS call ``python -m verify`` makes with the caller's credentials
    (the deploy role in the deploy workflow): the boto3 client and botocore
    operation name, the IAM action that authorizes it (Service Authorization
    Reference, https://docs.aws.amazon.com/service-authorization/latest/reference/),
    and the resource scope the deploy role is granted it on."""

    client: str
    operation: str
    action: str
    scope: str = ANY_RESOURCE


#: Every call of ``python -m verify`` (verify/checks/*.py through
#: ``Context.call``/``Context.paginate``), but the ``plan-reads`` group: its
#: reads are the plan role's, made with its credentials (D61; the deploy
#: workflow runs ``--skip plan-reads``). Not here either: STS
#: GetCallerIdentity (verify/cli.py), which needs no permission (STS API
#: reference, https://docs.aws.amazon.com/STS/latest/APIReference/API_GetCallerIdentity.html),
#: and preflight's reads (verify/preflight.py: the deploy role's own services
#: and ``PREFLIGHT_READS`` below).
#: tests/test_verify_permissions.py keeps this equal to the calls verify
#: makes, to the deploy role's policy and to docs/verify.md "Permissions".
#: Where the action differs from the operation, the row says why.
VERIFY_READS: tuple[VerifyRead, ...] = (
    # ListFindingsV2 is authorized by access-analyzer:ListFindings (API
    # reference: https://docs.aws.amazon.com/access-analyzer/latest/APIReference/API_ListFindingsV2.html).
    VerifyRead("accessanalyzer", "ListAnalyzers", "access-analyzer:ListAnalyzers"),
    VerifyRead("accessanalyzer", "ListFindingsV2", "access-analyzer:ListFindings"),
    VerifyRead("backup", "DescribeBackupVault", "backup:DescribeBackupVault"),
    VerifyRead("backup", "GetRestoreTestingPlan", "backup:GetRestoreTestingPlan"),
    VerifyRead(
        "backup", "ListRecoveryPointsByBackupVault", "backup:ListRecoveryPointsByBackupVault"
    ),
    VerifyRead("backup", "ListRecoveryPointsByResource", "backup:ListRecoveryPointsByResource"),
    VerifyRead("backup", "ListRestoreJobs", "backup:ListRestoreJobs"),
    VerifyRead("cloudtrail", "DescribeTrails", "cloudtrail:DescribeTrails"),
    VerifyRead("cloudtrail", "GetTrailStatus", "cloudtrail:GetTrailStatus"),
    VerifyRead("cloudwatch", "DescribeAlarms", "cloudwatch:DescribeAlarms"),
    VerifyRead("cloudwatch", "GetMetricData", "cloudwatch:GetMetricData"),
    VerifyRead("codedeploy", "BatchGetDeployments", "codedeploy:BatchGetDeployments"),
    VerifyRead("codedeploy", "ListDeployments", "codedeploy:ListDeployments"),
    VerifyRead(
        "config",
        "DescribeConfigurationRecorderStatus",
        "config:DescribeConfigurationRecorderStatus",
    ),
    VerifyRead("config", "DescribeDeliveryChannelStatus", "config:DescribeDeliveryChannelStatus"),
    VerifyRead("ec2", "DescribeVpcEndpoints", "ec2:DescribeVpcEndpoints"),
    VerifyRead("ecs", "DescribeServices", "ecs:DescribeServices"),
    VerifyRead("ecs", "DescribeTasks", "ecs:DescribeTasks"),
    VerifyRead("ecs", "ListTasks", "ecs:ListTasks"),
    VerifyRead("guardduty", "GetDetector", "guardduty:GetDetector"),
    VerifyRead("guardduty", "ListCoverage", "guardduty:ListCoverage"),
    VerifyRead("guardduty", "ListDetectors", "guardduty:ListDetectors"),
    VerifyRead("iam", "GetRole", "iam:GetRole"),
    VerifyRead(
        "iam", "SimulatePrincipalPolicy", "iam:SimulatePrincipalPolicy", scope=SIMULATED_ROLES
    ),
    VerifyRead("kms", "DescribeKey", "kms:DescribeKey"),
    VerifyRead("kms", "GetKeyPolicy", "kms:GetKeyPolicy"),
    VerifyRead("logs", "GetDataProtectionPolicy", "logs:GetDataProtectionPolicy"),
    VerifyRead("rds", "DescribeDBClusterParameters", "rds:DescribeDBClusterParameters"),
    VerifyRead("rds", "DescribeDBClusters", "rds:DescribeDBClusters"),
    VerifyRead("rds", "DescribeDBInstances", "rds:DescribeDBInstances"),
    VerifyRead("rds", "DescribeDBParameters", "rds:DescribeDBParameters"),
    # ListObjectsV2 is authorized by s3:ListBucket (S3 API reference,
    # ListObjectsV2, "Permissions":
    # https://docs.aws.amazon.com/AmazonS3/latest/API/API_ListObjectsV2.html).
    VerifyRead("s3", "ListObjectsV2", "s3:ListBucket", scope=ACCESS_LOG_BUCKET),
    VerifyRead("secretsmanager", "GetResourcePolicy", "secretsmanager:GetResourcePolicy"),
    VerifyRead("securityhub", "GetEnabledStandards", "securityhub:GetEnabledStandards"),
    VerifyRead("sns", "GetTopicAttributes", "sns:GetTopicAttributes"),
)


def verify_actions(scope: str | None = None) -> tuple[str, ...]:
    """The IAM actions of ``VERIFY_READS`` (of one ``scope``; None: all), sorted, once each."""
    return tuple(sorted({r.action for r in VERIFY_READS if scope in (None, r.scope)}))


@dataclass(frozen=True)
class PreflightRead(VerifyRead):
    """One AWS call ``python -m verify.preflight`` makes; ``deploy_role``:
    the deploy workflow's run makes it too (False: only a person's run,
    whose checks the deploy role's session skips before any read)."""

    deploy_role: bool = True


#: Every call of ``python -m verify.preflight`` (``ctx.call``/``ctx.paginate``
#: and the clients it uses directly), but STS GetCallerIdentity (no
#: permission, above). The deploy role makes the engine version, certificate
#: and Elastic IP reads; the key-administrator check (IAM GetRole) and the
#: baseline check (the owner's state object, then a listing per control) are
#: a person's: as the deploy role each is not applicable before it reads
#: (D42, D49). tests/test_verify_permissions.py keeps this equal to the
#: calls preflight makes, the deploy role's rows to its policy, and the
#: list to docs/cli.md "Preflight"; tests/test_preflight.py runs every
#: check as the deploy role and records its calls.
PREFLIGHT_READS: tuple[PreflightRead, ...] = (
    PreflightRead(
        "accessanalyzer", "ListAnalyzers", "access-analyzer:ListAnalyzers", deploy_role=False
    ),
    PreflightRead("acm", "DescribeCertificate", "acm:DescribeCertificate", scope=CERTIFICATE),
    PreflightRead("cloudtrail", "DescribeTrails", "cloudtrail:DescribeTrails", deploy_role=False),
    PreflightRead(
        "config",
        "DescribeConfigurationRecorders",
        "config:DescribeConfigurationRecorders",
        deploy_role=False,
    ),
    PreflightRead(
        "config", "DescribeDeliveryChannels", "config:DescribeDeliveryChannels", deploy_role=False
    ),
    PreflightRead("ec2", "DescribeAccountAttributes", "ec2:DescribeAccountAttributes"),
    PreflightRead("ec2", "DescribeAddresses", "ec2:DescribeAddresses"),
    PreflightRead("guardduty", "ListDetectors", "guardduty:ListDetectors", deploy_role=False),
    PreflightRead("iam", "GetRole", "iam:GetRole", deploy_role=False),
    PreflightRead("logs", "DescribeLogGroups", "logs:DescribeLogGroups", deploy_role=False),
    PreflightRead("rds", "DescribeDBEngineVersions", "rds:DescribeDBEngineVersions"),
    # The baseline owner's state object (verify/preflight.py baseline_state).
    PreflightRead("s3", "GetObject", "s3:GetObject", deploy_role=False),
    PreflightRead("securityhub", "DescribeHub", "securityhub:DescribeHub", deploy_role=False),
)


def preflight_actions(scope: str | None = None, deploy_role: bool | None = None) -> tuple[str, ...]:
    """The IAM actions of ``PREFLIGHT_READS`` (of one ``scope``, of the deploy
    role's run or a person's only; None: all), sorted, once each."""
    return tuple(
        sorted(
            {
                r.action
                for r in PREFLIGHT_READS
                if scope in (None, r.scope) and deploy_role in (None, r.deploy_role)
            }
        )
    )
