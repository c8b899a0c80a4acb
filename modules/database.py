"""Aurora Serverless v2 PostgreSQL in isolated subnets, encrypted with a CMK.

The cluster never sees a password from Terraform: RDS generates the master
password and keeps it in a Secrets Manager secret it manages and rotates
(``manage_master_user_password``), encrypted with the data key. Applications
connect with IAM database authentication (``iam_connect_statement``) over TLS
(``rds.force_ssl``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from framework import Construct, TerraformResourceLifecycle
from framework.aws import aws
from modules.iam import service_role
from modules.kms import ManagedKey
from modules.network import Network
from modules.observability.metrics import DatabaseMetrics

ENGINE = "aurora-postgresql"
#: Cluster arguments RDS changes after apply (automatic minor upgrades), ignored
#: by Terraform so a second plan stays clean.
ENGINE_MANAGED_BY_RDS = ("engine_version",)
#: With continuous backup, AWS Backup sets the cluster's retention (provider #33465).
RETENTION_MANAGED_BY_AWS_BACKUP = "backup_retention_period"
PORT = 5432
#: The PostgreSQL log type RDS exports to CloudWatch Logs.
LOG_EXPORTS = ("postgresql",)
#: The CA that signs the server certificate clients verify (RSA 2048, 2061).
CA_CERTIFICATE = "rds-ca-rsa2048-g1"
#: RDS ships Enhanced Monitoring with this AWS managed policy.
ENHANCED_MONITORING_POLICY = "service-role/AmazonRDSEnhancedMonitoringRole"
#: 7 days (free tier), 1-23 months of 31 days, or 731 days.
PERFORMANCE_INSIGHTS_RETENTION_DAYS = (7, *(31 * m for m in range(1, 24)), 731)
DB_USER_PATTERN = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")
ENGINE_VERSION_PATTERN = re.compile(r"^(\d{2})\.\d+$")


#: The role whose grants pgAudit's object auditing follows (Aurora user
#: guide, "Setting up the pgAudit extension"); created by the runbook in
#: docs/data-and-secrets.md, "Audit of database reads".
PGAUDIT_ROLE = "rds_pgaudit"


def cluster_parameters(slow_statement_ms: int) -> list[tuple[str, str, str]]:
    """(name, value, apply method) of the cluster parameter group.

    Audit without card data (PCI DSS 10.2.1, 3.3.1): connections, DDL and
    role changes for everyone (pgAudit session logging), reads and writes
    of the objects granted to ``rds_pgaudit`` (object logging; an admin's
    ``SELECT`` on a card table is logged), never statement parameters
    (``pgaudit.log_parameter``, ``log_parameter_max_length*`` = 0: a slow or
    failing statement is logged without its bound values).
    ``shared_preload_libraries`` is static: RDS applies it at the next
    reboot (``pending-reboot``; ``immediate`` is refused for static
    parameters), see the runbook.
    """
    immediate, reboot = "immediate", "pending-reboot"
    return [
        ("log_min_duration_statement", str(slow_statement_ms), immediate),
        ("log_connections", "1", immediate),
        ("log_disconnections", "1", immediate),
        # Schema changes are audited; "mod"/"all" would copy payment data
        # from INSERT/UPDATE statements into the logs.
        ("log_statement", "ddl", immediate),
        ("log_parameter_max_length", "0", immediate),
        ("log_parameter_max_length_on_error", "0", immediate),
        ("rds.force_ssl", "1", immediate),
        ("shared_preload_libraries", "pg_stat_statements,pgaudit", reboot),
        ("pgaudit.log", "ddl,role", immediate),
        ("pgaudit.role", PGAUDIT_ROLE, immediate),
        ("pgaudit.log_parameter", "0", immediate),
        ("pgaudit.log_catalog", "0", immediate),
    ]


@dataclass(frozen=True, kw_only=True)
class AuroraDatabaseProps:
    """Inputs of ``AuroraDatabase``.

    ``name``: the cluster identifier and prefix of every name it creates.
    ``network``: the VPC; the database goes into its isolated subnets (no
    route out of the VPC) and the instances are spread over its AZs.
    ``data_key``: encrypts storage, the master user secret and Performance
    Insights. ``logs_key``: encrypts the exported PostgreSQL log group.
    ``engine_version``: aurora-postgresql MAJOR.MINOR; the parameter group
    family follows the major version.
    ``reader_count``: readers in addition to the writer, each in another AZ
    than the writer (0: a single instance, no fast failover).
    ``partition``: of the stack creating the database (a token is fine).
    ``account_id``: of the stack creating the database; binds the Enhanced
    Monitoring role's trust to it (``aws:SourceAccount``). Left out: no
    condition (unit tests only).
    """

    name: str
    network: Network
    partition: str
    account_id: str | None = None
    data_key: ManagedKey
    logs_key: ManagedKey
    engine_version: str
    min_capacity_acu: float
    max_capacity_acu: float
    reader_count: int
    backup_retention_days: int
    log_retention_days: int
    database_name: str
    master_username: str
    #: Seconds idle before the cluster pauses at 0 ACU; None: never pauses.
    auto_pause_seconds: int | None = None
    #: False lets ``terraform destroy`` delete the cluster (a final snapshot
    #: is still taken). Left out: the API refuses to delete it.
    deletion_protection: bool = True
    #: True makes Terraform refuse any plan that destroys the cluster. Left
    #: out: Terraform may plan a replacement or destroy.
    prevent_destroy: bool = False
    #: True only while a major version upgrade is applied (docs/data-and-
    #: secrets.md §3.5): Terraform then sends ``engine_version`` with the new
    #: parameter group and ``allow_major_version_upgrade``. Left out: the
    #: cluster ignores ``engine_version`` (RDS applies minor upgrades).
    major_version_upgrade: bool = False
    #: True when an AWS Backup plan with continuous backup protects the
    #: cluster (modules/backup.py): AWS Backup then owns the retention, and
    #: RDS refuses any other value than the current one (provider #33465).
    #: The cluster is created with ``backup_retention_days``, the plan's
    #: continuous rule keeps the same value, and later changes reach the
    #: cluster through the plan only (Terraform ignores the attribute).
    #: Left out: Terraform manages the retention.
    retention_managed_by_aws_backup: bool = False
    #: Statements slower than this are logged with their text. Left out: 1 s.
    slow_statement_ms: int = 1000
    #: Days Performance Insights keeps data; 7 is the free tier. Left out: 7.
    performance_insights_retention_days: int = 7
    #: Seconds between Enhanced Monitoring samples (0 disables it and its
    #: role). Left out: 60.
    monitoring_interval_seconds: int = 60
    #: UTC windows; left out: backups at night, maintenance Sunday night.
    backup_window: str = "02:00-03:00"
    maintenance_window: str = "sun:03:30-sun:04:30"


def _problems(props: AuroraDatabaseProps) -> list[str]:
    """Invariants the construct relies on (config validates the rest)."""
    p: list[str] = []
    azs = props.network.props.availability_zones
    if not ENGINE_VERSION_PATTERN.match(str(props.engine_version)):
        p.append(
            f"engine_version: {props.engine_version!r} is not allowed; use MAJOR.MINOR, e.g. 16.6"
        )
    if not isinstance(props.reader_count, int) or not 0 <= props.reader_count < len(azs):
        p.append(
            f"reader_count: {props.reader_count!r} is not allowed; use 0-{len(azs) - 1} "
            f"(one instance per AZ, {len(azs)} AZs)"
        )
    if props.max_capacity_acu < props.min_capacity_acu:
        p.append(
            f"max_capacity_acu: {props.max_capacity_acu} is less than min_capacity_acu "
            f"{props.min_capacity_acu}; allowed: max >= min"
        )
    if props.auto_pause_seconds is not None and props.min_capacity_acu != 0:
        p.append(
            f"auto_pause_seconds: {props.auto_pause_seconds} needs min_capacity_acu 0, "
            f"got {props.min_capacity_acu}"
        )
    if (
        not isinstance(props.backup_retention_days, int)
        or not 1 <= props.backup_retention_days <= 35
    ):
        p.append(f"backup_retention_days: {props.backup_retention_days!r} is not allowed; use 1-35")
    if props.performance_insights_retention_days not in PERFORMANCE_INSIGHTS_RETENTION_DAYS:
        p.append(
            f"performance_insights_retention_days: {props.performance_insights_retention_days!r} "
            "is not allowed; use 7, 731 or 31 x months (1-23)"
        )
    if props.monitoring_interval_seconds not in (0, 1, 5, 10, 15, 30, 60):
        p.append(
            f"monitoring_interval_seconds: {props.monitoring_interval_seconds!r} is not "
            "allowed; allowed: 0, 1, 5, 10, 15, 30, 60"
        )
    if not isinstance(props.slow_statement_ms, int) or props.slow_statement_ms < 0:
        p.append(f"slow_statement_ms: {props.slow_statement_ms!r} is not allowed; use 0 or more")
    return p


def _ignored_changes(props: AuroraDatabaseProps) -> list[str] | None:
    ignored = [] if props.major_version_upgrade else list(ENGINE_MANAGED_BY_RDS)
    if props.retention_managed_by_aws_backup:
        ignored.append(RETENTION_MANAGED_BY_AWS_BACKUP)
    return ignored or None


class AuroraDatabase(Construct):
    """One Aurora Serverless v2 PostgreSQL cluster with its writer and readers.

    Nothing may connect until a caller opens the security group with
    ``allow_connections_from`` (there is no CIDR rule at all).
    """

    def __init__(self, scope: Construct, construct_id: str, props: AuroraDatabaseProps) -> None:
        problems = _problems(props)
        if problems:
            raise ValueError(f"AuroraDatabase {props.name!r}: " + "; ".join(problems))
        super().__init__(scope, construct_id)
        self.props = props
        version = ENGINE_VERSION_PATTERN.match(props.engine_version)
        assert version is not None  # _problems refused it otherwise
        major = version.group(1)
        network = props.network

        self.security_group = aws.security_group.SecurityGroup(
            self,
            "security-group",
            name=f"{props.name}-database",
            description=f"PostgreSQL {PORT} from the services allowed to use {props.name}",
            vpc_id=network.vpc_id,
            # Terraform removes the allow-all egress AWS adds; the database
            # only answers connections, it never opens one.
            tags={"Name": f"{props.name}-database"},
        )
        self.security_group_id = self.security_group.id
        self.subnet_group = aws.db_subnet_group.DbSubnetGroup(
            self,
            "subnet-group",
            name=f"{props.name}-database",
            description=f"Isolated subnets of {props.name} (no route out of the VPC)",
            subnet_ids=network.isolated_subnet_ids,
        )
        self.parameter_group = aws.rds_cluster_parameter_group.RdsClusterParameterGroup(
            self,
            "parameter-group",
            # The family is in the name so a major upgrade creates the new
            # group before the old one is deleted.
            name=f"{props.name}-{ENGINE}{major}",
            family=f"{ENGINE}{major}",
            description=f"Logging and TLS settings of {props.name}",
            parameter=[
                aws.rds_cluster_parameter_group.RdsClusterParameterGroupParameter(
                    name=name, value=value, apply_method=apply_method
                )
                for name, value, apply_method in cluster_parameters(props.slow_statement_ms)
            ],
            lifecycle=TerraformResourceLifecycle(create_before_destroy=True),
        )
        # Created before the cluster: otherwise RDS creates this group on the
        # first export, unencrypted and with logs kept forever.
        self.log_group = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "postgresql-logs",
            name=f"/aws/rds/cluster/{props.name}/postgresql",
            retention_in_days=props.log_retention_days,
            kms_key_id=props.logs_key.arn,
        )
        scaling = aws.rds_cluster.RdsClusterServerlessv2ScalingConfiguration(
            min_capacity=props.min_capacity_acu,
            max_capacity=props.max_capacity_acu,
            seconds_until_auto_pause=props.auto_pause_seconds,
        )
        self.cluster = aws.rds_cluster.RdsCluster(
            self,
            "cluster",
            cluster_identifier=props.name,
            engine=ENGINE,
            engine_mode="provisioned",
            engine_version=props.engine_version,
            serverlessv2_scaling_configuration=scaling,
            database_name=props.database_name,
            master_username=props.master_username,
            # RDS generates, stores and rotates the password; Terraform never
            # holds it (no master_password in config or state).
            manage_master_user_password=True,
            master_user_secret_kms_key_id=props.data_key.arn,
            iam_database_authentication_enabled=True,
            storage_encrypted=True,
            kms_key_id=props.data_key.arn,
            port=PORT,
            db_subnet_group_name=self.subnet_group.name,
            vpc_security_group_ids=[self.security_group_id],
            db_cluster_parameter_group_name=self.parameter_group.name,
            enabled_cloudwatch_logs_exports=list(LOG_EXPORTS),
            backup_retention_period=props.backup_retention_days,
            preferred_backup_window=props.backup_window,
            preferred_maintenance_window=props.maintenance_window,
            copy_tags_to_snapshot=True,
            skip_final_snapshot=False,
            final_snapshot_identifier=f"{props.name}-final",
            # Automated backups outlive the cluster until they expire, so an
            # accidental delete can still be restored to a point in time.
            delete_automated_backups=False,
            deletion_protection=props.deletion_protection,
            depends_on=[self.log_group],
            # The instances take minor upgrades automatically; afterwards RDS
            # reports the newer version, and with hashicorp/aws 6.25.0 the
            # plan proposes a downgrade that RDS refuses (provider #48936,
            # fixed by #49396 after the provider this project pins). The
            # configured version is the creation version; later upgrades are
            # AWS's (minor) or a planned procedure (major): docs/data-and-secrets.md §3.5.
            allow_major_version_upgrade=True if props.major_version_upgrade else None,
            # Without it ModifyDBCluster defers the engine version (and the new
            # family's parameter group) to the maintenance window, and the
            # planned change-window upgrade does not happen when applied
            # (RDS API reference, ModifyDBCluster ApplyImmediately / EngineVersion).
            apply_immediately=True if props.major_version_upgrade else None,
            lifecycle=TerraformResourceLifecycle(
                prevent_destroy=True if props.prevent_destroy else None,
                ignore_changes=_ignored_changes(props),
            ),
        )
        #: DNS name of the writer endpoint (follows failovers).
        self.endpoint = self.cluster.endpoint
        #: DNS name balancing over the readers (the writer when there are none).
        self.reader_endpoint = self.cluster.reader_endpoint
        #: The ``cluster-XXXX`` id that IAM database authentication ARNs use.
        self.cluster_resource_id = self.cluster.cluster_resource_id

        self.monitoring_role = None
        if props.monitoring_interval_seconds:
            self.monitoring_role = service_role(
                self,
                "monitoring-role",
                name=f"{props.name}-rds-monitoring",
                service="monitoring.rds.amazonaws.com",
                source_account=props.account_id,
                managed_policy=(
                    "monitoring-policy",
                    f"arn:{props.partition}:iam::aws:policy/{ENHANCED_MONITORING_POLICY}",
                ),
            )

        azs = network.props.availability_zones
        self.instances: list[Any] = []
        for index in range(props.reader_count + 1):
            self.instances.append(
                aws.rds_cluster_instance.RdsClusterInstance(
                    self,
                    f"instance-{index}",
                    identifier=f"{props.name}-{index}",
                    cluster_identifier=self.cluster.id,
                    engine=ENGINE,
                    instance_class="db.serverless",
                    # Instance 0 is created first and becomes the writer; the
                    # readers sit in the other AZs so a failover changes AZ.
                    availability_zone=azs[index],
                    promotion_tier=0 if index == 0 else 1,
                    db_subnet_group_name=self.subnet_group.name,
                    publicly_accessible=False,
                    ca_cert_identifier=CA_CERTIFICATE,
                    auto_minor_version_upgrade=True,
                    performance_insights_enabled=True,
                    performance_insights_kms_key_id=props.data_key.arn,
                    performance_insights_retention_period=props.performance_insights_retention_days,
                    monitoring_interval=props.monitoring_interval_seconds,
                    monitoring_role_arn=self.monitoring_role.arn if self.monitoring_role else None,
                    copy_tags_to_snapshot=True,
                    preferred_maintenance_window=props.maintenance_window,
                    # Readers are added after the writer exists.
                    depends_on=self.instances[:1] or None,
                )
            )

    @property
    def writer(self):
        """The instance created as writer (a failover may promote a reader)."""
        return self.instances[0]

    @property
    def readers(self) -> list:
        return self.instances[1:]

    @property
    def port(self) -> int:
        return PORT

    @cached_property
    def master_user_secret_arn(self) -> str:
        """ARN of the RDS-managed secret holding the master credentials."""
        return self.cluster.master_user_secret.get(0).secret_arn

    @cached_property
    def metrics(self) -> DatabaseMetrics:
        """The cluster's CloudWatch metrics, for alarms and dashboards."""
        return DatabaseMetrics(cluster_identifier=self.cluster.cluster_identifier)

    def allow_connections_from(
        self, scope: Construct, construct_id: str, source_security_group_id: str, description: str
    ):
        """Opens PostgreSQL to one security group, with the rule in ``scope``.

        The rule lives in the caller's stack (the services stack), so the
        database stack never references the services and no cycle arises.
        """
        return aws.vpc_security_group_ingress_rule.VpcSecurityGroupIngressRule(
            scope,
            construct_id,
            security_group_id=self.security_group_id,
            description=description,
            ip_protocol="tcp",
            from_port=PORT,
            to_port=PORT,
            referenced_security_group_id=source_security_group_id,
        )

    def iam_connect_statement(
        self, db_user: str, account_id: str, region: str, partition: str
    ) -> dict:
        """IAM statement letting a role log in as ``db_user`` with a token.

        The database user must exist and have ``GRANT rds_iam`` (see
        docs/data-and-secrets.md); the master user is refused on purpose.
        """
        if not isinstance(db_user, str) or not DB_USER_PATTERN.match(db_user):
            raise ValueError(
                f"db_user: {db_user!r} is not allowed; use a lowercase PostgreSQL "
                "identifier (letters, digits, underscore)"
            )
        if db_user == self.props.master_username:
            raise ValueError(
                f"db_user: {db_user!r} is the master user; applications get their "
                "own users, the master credentials stay in the managed secret"
            )
        sid = "ConnectAs" + "".join(part.capitalize() for part in db_user.split("_"))
        return {
            "Sid": sid,
            "Effect": "Allow",
            "Action": "rds-db:connect",
            "Resource": (
                f"arn:{partition}:rds-db:{region}:{account_id}:dbuser:"
                f"{self.cluster_resource_id}/{db_user}"
            ),
        }
