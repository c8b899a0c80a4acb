"""The account-level security baseline (issue #15, docs/pci-responsibility.md,
D35): one per account and region, built only when configuration says this
repository provides it."""

from __future__ import annotations

import dataclasses
import json

import pytest

from config import ConfigError, load_environments
from config.model import (
    PROVIDED_BY_ORGANIZATION,
    THIS_REPOSITORY,
    SecurityBaselineConfig,
    baseline_owner,
)
from modules.threat_detection import PCI_DSS_STANDARD
from tests.conftest import CONFIGURED, stack
from tests.fixtures.example import DEV, PROD, STAGING
from tests.services_helpers import find

#: The environments of the configuration under test that deploy their
#: account's baseline (one per account and region this repository provides).
BASELINE_OWNERS = tuple(
    env.name
    for env in CONFIGURED
    if env.security_baseline.provided_by == THIS_REPOSITORY
    and baseline_owner(env, CONFIGURED) == env.name
)


def members_of(owner):
    """The environments sharing ``owner``'s baseline, ``owner`` included."""
    return [e for e in CONFIGURED if e.account_scope == owner.account_scope]


def test_each_account_this_repository_provides_has_one_baseline(stacks):
    built = {name for name in stacks if name.endswith("-baseline")}
    assert built == {f"payment-{name}-baseline" for name in BASELINE_OWNERS}
    for env in CONFIGURED:
        provided_here = env.security_baseline.provided_by == THIS_REPOSITORY
        assert (baseline_owner(env, CONFIGURED) in BASELINE_OWNERS) is provided_here, env.name


def test_every_example_environment_deploys_its_own_baseline(example_stacks):
    built = {name for name in example_stacks if name.endswith("-baseline")}
    assert built == {f"payment-{name}-baseline" for name in ("dev", "staging", "prod")}


@pytest.mark.parametrize("env_name", BASELINE_OWNERS)
def test_trail_validates_log_files_into_a_locked_encrypted_bucket(stacks, environments, env_name):
    env = environments[env_name]
    members = members_of(env)
    # Shared by environments of one account: the strictest of them decides.
    production = any(e.is_production for e in members)
    retention_days = max(e.log_retention_days for e in members)
    baseline = stack(stacks, env_name, "baseline")
    trail = baseline.only("aws_cloudtrail")
    assert trail["enable_log_file_validation"] is True
    assert trail["is_multi_region_trail"] is True
    assert trail["kms_key_id"].startswith("${aws_kms_key.audit-key_")
    lock = baseline.only("aws_s3_bucket_object_lock_configuration")
    mode = "COMPLIANCE" if production else "GOVERNANCE"
    assert lock["rule"]["default_retention"] == {"mode": mode, "days": retention_days}
    key, bucket = find(baseline, "aws_s3_bucket", "trail/bucket/bucket")
    assert lock["bucket"] == f"${{aws_s3_bucket.{key}.id}}"
    assert "object_lock_enabled" not in bucket
    assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is production
    _, sse = find(
        baseline, "aws_s3_bucket_server_side_encryption_configuration", "trail/bucket/encryption"
    )
    assert sse["rule"][0]["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
    _, policy = find(baseline, "aws_s3_bucket_policy", "trail/bucket/policy")
    assert json.loads(policy["policy"])["Statement"][0]["Sid"] == "DenyInsecureTransport"
    # The state bucket's reads and writes are recorded (its access-log bucket cannot be locked).
    data = [s for s in trail["advanced_event_selector"] if s["name"] == "terraform-state-objects"]
    (arns,) = [f["starts_with"] for f in data[0]["field_selector"] if f["field"] == "resources.ARN"]
    assert arns == [
        f"arn:${{data.aws_partition.partition.partition}}:s3:::{bucket}/"
        for bucket in sorted({e.state_bucket for e in members})
    ]
    # So are AWS Config's deliveries (their bucket cannot be locked: PAY-LOG-002).
    history = [
        s for s in trail["advanced_event_selector"] if s["name"] == "configuration-history-objects"
    ]
    (arns,) = [
        f["starts_with"] for f in history[0]["field_selector"] if f["field"] == "resources.ARN"
    ]
    account = env.account_id or "${data.aws_caller_identity.current.account_id}"
    assert arns == [
        f"arn:${{data.aws_partition.partition.partition}}:s3:::{env.prefix}-config-{account}/"
    ]


@pytest.mark.parametrize("env_name", BASELINE_OWNERS)
def test_guardduty_config_security_hub_and_rds_os_metrics(stacks, environments, env_name):
    env = environments[env_name]
    baseline = stack(stacks, env_name, "baseline")
    features = {f["name"]: f for f in baseline.resources("aws_guardduty_detector_feature").values()}
    assert set(features) == {"RUNTIME_MONITORING", "RDS_LOGIN_EVENTS"}
    assert all(f["status"] == "ENABLED" for f in features.values())
    # All three that GuardDuty returns (PAY-GD-001); no agent yet (D43).
    assert features["RUNTIME_MONITORING"]["additional_configuration"] == [
        {"name": "EKS_ADDON_MANAGEMENT", "status": "DISABLED"},
        {"name": "ECS_FARGATE_AGENT_MANAGEMENT", "status": "DISABLED"},
        {"name": "EC2_AGENT_MANAGEMENT", "status": "DISABLED"},
    ]
    recorder = baseline.only("aws_config_configuration_recorder")
    assert recorder["recording_group"]["all_supported"] is True
    assert baseline.only("aws_config_configuration_recorder_status")["is_enabled"] is True
    hub = baseline.only("aws_securityhub_standards_subscription")
    assert hub["standards_arn"].endswith(f":securityhub:{env.region}::{PCI_DSS_STANDARD}")
    assert baseline.only("aws_securityhub_account")["enable_default_standards"] is False
    group = baseline.only("aws_cloudwatch_log_group")
    assert group["name"] == "RDSOSMetrics"
    assert group["kms_key_id"].startswith("${aws_kms_key.audit-key_")
    assert group["retention_in_days"] == max(e.log_retention_days for e in members_of(env))


@pytest.mark.parametrize("env_name", BASELINE_OWNERS)
def test_config_delivers_to_its_own_bucket_without_object_lock(stacks, environments, env_name):
    """AWS Config cannot deliver to an Object Lock bucket (AWS::Config::
    DeliveryChannel; PAY-LOG-002): its bucket is its own, encrypted with the
    audit key, TLS-only, versioned, private, owner-enforced, kept as long
    as the audit trail, and its policy admits AWS Config's documented
    delivery calls for this account only."""
    env = environments[env_name]
    members = members_of(env)
    production = any(e.is_production for e in members)
    retention_days = max(e.log_retention_days for e in members)
    baseline = stack(stacks, env_name, "baseline")
    key, bucket = find(baseline, "aws_s3_bucket", "config/bucket/bucket")
    account = env.account_id or "${data.aws_caller_identity.current.account_id}"
    assert bucket["bucket"] == f"{env.prefix}-config-{account}"
    assert "object_lock_enabled" not in bucket
    assert bucket.get("lifecycle", {}).get("prevent_destroy", False) is production
    channel = baseline.only("aws_config_delivery_channel")
    assert channel["s3_bucket_name"] == f"${{aws_s3_bucket.{key}.id}}"
    assert "s3_key_prefix" not in channel
    assert channel["s3_kms_key_arn"].startswith("${aws_kms_key.audit-key_")
    bucket_ref = f"${{aws_s3_bucket.{key}.id}}"
    [lock] = baseline.resources("aws_s3_bucket_object_lock_configuration").values()
    assert lock["bucket"] != bucket_ref

    def of_bucket(resource_type: str) -> dict:
        [found] = [
            r for r in baseline.resources(resource_type).values() if r["bucket"] == bucket_ref
        ]
        return found

    sse = of_bucket("aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
    default = sse["apply_server_side_encryption_by_default"]
    assert default["sse_algorithm"] == "aws:kms"
    assert default["kms_master_key_id"].startswith("${aws_kms_key.audit-key_")
    assert of_bucket("aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
    assert of_bucket("aws_s3_bucket_public_access_block")["restrict_public_buckets"] is True
    ownership = of_bucket("aws_s3_bucket_ownership_controls")["rule"]["object_ownership"]
    assert ownership == "BucketOwnerEnforced"
    [rule] = of_bucket("aws_s3_bucket_lifecycle_configuration")["rule"]
    assert rule["expiration"] == [{"days": retention_days}]
    # Not locked: versioning keeps what is deleted or overwritten as long.
    assert rule["noncurrent_version_expiration"] == [{"noncurrent_days": retention_days}]
    statements = {
        s["Sid"]: s for s in json.loads(of_bucket("aws_s3_bucket_policy")["policy"])["Statement"]
    }
    assert statements["DenyInsecureTransport"]["Effect"] == "Deny"
    arn = f"${{aws_s3_bucket.{key}.arn}}"
    expected = {
        "AWSConfigBucketPermissionsCheck": ("s3:GetBucketAcl", arn),
        "AWSConfigBucketExistenceCheck": ("s3:ListBucket", arn),
        "AWSConfigBucketDelivery": (
            "s3:PutObject",
            f"{arn}/AWSLogs/{account}/Config/*",
        ),
    }
    for sid, (action, resource) in expected.items():
        statement = statements[sid]
        assert statement["Principal"] == {"Service": "config.amazonaws.com"}
        assert (statement["Action"], statement["Resource"]) == (action, resource)
        source = statement["Condition"]["StringEquals"]["aws:SourceAccount"]
        assert source == account


def test_the_baseline_has_its_own_state_key(example_stacks):
    backend = stack(example_stacks, "prod", "baseline").json["terraform"]["backend"]["s3"]
    assert backend["key"] == "payment-platform/prod/baseline.tfstate"
    assert backend["bucket"] == PROD.state_bucket


def test_environments_sharing_an_account_share_one_baseline():
    dev, staging, prod = DEV, STAGING, PROD
    shared = [dataclasses.replace(e, account_id="123456789012") for e in (dev, staging)]
    assert [baseline_owner(e, [*shared, prod]) for e in shared] == ["dev", "dev"]
    # The first production-tier environment of an account owns it.
    live = dataclasses.replace(
        prod, name="live", account_id="123456789012", vpc_cidr="10.40.0.0/16"
    )
    assert baseline_owner(shared[0], [*shared, live]) == "live"
    different = dataclasses.replace(
        shared[1], security_baseline=SecurityBaselineConfig(provided_by=PROVIDED_BY_ORGANIZATION)
    )
    with pytest.raises(ConfigError, match="staging.security_baseline: .* differs from dev's"):
        load_environments(defined=[shared[0], different])


def test_a_baseline_the_organization_provides_is_not_built(tmp_path):
    from tests.synth import synthesize

    dev = dataclasses.replace(
        DEV,
        security_baseline=SecurityBaselineConfig(provided_by=PROVIDED_BY_ORGANIZATION),
    )
    built, stacks = synthesize([dev], tmp_path)
    assert built["dev"].security_baseline is None
    assert not any(name.endswith("-baseline") for name in stacks)


def test_bad_baseline_settings_are_refused():
    bad = dataclasses.replace(
        DEV,
        security_baseline=SecurityBaselineConfig(
            provided_by="nobody", log_archive_destination_arn="arn:aws:s3:::bucket"
        ),
    )
    with pytest.raises(ConfigError) as err:
        load_environments(defined=[bad])
    text = str(err.value)
    assert "dev.security_baseline.provided_by: 'nobody' is not allowed" in text
    assert "dev.security_baseline.log_archive_destination_arn: 'arn:aws:s3:::bucket'" in text
