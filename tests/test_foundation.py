"""Every stack is wired in one place: provider, default tags, S3 state."""
from __future__ import annotations

import dataclasses

import pytest

from framework import App
from framework import Testing as CdktfTesting
from stacks.base import PlatformStack, state_key
from tests.conftest import ENVIRONMENTS, stack

PARTS_WITH_REMOTE_STATE = ("security", "network")


def remote_stacks(stacks):
    return {n: s for n, s in stacks.items() if not n.endswith("-bootstrap")}


def test_each_environment_has_every_tier(stacks):
    for env in ENVIRONMENTS:
        for part in ("bootstrap", "security", "network", "data", "services"):
            assert f"payment-{env}-{part}" in stacks


def test_every_remote_stack_uses_encrypted_locked_s3_state(stacks, environments):
    for name, synthesized in remote_stacks(stacks).items():
        env_name = name.split("-")[1]
        backend = synthesized.json["terraform"]["backend"]
        assert list(backend) == ["s3"], name
        s3 = backend["s3"]
        part = name.split("-", 2)[2]
        assert s3 == {
            "bucket": environments[env_name].state_bucket,
            "key": state_key(environments[env_name], part),
            "region": environments[env_name].backend_region,
            "encrypt": True,
            "use_lockfile": True,
        }, name


def test_state_keys_are_unique_across_all_stacks(stacks):
    keys = [(s.json["terraform"]["backend"]["s3"]["bucket"], s.json["terraform"]["backend"]["s3"]["key"])
            for s in remote_stacks(stacks).values()]
    assert len(keys) == len(set(keys)) >= 12


def test_bootstrap_stack_keeps_local_state(stacks):
    for env in ENVIRONMENTS:
        backend = stack(stacks, env, "bootstrap").json["terraform"]["backend"]
        assert list(backend) == ["local"]
        assert backend["local"]["path"].endswith(f"state/payment-{env}-bootstrap.tfstate")


def test_provider_has_region_and_default_tags(stacks, environments):
    for name, synthesized in stacks.items():
        env = environments[name.split("-")[1]]
        assert CdktfTesting.to_have_provider_with_properties(synthesized.text, "aws", {
            "region": env.region,
            "default_tags": [{"tags": {
                "project": "payment-platform",
                "environment": env.name,
                "managed-by": "cdktf",
                "cost-center": env.cost_center,
                "stack": name,
            }}],
        }), name
        assert "allowed_account_ids" not in synthesized.json["provider"]["aws"][0], name


def test_allowed_account_ids_is_set_when_account_is_configured(environments):
    env = dataclasses.replace(environments["dev"], account_id="123456789012")
    app = App()
    platform_stack = PlatformStack(app, env, "probe")
    synthesized = CdktfTesting.synth(platform_stack)
    assert CdktfTesting.to_have_provider_with_properties(
        synthesized, "aws", {"allowed_account_ids": ["123456789012"]})


class TestStateBootstrap:
    @pytest.fixture(params=ENVIRONMENTS)
    def bootstrap(self, request, stacks):
        return stack(stacks, request.param, "bootstrap")

    def test_bucket_is_named_from_config_and_never_destroyed(self, bootstrap, environments):
        env = environments[bootstrap.name.split("-")[1]]
        bucket = bootstrap.only("aws_s3_bucket")
        assert bucket["bucket"] == env.state_bucket
        assert bucket["lifecycle"]["prevent_destroy"] is True

    def test_versioned_kms_encrypted_private(self, bootstrap):
        assert bootstrap.only("aws_s3_bucket_versioning")["versioning_configuration"]["status"] == "Enabled"
        rule = bootstrap.only("aws_s3_bucket_server_side_encryption_configuration")["rule"][0]
        assert rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
        assert "aws_kms_key" in rule["apply_server_side_encryption_by_default"]["kms_master_key_id"]
        block = bootstrap.only("aws_s3_bucket_public_access_block")
        assert all(block[k] is True for k in (
            "block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets"))
        assert bootstrap.only("aws_s3_bucket_ownership_controls")["rule"]["object_ownership"] == "BucketOwnerEnforced"

    def test_tls_only_policy(self, bootstrap):
        import json
        policy = json.loads(bootstrap.only("aws_s3_bucket_policy")["policy"])
        (statement,) = policy["Statement"]
        assert statement["Effect"] == "Deny"
        assert statement["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    def test_old_versions_expire(self, bootstrap):
        rule = bootstrap.only("aws_s3_bucket_lifecycle_configuration")["rule"][0]
        assert rule["status"] == "Enabled"
        assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] == 90

    def test_state_key_rotates_and_is_kept(self, bootstrap):
        key = bootstrap.only("aws_kms_key")
        assert key["enable_key_rotation"] is True
        assert key["lifecycle"]["prevent_destroy"] is True
