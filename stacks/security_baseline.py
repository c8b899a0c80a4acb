"""The account-level security baseline: one per account and region.

GuardDuty detectors, the AWS Config recorder, Security Hub and the
``RDSOSMetrics`` log group are singletons of an account and region, so
environments sharing an account share one baseline (``EnvironmentConfig.
account_scope``). It is deployed with its owner environment
(``config.model.baseline_owner``), named ``payment-<owner>-baseline``,
with its state in the owner's state bucket. Each control is built only
where configuration says this repository provides it
(``security_baseline``, per control, D50); when the organization provides
every one, there is no stack (docs/pci-responsibility.md, D35).
"""

from __future__ import annotations

from collections.abc import Sequence

from config import EnvironmentConfig
from config.naming import (
    BASELINE_PART,
    access_analyzer_name,
    audit_bucket_name,
    backup_alerts_name,
    card_data_findings_log_group,
    config_bucket_name,
    github_trust_archive_rule_name,
    github_trusted_role_names,
    key_configuration_readers,
    key_policy_administrators,
    release_guard_function_name,
    release_guard_name,
    restore_validator_name,
    security_alerts_name,
)
from framework import Construct
from framework.aws import aws
from modules.audit_trail import AuditTrail, AuditTrailProps
from modules.config_recorder import ConfigRecorder, ConfigRecorderProps
from modules.github_oidc import provider_arn
from modules.kms import ManagedKey, ManagedKeyProps
from modules.observability.data_protection import protect_card_data
from modules.security_alerts import SecurityAlerts, SecurityAlertsProps
from modules.threat_detection import ExpectedTrust, ThreatDetection, ThreatDetectionProps
from stacks.base import PlatformStack

#: One word: stack names are ``payment-<env>-<part>`` and environment names
#: may contain hyphens (tools/checks/checkov_scan.py reads the environment from it).
PART = BASELINE_PART
#: The log group RDS Enhanced Monitoring writes to (RDS user guide); RDS
#: creates it without a CMK unless it exists.
RDS_OS_METRICS_LOG_GROUP = "RDSOSMetrics"


class SecurityBaselineStack(PlatformStack):
    """The controls of the account and region of ``owner`` and ``members``
    (the environments sharing it, owner included) that configuration says
    this repository provides (``security_baseline``, per control, D50):
    CloudTrail into an Object Lock bucket (management events, the Terraform
    state buckets' data events, or both), GuardDuty, AWS Config (into a
    bucket of its own: it cannot deliver to Object Lock buckets), Security
    Hub, IAM Access Analyzer (D66) and ``RDSOSMetrics``; and alerts on tampering with them and on
    findings, always (D52). Each control attribute is None when its control is the
    organization's. ``account_members``: every environment of the account,
    any region (``config.model.account_environments``), whose pipeline
    roles' GitHub trusts the analyzer archives (IAM roles are global, D66);
    left out: ``members``."""

    def __init__(
        self,
        scope: Construct,
        owner: EnvironmentConfig,
        members: Sequence[EnvironmentConfig],
        account_members: Sequence[EnvironmentConfig] = (),
    ) -> None:
        super().__init__(scope, owner, PART)
        baseline = owner.security_baseline
        production = any(env.is_production for env in members)
        retention_days = max(env.log_retention_days for env in members)
        name = f"{owner.prefix}-audit"
        trail_arn = f"arn:{self.partition}:cloudtrail:{owner.region}:{self.account_id}:trail/{name}"
        config_here = baseline.provided_here("config_recorder")
        rds_here = baseline.provided_here("rds_os_metrics")
        self.key: ManagedKey | None = None
        self.trail: AuditTrail | None = None
        self.config_recorder: ConfigRecorder | None = None
        self.rds_os_metrics = None
        if baseline.builds_trail or config_here or rds_here:
            self.key = self._audit_key(owner, name, trail_arn if baseline.builds_trail else None)
            if production:
                self.key.key.add_override("lifecycle.prevent_destroy", True)
        if baseline.builds_trail:
            assert self.key is not None
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
                    management_events=baseline.provided_here("trail"),
                    data_event_buckets=(
                        sorted({env.state_bucket for env in members})
                        if baseline.provided_here("state_data_events")
                        else ()
                    ),
                    configuration_history_bucket=(
                        config_bucket_name(owner, self.account_id) if config_here else None
                    ),
                ),
            )
        if config_here:
            assert self.key is not None
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
            ThreatDetectionProps(
                partition=self.partition,
                region=owner.region,
                guardduty=baseline.provided_here("guardduty"),
                security_hub=baseline.provided_here("security_hub"),
                access_analyzer_name=(
                    access_analyzer_name(owner)
                    if baseline.provided_here("access_analyzer")
                    else None
                ),
                expected_trusts=self._github_trusts(account_members or members),
            ),
        )
        if rds_here:
            assert self.key is not None
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
                audit_bucket_names=tuple(
                    bucket
                    for bucket, built in (
                        (audit_bucket_name(owner, self.account_id), self.trail is not None),
                        (config_bucket_name(owner, self.account_id), config_here),
                    )
                    if built
                ),
                finding_severity=baseline.finding_alert_severity,
                # The environments of this region: EventBridge sees its own
                # region's CloudTrail events only (D75).
                check_function_names=tuple(
                    name(env)
                    for env in members
                    for name in (release_guard_function_name, restore_validator_name)
                ),
                check_rule_prefixes=tuple(
                    name(env)
                    for env in members
                    for name in (release_guard_name, restore_validator_name, backup_alerts_name)
                ),
                emails=baseline.alert_emails,
                administrator_role_names=owner.access.key_administrator_role_names,
                protected_role_names=key_policy_administrators(owner),
                reader_role_names=key_configuration_readers(owner),
            ),
        )
        if production:
            self.alerts.key.key.add_override("lifecycle.prevent_destroy", True)
        protect_card_data(
            self,
            f"{owner.prefix}-baseline-card-data",
            findings_log_group_name=card_data_findings_log_group(self.node.id),
            kms_key_arn=self.key.arn if self.key is not None else None,
            retention_days=retention_days,
        )

    def _github_trusts(
        self, environments: Sequence[EnvironmentConfig]
    ) -> tuple[ExpectedTrust, ...]:
        """The pipeline's roles of each environment trust GitHub's OIDC
        provider of the account on purpose (docs/ci.md, "Identities"): one
        archive rule per environment, by those roles' ARNs and the provider
        (D66). A bounded role the deploy role creates with that trust, or
        another principal in these roles' trust, still alerts."""
        github = provider_arn(self.partition, self.account_id)
        return tuple(
            ExpectedTrust(
                rule_name=github_trust_archive_rule_name(env),
                role_arns=tuple(
                    f"arn:{self.partition}:iam::{self.account_id}:role/{name}"
                    for name in github_trusted_role_names(env)
                ),
                federated_principal=github,
            )
            for env in environments
        )

    def _audit_key(self, owner: EnvironmentConfig, name: str, trail_arn: str | None) -> ManagedKey:
        """The baseline's CMK: the trail and its bucket, AWS Config's
        deliveries, ``RDSOSMetrics``; CloudTrail's statements only with a trail."""
        principals: tuple[tuple[str, str], ...] = ()
        statements: tuple[dict, ...] = ()
        if trail_arn:
            principals = (("cloudtrail.amazonaws.com", trail_arn),)
            statements = (
                {
                    "Sid": "CloudTrailDescribesKey",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "kms:DescribeKey",
                    "Resource": "*",
                    "Condition": {"StringEquals": {"aws:SourceArn": trail_arn}},
                },
            )
        return ManagedKey(
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
                reader_role_names=key_configuration_readers(owner),
                # Readers of the bucket and AWS Config's deliveries go through S3.
                via_services=("s3",),
                allow_cloudwatch_logs=True,
                allow_service_principals=principals,
                extra_statements=statements,
            ),
        )
