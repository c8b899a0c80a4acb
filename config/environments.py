"""The dev, staging and prod environments of the payment platform.

Values only; the rules live in ``config.model``. This file is yours: the
tests hold for any valid values in it (tests/fixtures holds the example
they need particular values from), and ``PAYMENT_CONFIG`` points the app,
the tools and the tests at another file (README, "Configuration"). An account id makes the
provider refuse any other account (``allowed_account_ids``); the production
tier requires one. Values marked PLACEHOLDER stand in until the real ones
exist: ``config.model.placeholders`` lists them in every synth report, and
none of them can be deployed by mistake (README, "Before the first
deployment").
"""

from __future__ import annotations

from config.model import (
    NON_PRODUCTION,
    PRODUCTION,
    AlarmConfig,
    BackupConfig,
    CustomScalingMetric,
    DatabaseConfig,
    DeploymentConfig,
    EnvironmentConfig,
    LoadBalancerConfig,
    PipelineConfig,
    ReleaseConfig,
    SecurityBaselineConfig,
    ServiceConfig,
    override,
)

# Public egress ranges of the CI runners and the VPN that may call each
# environment's test listener. PLACEHOLDERS from the RFC 5737 documentation
# ranges (routable nowhere): replace them with your own before deploying.
# The VPC's NAT gateway addresses are admitted anyway, so test hooks running
# in the VPC work without them.
_TEST_CLIENT_CIDRS = {
    "dev": ("192.0.2.0/28",),
    "staging": ("198.51.100.0/28",),
    "prod": ("203.0.113.0/28",),
}

# The repository whose workflows plan and deploy (docs/ci.md). PLACEHOLDER:
# its owner is longer than GitHub allows, so no workflow can assume the
# pipeline roles until it is replaced with your owner/repo.
_PIPELINE = PipelineConfig(
    github_repository="replace-with-your-github-organization-name/payment-platform"
)


def _services(scale: int, spot: bool) -> tuple[ServiceConfig, ...]:
    """The three platform services; ``scale`` multiplies the task counts."""
    return (
        ServiceConfig(
            name="payment-api",
            port=8080,
            cpu=512,
            memory_mib=1024,
            desired_count=2 * scale,
            min_count=2 * scale,
            max_count=10 * scale,
            public=True,
            path_prefix="/payments",
            listener_priority=10,
            health_check_path="/health",
            use_spot=False,
            secrets=("api-keys",),
            uses_database=True,
            custom_metric=CustomScalingMetric(
                namespace="Payment/Api", name="InFlightTransactions", target_value=50
            ),
        ),
        ServiceConfig(
            name="transaction-processor",
            port=8081,
            cpu=1024,
            memory_mib=2048,
            desired_count=2 * scale,
            min_count=2 * scale,
            max_count=20 * scale,
            public=False,
            path_prefix="/transactions",
            listener_priority=20,
            health_check_path="/health",
            use_spot=spot,
            secrets=("api-keys",),
            uses_database=True,
            custom_metric=CustomScalingMetric(
                namespace="Payment/Processor", name="QueueDepth", target_value=100
            ),
        ),
        ServiceConfig(
            name="notification-service",
            port=8082,
            cpu=256,
            memory_mib=512,
            desired_count=1 * scale,
            min_count=1 * scale,
            max_count=6 * scale,
            public=False,
            path_prefix="/notifications",
            listener_priority=30,
            health_check_path="/health",
            use_spot=spot,
            secrets=(),
            uses_database=False,
            custom_metric=CustomScalingMetric(
                namespace="Payment/Notifications", name="PendingNotifications", target_value=200
            ),
        ),
    )


DEV = EnvironmentConfig(
    name="dev",
    tier=NON_PRODUCTION,
    region="eu-west-1",
    vpc_cidr="10.10.0.0/16",
    nat_gateway_count=1,
    log_retention_days=30,
    cost_center="payments-dev",
    state_bucket="payment-platform-tfstate-dev",
    pipeline=_PIPELINE,
    services=tuple(
        # dev: one task each, everything interruptible, shells allowed.
        override(
            svc,
            desired_count=1,
            min_count=1,
            max_count=3,
            use_spot=True,
            enable_execute_command=True,
        )
        for svc in _services(scale=1, spot=True)
    ),
    database=DatabaseConfig(
        min_capacity_acu=0,
        max_capacity_acu=2,
        auto_pause_seconds=1800,
        reader_count=0,
        backup_retention_days=1,
        deletion_protection=False,
    ),
    load_balancer=LoadBalancerConfig(
        certificate_arn=None,
        allow_plain_http=True,
        test_listener_port=8443,
        test_listener_cidrs=_TEST_CLIENT_CIDRS["dev"],
    ),
    deployment=DeploymentConfig(
        config_name="CodeDeployDefault.ECSAllAtOnce",
        terminate_blue_after_minutes=0,
        rollback_on_alarm=False,
    ),
    # Nobody is paged for dev; it must say so (docs/decisions.md D51).
    alarms=AlarmConfig(
        unsubscribed_reason="dev: alarms and failed deployments are read on the dashboard"
    ),
    # Findings only warn outside the production tier.
    release=ReleaseConfig(blocking_severities=("CRITICAL",), scan_wait_minutes=10),
)

STAGING = EnvironmentConfig(
    name="staging",
    tier=NON_PRODUCTION,
    region="eu-west-1",
    vpc_cidr="10.20.0.0/16",
    nat_gateway_count=1,
    log_retention_days=90,
    cost_center="payments-staging",
    state_bucket="payment-platform-tfstate-staging",
    pipeline=_PIPELINE,
    services=_services(scale=1, spot=True),
    database=DatabaseConfig(
        min_capacity_acu=0.5,
        max_capacity_acu=8,
        reader_count=1,
        backup_retention_days=7,
        deletion_protection=True,
    ),
    load_balancer=LoadBalancerConfig(
        # PLACEHOLDER certificate (no such certificate exists).
        certificate_arn="arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000002",
        test_listener_port=8443,
        test_listener_cidrs=_TEST_CLIENT_CIDRS["staging"],
        deletion_protection=True,
    ),
    deployment=DeploymentConfig(
        # 10 % every 3 minutes: a total failure of green stops before half
        # the traffic has shifted even with ALB metrics 2 minutes late and
        # CodeDeploy reading alarms 1 minute late (at 10 % every minute it
        # stopped at 50 %; docs/decisions.md D71, docs/observability.md).
        config_name="CodeDeployDefault.ECSLinear10PercentEvery3Minutes",
        terminate_blue_after_minutes=15,
        rollback_on_alarm=True,
    ),
    # PLACEHOLDER: releases roll back on alarm here, so someone must hear
    # about it (docs/decisions.md D51).
    alarms=AlarmConfig(emails=("payments-staging@example.com",)),
    release=ReleaseConfig(blocking_severities=("CRITICAL",), scan_wait_minutes=10),
)

PROD = EnvironmentConfig(
    name="prod",
    tier=PRODUCTION,
    region="eu-west-1",
    # PLACEHOLDER: the production tier requires the account id; no account
    # has this one, so every plan fails at the provider's account check until
    # it is replaced (README, "Before the first deployment").
    account_id="000000000000",
    vpc_cidr="10.30.0.0/16",
    nat_gateway_count=3,
    log_retention_days=365,
    cost_center="payments-prod",
    state_bucket="payment-platform-tfstate-prod",
    pipeline=_PIPELINE,
    # Workers on Spot with an on-demand base, as the original design ran them;
    # the public API stays on-demand (docs/decisions.md D27).
    services=_services(scale=2, spot=True),
    database=DatabaseConfig(
        min_capacity_acu=2,
        max_capacity_acu=32,
        reader_count=2,
        backup_retention_days=30,
        deletion_protection=True,
    ),
    load_balancer=LoadBalancerConfig(
        # PLACEHOLDER certificate (no such certificate exists).
        certificate_arn="arn:aws:acm:eu-west-1:111111111111:certificate/00000000-0000-0000-0000-000000000003",
        test_listener_port=8443,
        test_listener_cidrs=_TEST_CLIENT_CIDRS["prod"],
        deletion_protection=True,
        access_logs=True,
        waf=True,
    ),
    deployment=DeploymentConfig(
        config_name="CodeDeployDefault.ECSCanary10Percent5Minutes",
        terminate_blue_after_minutes=60,
        rollback_on_alarm=True,
    ),
    alarms=AlarmConfig(emails=("payments-oncall@example.com",)),
    # PLACEHOLDER address (listed until replaced): who is told of audit
    # tampering and high findings; the production tier requires one.
    security_baseline=SecurityBaselineConfig(alert_emails=("security-oncall@example.com",)),
    # The production tier refuses CRITICAL and HIGH findings unless accepted.
    release=ReleaseConfig(blocking_severities=("CRITICAL", "HIGH"), scan_wait_minutes=10),
    # The production tier keeps a locked vault and a copy in another region
    # (docs/backup.md).
    backup=BackupConfig(
        copy_region="eu-central-1",
        vault_lock_mode="compliance",
        lock_changeable_for_days=3,
    ),
)

ENVIRONMENTS: tuple[EnvironmentConfig, ...] = (DEV, STAGING, PROD)
