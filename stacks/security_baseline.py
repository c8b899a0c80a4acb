"""The account-level security baseline: one per account and region.

GuardDuty detectors, the AWS Config recorder, Security Hub and the
``RDSOSMetrics`` log group are singletons of an account and region, so
environments sharing an account share one baseline (``EnvironmentConfig.
account_scope``). It is deployed with its owner environment
(``config.model.baseline_owner``), named ``payment-<owner>-baseline``,
with its state in the owner's state bucket. When configuration says the
organization provides it (``security_baseline.provided_by``), nothing is
built (docs/pci-responsibility.md, docs/decisions.md D35).
"""

from __future__ import annotations

from collections.abc import Sequence

from config import EnvironmentConfig
from config.naming import (
    audit_bucket_name,
    config_bucket_name,
    key_policy_administrators,
    security_alerts_name,
)
from framework import Construct
from framework.aws import aws
from modules.audit_trail import AuditTrail, AuditTrailProps
from modules.config_recorder import ConfigRecorder, ConfigRecorderProps
from modules.kms import ManagedKey, ManagedKeyProps
from modules.observability.data_protection import protect_card_data
from modules.security_alerts import SecurityAlerts, SecurityAlertsProps
from modules.threat_detection import ThreatDetection, ThreatDetectionProps
from stacks.base import PlatformStack

#: One word: stack names are ``payment-<env>-<part>`` and environment names
#: may contain hyphens (tools/checkov_scan.py reads the environment from it).
PART = "baseline"
#: The log group RDS Enhanced Monitoring writes to (RDS user guide); RDS
#: creates it without a CMK unless it exists.
RDS_OS_METRICS_LOG_GROUP = "RDSOSMetrics"


class SecurityBaselineStack(PlatformStack):
    """CloudTrail into an Object Lock bucket (with the Terraform state
    buckets' data events), GuardDuty, AWS Config (into a bucket of its own:
    it cannot deliver to Object Lock buckets), Security Hub, alerts on
    tampering with them and on findings, and ``RDSOSMetrics`` for the account and region of ``owner`` and ``members``
    (the environments sharing it, owner included)."""

    def __init__(
        self, scope: Construct, owner: EnvironmentConfig, members: Sequence[EnvironmentConfig]
    ) -> None:
        super().__init__(scope, owner, PART)
        production = any(env.is_production for env in members)
        retention_days = max(env.log_retention_days for env in members)
        name = f"{owner.prefix}-audit"
        trail_arn = f"arn:{self.partition}:cloudtrail:{owner.region}:{self.account_id}:trail/{name}"
        self.key = ManagedKey(
            self,
            "audit-key",
            ManagedKeyProps(
                alias=name,
                description=f"Encrypts the audit trail, AWS Config deliveries and RDSOSMetrics ({owner.prefix} baseline)",
                account_id=self.account_id,
                partition=self.partition,
                region=owner.region,
                administrator_role_names=owner.access.key_administrator_role_names,
                protected_role_names=key_policy_administrators(owner),
                # Readers of the bucket and AWS Config's deliveries go through S3.
                via_services=("s3",),
                allow_cloudwatch_logs=True,
                allow_service_principals=(("cloudtrail.amazonaws.com", trail_arn),),
                extra_statements=(
                    {
                        "Sid": "CloudTrailDescribesKey",
                        "Effect": "Allow",
                        "Principal": {"Service": "cloudtrail.amazonaws.com"},
                        "Action": "kms:DescribeKey",
                        "Resource": "*",
                        "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
                    },
                ),
            ),
        )
        if production:
            self.key.key.add_override("lifecycle.prevent_destroy", True)
        self.trail = AuditTrail(
            self,
            "trail",
            AuditTrailProps(
                name=name,
                bucket_name=audit_bucket_name(owner, self.account_id),
                account_id=self.account_id,
                partition=self.partition,
                region=owner.region,
                kms_key_arn=self.key.arn,
                retention_days=retention_days,
                object_lock_mode="COMPLIANCE" if production else "GOVERNANCE",
                prevent_destroy=production,
                data_event_buckets=sorted({env.state_bucket for env in members}),
                configuration_history_bucket=config_bucket_name(owner, self.account_id),
            ),
        )
        self.config_recorder = ConfigRecorder(
            self,
            "config",
            ConfigRecorderProps(
                name=f"{owner.prefix}-config",
                account_id=self.account_id,
                partition=self.partition,
                bucket_name=config_bucket_name(owner, self.account_id),
                kms_key_arn=self.key.arn,
                retention_days=retention_days,
                prevent_destroy=production,
            ),
        )
        self.threat_detection = ThreatDetection(
            self,
            "detection",
            ThreatDetectionProps(partition=self.partition, region=owner.region),
        )
        self.rds_os_metrics = aws.cloudwatch_log_group.CloudwatchLogGroup(
            self,
            "rds-os-metrics",
            name=RDS_OS_METRICS_LOG_GROUP,
            kms_key_id=self.key.arn,
            retention_in_days=retention_days,
        )
        # Tampering with what this stack builds, and findings, reach people
        # (PCI DSS 10.7.2; D52). The pipeline may not change these (D49, D52).
        self.alerts = SecurityAlerts(
            self,
            "alerts",
            SecurityAlertsProps(
                name=security_alerts_name(owner),
                account_id=self.account_id,
                partition=self.partition,
                region=owner.region,
                audit_bucket_names=(
                    audit_bucket_name(owner, self.account_id),
                    config_bucket_name(owner, self.account_id),
                ),
                finding_severity=owner.security_baseline.finding_alert_severity,
                emails=owner.security_baseline.alert_emails,
                administrator_role_names=owner.access.key_administrator_role_names,
                protected_role_names=key_policy_administrators(owner),
            ),
        )
        if production:
            self.alerts.key.key.add_override("lifecycle.prevent_destroy", True)
        protect_card_data(self, f"{owner.prefix}-baseline-card-data")
