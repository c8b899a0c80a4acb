"""The database of an environment: Aurora Serverless v2 PostgreSQL."""

from __future__ import annotations

from config import EnvironmentConfig
from config.naming import (
    DATA_PART,
    backup_vault_name,
    key_configuration_readers,
    key_policy_administrators,
    restore_testing_name,
)
from framework import Construct, TerraformOutput
from modules.backup import DatabaseBackup, DatabaseBackupProps
from modules.database import AuroraDatabase, AuroraDatabaseProps
from modules.kms import ManagedKey, ManagedKeyProps
from stacks.base import PlatformStack
from stacks.network import NetworkStack
from stacks.security import SecurityStack


class DataStack(PlatformStack):
    """Owns the cluster and its security group.

    Ingress rules are not created here: each service that uses the database
    opens the group from its own stack (``allow_connections_from``), so this
    stack never depends on the services stack.
    """

    def __init__(
        self,
        scope: Construct,
        env: EnvironmentConfig,
        security: SecurityStack,
        network: NetworkStack,
    ) -> None:
        super().__init__(scope, env, DATA_PART)
        db = env.database
        self.database = AuroraDatabase(
            self,
            "database",
            AuroraDatabaseProps(
                name=env.prefix,
                network=network.network,
                partition=self.partition,
                account_id=self.account_id,
                data_key=security.data_key,
                logs_key=security.logs_key,
                engine_version=db.engine_version,
                major_version_upgrade=db.major_version_upgrade,
                min_capacity_acu=db.min_capacity_acu,
                max_capacity_acu=db.max_capacity_acu,
                auto_pause_seconds=db.auto_pause_seconds,
                reader_count=db.reader_count,
                backup_retention_days=db.backup_retention_days,
                log_retention_days=env.log_retention_days,
                database_name=db.database_name,
                master_username=db.master_username,
                deletion_protection=db.deletion_protection,
                prevent_destroy=env.is_production,
                retention_managed_by_aws_backup=True,
            ),
        )
        self.backup = self._backup(env)
        TerraformOutput(self, "cluster_identifier", value=self.database.cluster.cluster_identifier)
        TerraformOutput(self, "writer_endpoint", value=self.database.endpoint)
        TerraformOutput(self, "reader_endpoint", value=self.database.reader_endpoint)
        TerraformOutput(self, "master_user_secret_arn", value=self.database.master_user_secret_arn)
        # Card data that reaches a log group is masked (PAY-LOG-001, docs/pci-responsibility.md 3.3.1).
        self.mask_card_data(security.logs_key.arn)

    def _backup_key(self, env: EnvironmentConfig, construct_id: str, region: str, provider):
        """A vault key in ``region``: used only through AWS Backup; as the
        security stack's keys, the key-policy administrators (never the
        deploy role, D49) alone may change or delete it, the key
        administrators and the deploy role administer it."""
        key = ManagedKey(
            self,
            construct_id,
            ManagedKeyProps(
                alias=f"{env.prefix}-backup",
                description=f"Encrypts the backup vault of {env.prefix} in {region}",
                account_id=self.account_id,
                partition=self.partition,
                region=region,
                administrator_role_names=(
                    *env.access.key_administrator_role_names,
                    env.deploy_role,
                ),
                protected_role_names=key_policy_administrators(env),
                reader_role_names=key_configuration_readers(env),
                # AWS Backup encrypts; RDS re-encrypts the copied snapshots there.
                via_services=("backup", "rds"),
                provider=provider,
            ),
        )
        if env.is_production:
            key.key.add_override("lifecycle.prevent_destroy", True)
        return key

    def _backup(self, env: EnvironmentConfig) -> DatabaseBackup:
        b = env.backup
        copy_provider = self.provider_in(b.copy_region) if b.copy_region else None
        return DatabaseBackup(
            self,
            "backup",
            DatabaseBackupProps(
                name=env.prefix,
                vault_name=backup_vault_name(env),
                restore_testing_name=restore_testing_name(env),
                database=self.database,
                vault_key=self._backup_key(env, "backup-key", env.region, None),
                partition=self.partition,
                account_id=self.account_id,
                continuous_retention_days=env.database.backup_retention_days,
                daily_retention_days=b.retention_days,
                lock_mode=b.vault_lock_mode,
                lock_changeable_for_days=b.lock_changeable_for_days,
                break_glass_role_arn=(
                    f"arn:{self.partition}:iam::{self.account_id}:role/"
                    f"{env.access.break_glass_role_name}"
                ),
                copy_region=b.copy_region,
                copy_provider=copy_provider,
                copy_key=(
                    self._backup_key(env, "backup-copy-key", b.copy_region, copy_provider)
                    if b.copy_region
                    else None
                ),
                copy_account_id=b.copy_account_id,
                restore_test_schedule=b.restore_test_schedule,
                restore_test_validation_hours=b.restore_test_validation_hours,
                prevent_destroy=env.is_production,
            ),
        )
