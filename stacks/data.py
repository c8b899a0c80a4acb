"""The database of an environment: Aurora Serverless v2 PostgreSQL."""

from __future__ import annotations

from config import EnvironmentConfig
from framework import Construct, TerraformOutput
from modules.database import AuroraDatabase, AuroraDatabaseProps
from modules.observability.data_protection import protect_card_data
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
        super().__init__(scope, env, "data")
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
            ),
        )
        TerraformOutput(self, "cluster_identifier", value=self.database.cluster.cluster_identifier)
        TerraformOutput(self, "writer_endpoint", value=self.database.endpoint)
        TerraformOutput(self, "reader_endpoint", value=self.database.reader_endpoint)
        TerraformOutput(self, "master_user_secret_arn", value=self.database.master_user_secret_arn)
        # Card data that reaches a log group is masked (PAY-LOG-001, docs/pci-responsibility.md 3.3.1).
        protect_card_data(self, f"{env.prefix}-card-data")
