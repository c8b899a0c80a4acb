"""The configuration's types: frozen, keyword-only dataclasses, the
vocabulary their fields use (tiers, severities, baseline controls, vault lock
modes) and ``ConfigError``. Values only; the rules that judge them live in
``config.model.validation``.
"""

from __future__ import annotations

import dataclasses
import typing
from collections.abc import Iterable
from dataclasses import dataclass, field, fields, is_dataclass

#: Policy follows the tier an environment declares, never its name: a
#: production-tier environment gets every production rule (configuration,
#: contract rules, checkov exceptions) whatever it is called.
PRODUCTION = "production"


NON_PRODUCTION = "non-production"


TIERS = (PRODUCTION, NON_PRODUCTION)


#: ECR's image scan finding severities, most severe first
#: (ImageScanFindings.findingSeverityCounts keys).
FINDING_SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", "UNDEFINED")


#: Severities a production-tier release always refuses unless accepted with a
#: reason: PCI DSS 11.3.1 has high-risk and critical vulnerabilities resolved
#: (docs/release.md, "Trusting a release").
PRODUCTION_BLOCKING_SEVERITIES = ("CRITICAL", "HIGH")


class ConfigError(ValueError):
    """One or more configuration values are not allowed.

    ``problems`` holds one message per bad field; ``str()`` joins them.
    """

    def __init__(self, problems: Iterable[str]):
        self.problems = tuple(problems)
        if len(self.problems) == 1:
            super().__init__(f"invalid configuration: {self.problems[0]}")
        else:
            super().__init__(
                "invalid configuration:\n" + "\n".join(f"  - {p}" for p in self.problems)
            )


@dataclass(frozen=True, kw_only=True)
class CustomScalingMetric:
    """A metric the service publishes itself and scales on (target tracking).

    ``namespace``/``name``: where the service publishes it, with dimension
    ``ServiceName=<service>``: the service's total (a queue depth), divided
    by its running tasks for scaling and the alarm. ``target_value``: the
    per-task value to hold. ``statistic``: how CloudWatch aggregates it
    (Average, Sum, Maximum...); Sum when every task publishes its own count.
    """

    namespace: str
    name: str
    target_value: float
    statistic: str = "Average"
    #: Alarm when the metric per running task stays above this for 3 periods
    #: (None: 2x target).
    alarm_threshold: float | None = None


_Config = typing.TypeVar("_Config")


def override(value: _Config, **changes: object) -> _Config:
    """A copy of a configuration value (``ServiceConfig``, ``DatabaseConfig``,
    any of these frozen dataclasses) with ``changes``: the one way to change
    fields for one environment, e.g. a service's CPU and memory::

        services=tuple(
            override(svc, cpu=1024, memory_mib=2048) if svc.name == "payment-api" else svc
            for svc in _services(scale=1, spot=True)
        )

    A name that is not a field of the value is refused with the fields it has
    (``ConfigError``); the copy is validated with everything else at load."""
    if not is_dataclass(value) or isinstance(value, type):
        raise ConfigError([f"override: {value!r} is not a configuration value"])
    known = [f.name for f in fields(value) if f.init]
    unknown = sorted(set(changes) - set(known))
    if unknown:
        raise ConfigError(
            [
                f"override: {type(value).__name__} has no field {name!r}; "
                f"fields: {', '.join(known)}"
                for name in unknown
            ]
        )
    return dataclasses.replace(value, **changes)


@dataclass(frozen=True, kw_only=True)
class ServiceConfig:
    """One containerised service behind a load balancer, released blue/green."""

    name: str
    #: Container port the app listens on (also the target group port).
    port: int
    #: Fargate task size; must be a supported cpu/memory pair.
    cpu: int
    memory_mib: int
    desired_count: int
    min_count: int
    max_count: int
    #: True: behind the internet-facing ALB. False: behind the internal ALB.
    public: bool
    #: Path prefix routed to this service, e.g. ``/payments``.
    path_prefix: str
    #: Priority of its listener rules (production and test listener), 1-50000,
    #: unique among the services on the same load balancer (public: the
    #: internet-facing one; otherwise the internal one). Given here, never
    #: taken from list order: inserting a service must not renumber the rules
    #: of the others. Leave gaps (10, 20, ...) for manual rules in an incident.
    listener_priority: int
    health_check_path: str = "/health"
    #: Run part of the capacity on FARGATE_SPOT: FARGATE keeps a base of
    #: ``on_demand_base`` tasks and takes one share of the rest, FARGATE_SPOT
    #: ``spot_weight`` shares (the original design: base 1, 1:4). A change
    #: reaches a running service with its next release (AppSpec).
    use_spot: bool = False
    spot_weight: int = 4
    on_demand_base: int = 1
    #: Names of application secrets (EnvironmentConfig.secrets) it may read.
    secrets: tuple[str, ...] = ()
    #: Whether its tasks may open connections to the database.
    uses_database: bool = False
    #: Tag of the image in its ECR repository used at service creation.
    image_tag: str = "bootstrap"
    #: Let operators open a shell with ECS Exec (audited, KMS-encrypted).
    #: Create-time on a CODE_DEPLOY service (docs/services.md, "Create-time
    #: settings"): a change applies when the service is re-created.
    enable_execute_command: bool = False
    #: Fargate platform version, pinned: ECS reports the resolved version of
    #: "LATEST" (containers-roadmap #2840), and on a CODE_DEPLOY service it
    #: changes only through a CodeDeploy deployment, so every release's
    #: AppSpec carries this value (docs/decisions.md D20).
    platform_version: str = "1.4.0"
    #: A metric the service publishes and scales on; None: no custom scaling.
    custom_metric: CustomScalingMetric | None = None
    #: Target for CPU / memory utilisation (percent) and requests per target.
    cpu_target_percent: float = 60.0
    memory_target_percent: float = 70.0
    requests_per_target: int = 500


@dataclass(frozen=True, kw_only=True)
class DatabaseConfig:
    """Aurora Serverless v2 PostgreSQL."""

    engine_version: str = "16.6"
    min_capacity_acu: float = 0.5
    max_capacity_acu: float = 4.0
    #: Seconds of idleness before pausing (0 ACU); None disables auto-pause.
    auto_pause_seconds: int | None = None
    #: Readers in addition to the writer, each in another AZ.
    reader_count: int = 1
    backup_retention_days: int = 7
    deletion_protection: bool = True
    database_name: str = "payments"
    master_username: str = "payments_admin"
    #: Set True only for the apply that performs a major version upgrade
    #: (docs/data-and-secrets.md §3.5); otherwise the cluster ignores
    #: engine_version, which RDS raises with automatic minor upgrades.
    major_version_upgrade: bool = False


@dataclass(frozen=True, kw_only=True)
class LoadBalancerConfig:
    """Listeners of the ALBs."""

    #: ACM certificate for HTTPS. None means plain HTTP (needs allow_plain_http).
    certificate_arn: str | None = None
    #: The DNS names clients reach the load balancers by (records kept
    #: outside this repository), e.g. ``("api.example.com",)``: the preflight
    #: checks that the certificate covers each (docs/cli.md, "Preflight").
    #: Empty: which names it must cover is not checked.
    domain_names: tuple[str, ...] = ()
    #: Explicit opt-in to plain HTTP listeners; refused in the production tier.
    allow_plain_http: bool = False
    #: Port of the test listener CodeDeploy uses before shifting traffic.
    test_listener_port: int = 8443
    #: Public ranges (CI runners', VPN egress) that may call the internet-
    #: facing ALB's test listener, which clients reach on its public
    #: addresses; private ranges are refused. The VPC's NAT gateway addresses
    #: are always admitted (in-VPC test hooks leave through them), and the
    #: internal ALB's test listener admits the VPC (docs/services.md).
    test_listener_cidrs: tuple[str, ...] = ()
    #: Internet-facing ALB ingress (production listener).
    public_ingress_cidrs: tuple[str, ...] = ("0.0.0.0/0",)
    deletion_protection: bool = False
    access_logs: bool = False
    waf: bool = False
    idle_timeout_seconds: int = 60
    deregistration_delay_seconds: int = 30


@dataclass(frozen=True, kw_only=True)
class DeploymentConfig:
    """How CodeDeploy shifts traffic between the blue and green task sets."""

    config_name: str = "CodeDeployDefault.ECSAllAtOnce"
    #: Minutes the old (blue) tasks keep running after a successful shift.
    terminate_blue_after_minutes: int = 5
    #: Roll back automatically when a service health alarm fires.
    rollback_on_alarm: bool = False


@dataclass(frozen=True, kw_only=True)
class AlarmConfig:
    """Thresholds of the CloudWatch alarms (every alarm and its threshold field:
    docs/observability.md, "The alarms")."""

    #: Who hears about alarms and failed deployments: e-mail subscriptions of
    #: the alarm topic. Required in the production tier and wherever
    #: ``deployment.rollback_on_alarm`` stops releases (docs/decisions.md D51).
    emails: tuple[str, ...] = ()
    #: Elsewhere, no address only with a reason said here (e.g. "dev: read
    #: on the dashboard"); refused next to addresses and where they are
    #: required.
    unsubscribed_reason: str | None = None
    alb_5xx_rate_percent: float = 5.0
    target_5xx_rate_percent: float = 5.0
    #: A colour (blue or green task set) failing more than this share of its
    #: requests in one minute rolls a release back at once (docs/decisions.md D44).
    failing_colour_percent: float = 10.0
    p99_latency_seconds: float = 2.0
    cpu_percent: float = 85.0
    memory_percent: float = 85.0
    db_cpu_percent: float = 80.0
    db_acu_utilization_percent: float = 90.0
    db_connections: int = 400
    evaluation_periods: int = 3
    period_seconds: int = 60


#: IAM Identity Center names the role of a permission set
#: ``aws-reserved/sso.amazonaws.com/<region>/AWSReservedSSO_<set>_<suffix>``,
#: without ``<region>/`` when the identity source is in us-east-1 (IAM
#: Identity Center user guide, "Referencing permission sets in resource
#: policies, Amazon EKS Cluster config maps, and AWS KMS key policies",
#: https://docs.aws.amazon.com/singlesignon/latest/userguide/referencingpermissionsets.html).
KEY_POLICY_ADMINISTRATOR_SSO = (
    "aws-reserved/sso.amazonaws.com/*/AWSReservedSSO_PaymentPlatformAdministrator_*",
    "aws-reserved/sso.amazonaws.com/AWSReservedSSO_PaymentPlatformAdministrator_*",
)


@dataclass(frozen=True, kw_only=True)
class AccessConfig:
    """IAM roles of the environment's account that key and secret policies
    and the release role name (PCI DSS 3.6.1, 7.2.2; docs/pci-responsibility.md). The roles
    are the customer's (organization baseline or identity center); policies
    match them by ARN with ``aws:PrincipalArn``, so they need not exist when
    the policies are written. Names, not ARNs: the account is the
    environment's.
    """

    #: Runs Terraform for this environment: may change secret policies,
    #: never key policies (it creates no key, D49). None: ``payment-<env>-deploy`` (``EnvironmentConfig.deploy_role``;
    #: the release tool's trusted base registrations name the same role).
    deploy_role_name: str | None = None
    #: Administer keys (describe, tag, rotate, enable), never use them,
    #: never change their policies.
    key_administrator_role_names: tuple[str, ...] = ("payment-key-administrator",)
    #: The people who apply stacks by hand (docs/decisions.md D42: the
    #: bootstrap and baseline stacks, a first apply of the others): IAM role
    #: path and name patterns (``*``, ``?`` allowed; the account is the
    #: environment's), matched against ``aws:PrincipalArn``. Key policies
    #: let them, besides the break-glass role and the root user (never the
    #: deploy role, D49), change policies and delete keys: KMS refuses CreateKey and
    #: PutKeyPolicy to a caller the new policy would lock out (D46). The
    #: default matches the Identity Center permission set
    #: ``PaymentPlatformAdministrator`` in any region (KEY_POLICY_ADMINISTRATOR_SSO).
    key_policy_administrator_role_patterns: tuple[str, ...] = KEY_POLICY_ADMINISTRATOR_SSO
    #: Emergency access: may change or delete key and secret policies.
    break_glass_role_name: str = "payment-break-glass"
    #: May set secret values and change secret policies.
    secret_administrator_role_names: tuple[str, ...] = ("payment-secret-administrator",)
    #: Named roles or users (ARNs, no wildcard, never an account's root)
    #: that may assume the release role besides the release workflow's job
    #: and the break-glass role; empty: nobody else (D52).
    release_principal_arns: tuple[str, ...] = ()


#: AWS Backup Vault Lock modes (docs/backup.md): ``compliance`` locks the
#: vault for good once ``lock_changeable_for_days`` have passed (nobody, not
#: even the root user, can delete a recovery point early or remove the lock);
#: ``governance`` can be removed by a principal allowed to call
#: DeleteBackupVaultLockConfiguration.
VAULT_LOCK_COMPLIANCE = "compliance"


VAULT_LOCK_GOVERNANCE = "governance"


VAULT_LOCK_MODES = (VAULT_LOCK_COMPLIANCE, VAULT_LOCK_GOVERNANCE)


#: Vault Lock compliance mode: the grace time is at least 3 days
#: (PutBackupVaultLockConfiguration ChangeableForDays).
MIN_LOCK_CHANGEABLE_DAYS = 3


#: The restore test's default check: the application's tables (PostgreSQL's
#: default schema ``public``); an empty or wrong database has none.
DEFAULT_RESTORE_CHECK_SQL = (
    "SELECT count(*) FROM information_schema.tables "
    "WHERE table_schema = 'public' AND table_type = 'BASE TABLE'"
)


@dataclass(frozen=True, kw_only=True)
class BackupConfig:
    """Recovery objectives of the environment's database and the AWS Backup
    set-up that keeps them (docs/backup.md, docs/decisions.md D48).

    Continuous backup (point-in-time) keeps ``database.backup_retention_days``
    (1-35); AWS Backup then manages the cluster's own retention.
    """

    #: Most data (minutes) a restore may lose. Continuous backup restores to
    #: within about 5 minutes of the failure, so at least 5. In the second
    #: region the copies are daily: docs/backup.md states that figure.
    rpo_minutes: int = 15
    #: Longest time (minutes) from the decision to restore until the services
    #: run on the restored database (docs/recovery.md's steps add up to it).
    rto_minutes: int = 240
    #: Days a daily recovery point (and its copy) is kept.
    retention_days: int = 35
    #: Region of the copy vault (its own key there). None: no copy
    #: (refused in the production tier).
    copy_region: str | None = None
    #: Another account that also receives each daily copy, into a vault of
    #: the same name in ``copy_region`` that account creates (cross-account
    #: copy needs AWS Organizations' opt-in). None: no second account.
    copy_account_id: str | None = None
    #: ``compliance`` (required in the production tier) or ``governance``.
    vault_lock_mode: str = VAULT_LOCK_GOVERNANCE
    #: Compliance mode only: days until the lock becomes immutable (>= 3).
    lock_changeable_for_days: int = MIN_LOCK_CHANGEABLE_DAYS
    #: When the restore test runs (EventBridge cron or rate expression, UTC).
    restore_test_schedule: str = "cron(0 5 ? * SUN *)"
    #: Hours the restored copy may be checked before AWS Backup deletes it.
    restore_test_validation_hours: int = 4
    #: The query the restore validator runs on the restored copy (through
    #: the RDS Data API, as the copy's master user, in
    #: ``database.database_name``; docs/backup.md, D76): one read-only
    #: SELECT (or WITH) statement whose first value is a number. Left out:
    #: the number of tables in the application's schema (``public``).
    restore_check_sql: str = DEFAULT_RESTORE_CHECK_SQL
    #: The least value of ``restore_check_sql`` that passes (at least 1: an
    #: empty database must fail). Left out: 1.
    restore_check_minimum: int = 1


#: Stand-in until the real repository is configured. Its owner is longer than
#: GitHub allows (39), so no GitHub account can ever hold it and no workflow
#: can assume the roles while it is in place (dev and staging have no
#: account id to stop a deployment, unlike the placeholder account).
PLACEHOLDER_GITHUB_REPOSITORY = "replace-with-your-github-organization-name/payment-platform"


@dataclass(frozen=True, kw_only=True)
class PipelineConfig:
    """The identities the CI pipeline assumes in the environment's account
    (docs/ci.md), created by the bootstrap stack: the account's GitHub OIDC
    provider, the plan role (pull requests) and the deploy role
    (``EnvironmentConfig.deploy_role``: its name stays in ``access``, where
    key and secret policies read it)."""

    #: The repository whose workflows assume the roles, ``owner/repo``
    #: exactly (no wildcards). Left out: PLACEHOLDER_GITHUB_REPOSITORY,
    #: listed by ``placeholders`` until replaced.
    github_repository: str = PLACEHOLDER_GITHUB_REPOSITORY
    #: Read-only role of pull-request plans. None: ``payment-<env>-plan``.
    plan_role_name: str | None = None
    #: An account has one OIDC provider per URL: True, this environment's
    #: bootstrap creates GitHub's; False, it exists already (another
    #: environment of the same account creates it, or the organization) and
    #: the bootstrap looks it up by URL. Environments with the same
    #: ``account_id`` must not both create it.
    creates_github_oidc_provider: bool = True


@dataclass(frozen=True, kw_only=True)
class ReleaseConfig:
    """What ``python -m release`` accepts (docs/release.md, "Trusting a
    release"). Whether the findings refuse the release or only warn follows
    the tier: the production tier refuses them unless accepted with a reason
    (``--accept-findings``), other tiers warn."""

    #: Scan finding severities that block a release (FINDING_SEVERITIES);
    #: CRITICAL always, HIGH too in the production tier.
    blocking_severities: tuple[str, ...] = ("CRITICAL",)
    #: Minutes to wait for ECR's scan of the released digest (ECR scans on
    #: push); ``--scan-wait-minutes`` overrides it for one release.
    scan_wait_minutes: float = 10.0


#: Who runs the account-level security baseline (CloudTrail, GuardDuty,
#: AWS Config, Security Hub, the ``RDSOSMetrics`` log group) of an account
#: and region (docs/pci-responsibility.md, docs/decisions.md D35).
THIS_REPOSITORY = "this_repository"


PROVIDED_BY_ORGANIZATION = "provided_by_organization"


SECURITY_BASELINE_PROVIDERS = (THIS_REPOSITORY, PROVIDED_BY_ORGANIZATION)


#: Finding severities, lowest first, as Security Hub labels them (ASFF
#: ``Severity.Label``); GuardDuty's numeric severity of each is its
#: lower bound (modules/security_alerts.py ``GUARDDUTY_SEVERITY_FLOORS``).
FINDING_ALERT_SEVERITIES = ("LOW", "MEDIUM", "HIGH", "CRITICAL")


#: The baseline's controls, each provided by this repository or the
#: organization (``SecurityBaselineConfig``): the trail of management
#: events, GuardDuty, the AWS Config recorder and delivery channel, Security
#: Hub, the ``RDSOSMetrics`` log group (with the audit CMK), the data
#: events of the Terraform state buckets (docs/decisions.md D50), and IAM
#: Access Analyzer's external access analyzer with the account as zone of
#: trust (D66).
BASELINE_CONTROLS = (
    "trail",
    "guardduty",
    "config_recorder",
    "security_hub",
    "access_analyzer",
    "rds_os_metrics",
    "state_data_events",
)


#: Controls an organization baseline rarely provides: this repository keeps
#: them unless their own field says otherwise, whatever ``provided_by`` says.
KEPT_UNLESS_PROVIDED = ("rds_os_metrics", "state_data_events")


@dataclass(frozen=True, kw_only=True)
class SecurityBaselineConfig:
    """The account-level baseline of the environment's account and region,
    shared by every environment there (they must declare the same values).

    ``provided_by``: who provides the trail, GuardDuty, AWS Config and
    Security Hub unless their own field says: ``this_repository`` builds
    them in the ``security_baseline`` stack; ``provided_by_organization``
    declares that an organization baseline provides them, and they are not
    built (CreateDetector, PutConfigurationRecorder and EnableSecurityHub
    fail on an account that has them, and a second trail bills management
    events twice). Left out: this repository (a missing control fails
    loudly at apply, a wrongly claimed one would be a silent PCI gap).
    ``trail``, ``guardduty``, ``config_recorder``, ``security_hub``,
    ``access_analyzer`` (an external access analyzer, zone of trust the
    account: its findings on role trust policies alert, D66): the same per
    control; None follows ``provided_by``.
    ``rds_os_metrics`` (the ``RDSOSMetrics`` log group with the audit CMK)
    and ``state_data_events`` (object reads and writes of the Terraform
    state buckets, recorded by a trail of this repository): None means this
    repository, whatever ``provided_by`` says; organizations rarely provide
    them. The stack is built when any control is this repository's.
    ``log_archive_destination_arn``: a CloudWatch Logs destination (usually
    in the log-archive account) that receives a copy of every audit log
    group; left out: no copy.
    ``alert_emails``: addresses subscribed to the baseline's security
    alert topic (audit tampering and findings, D52); left out: nobody is
    subscribed and the topic only feeds what subscribes to it later (the
    production tier refuses that).
    ``finding_alert_severity``: the lowest GuardDuty and Security Hub
    finding severity that alerts (``FINDING_ALERT_SEVERITIES``); left out:
    HIGH (high and critical).
    """

    provided_by: str = THIS_REPOSITORY
    trail: str | None = None
    guardduty: str | None = None
    config_recorder: str | None = None
    security_hub: str | None = None
    access_analyzer: str | None = None
    rds_os_metrics: str | None = None
    state_data_events: str | None = None
    log_archive_destination_arn: str | None = None
    alert_emails: tuple[str, ...] = ()
    finding_alert_severity: str = "HIGH"

    def provider_of(self, control: str) -> str:
        """Who provides ``control`` (BASELINE_CONTROLS)."""
        value = getattr(self, control)
        if value is not None:
            return value
        return THIS_REPOSITORY if control in KEPT_UNLESS_PROVIDED else self.provided_by

    def provided_here(self, control: str) -> bool:
        """Whether this repository builds ``control``."""
        return self.provider_of(control) == THIS_REPOSITORY

    @property
    def builds_anything(self) -> bool:
        """Whether the baseline stack exists at all."""
        return any(self.provided_here(c) for c in BASELINE_CONTROLS)

    @property
    def builds_trail(self) -> bool:
        """A trail of this repository: for management events, the state
        buckets' data events, or both."""
        return self.provided_here("trail") or self.provided_here("state_data_events")


@dataclass(frozen=True, kw_only=True)
class EnvironmentConfig:
    """Everything that differs between environments (dev, staging, prod...)."""

    name: str
    #: ``production`` or ``non-production``: decides which policies apply.
    tier: str
    region: str
    #: When set, the provider refuses to touch any other account.
    account_id: str | None = None
    vpc_cidr: str
    #: Exactly three AZs of ``region``; None: the region's a, b and c.
    availability_zones: tuple[str, ...] | None = None
    #: 1 (shared) up to 3 (one per AZ).
    nat_gateway_count: int
    log_retention_days: int
    cost_center: str
    #: S3 bucket of the remote state (created by the bootstrap stack).
    state_bucket: str
    #: Where the bootstrap stack keeps its own state: ``local`` (the first
    #: deployment: its bucket does not exist yet) or ``s3`` (once it does;
    #: switch, then ``cdktf deploy payment-<env>-bootstrap --migrate-state``,
    #: docs/cli.md).
    bootstrap_state: str = "local"
    state_region: str | None = None
    #: Application secrets (Secrets Manager), values set out of band.
    secrets: tuple[str, ...] = ("api-keys",)
    services: tuple[ServiceConfig, ...]
    database: DatabaseConfig = field(default_factory=DatabaseConfig)
    load_balancer: LoadBalancerConfig = field(default_factory=LoadBalancerConfig)
    deployment: DeploymentConfig = field(default_factory=DeploymentConfig)
    alarms: AlarmConfig = field(default_factory=AlarmConfig)
    access: AccessConfig = field(default_factory=AccessConfig)
    pipeline: PipelineConfig = field(default_factory=PipelineConfig)
    security_baseline: SecurityBaselineConfig = field(default_factory=SecurityBaselineConfig)
    release: ReleaseConfig = field(default_factory=ReleaseConfig)
    backup: BackupConfig = field(default_factory=BackupConfig)
    #: ECR: how many tagged images to keep, days before untagged expire.
    ecr_keep_tagged_images: int = 30
    ecr_untagged_expiry_days: int = 7
    #: ECR: how many released images (tagged ``release-<env>-<revision>`` by
    #: the release tool) are kept whatever else is pushed: the running image,
    #: the rollback target and older releases (docs/decisions.md D46).
    ecr_keep_released_images: int = 10

    @property
    def prefix(self) -> str:
        """Name prefix of every stack and resource: ``payment-<env>``."""
        return f"payment-{self.name}"

    @property
    def azs(self) -> tuple[str, ...]:
        return self.availability_zones or tuple(f"{self.region}{x}" for x in "abc")

    @property
    def backend_region(self) -> str:
        return self.state_region or self.region

    @property
    def deploy_role(self) -> str:
        """Name of the role Terraform runs as (``access.deploy_role_name``)."""
        return self.access.deploy_role_name or f"{self.prefix}-deploy"

    @property
    def plan_role(self) -> str:
        """Name of the read-only role pull-request plans run as
        (``pipeline.plan_role_name``)."""
        return self.pipeline.plan_role_name or f"{self.prefix}-plan"

    @property
    def account_scope(self) -> tuple[str, str]:
        """What the account-level baseline is shared by: account and region.
        Without an account id the account is unknown, so the environment is
        assumed to be alone in it."""
        return (self.account_id or f"account-of-{self.name}", self.region)

    @property
    def is_production(self) -> bool:
        """Production tier: every production policy applies."""
        return self.tier == PRODUCTION

    def service(self, name: str) -> ServiceConfig:
        for svc in self.services:
            if svc.name == name:
                return svc
        raise ConfigError(
            [
                f"service: {name!r} is not defined in {self.name}; allowed: "
                + ", ".join(s.name for s in self.services)
            ]
        )


def baseline_members(
    env: EnvironmentConfig, defined: Iterable[EnvironmentConfig]
) -> list[EnvironmentConfig]:
    """The environments sharing ``env``'s account and region (``env``
    included): the ones whose resources its baseline watches."""
    return [e for e in defined if e.account_scope == env.account_scope] or [env]


def baseline_owner(env: EnvironmentConfig, defined: Iterable[EnvironmentConfig]) -> str:
    """Name of the environment that deploys the baseline of ``env``'s account
    and region: the first production-tier one sharing it, else the first in
    configuration order (``defined`` holds every configured environment, so
    the owner does not depend on which environments are synthesized)."""
    sharing = baseline_members(env, defined)
    return next((e for e in sharing if e.is_production), sharing[0]).name


def account_environments(
    env: EnvironmentConfig, defined: Iterable[EnvironmentConfig]
) -> list[EnvironmentConfig]:
    """Every environment in ``env``'s account, whatever its region (IAM
    roles are global: an analyzer in one region reports the roles of every
    environment of the account, D66). Without an account id the account is
    unknown, so ``env`` is assumed to be alone in it (``account_scope``)."""
    return [e for e in defined if env.account_id and e.account_id == env.account_id] or [env]
