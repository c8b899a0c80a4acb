"""Every stack is wired in one place: provider, default tags, S3 state."""

from __future__ import annotations

import dataclasses
import json

import pytest

from config.naming import stack_names, state_key_alias
from framework import App
from framework import Testing as CdktfTesting
from stacks.base import REQUIRED_TERRAFORM_VERSION, PlatformStack, state_key
from tests.conftest import ENVIRONMENTS, stack
from tests.services_helpers import find

PARTS_WITH_REMOTE_STATE = ("security", "network")


def remote_stacks(stacks):
    return {n: s for n, s in stacks.items() if not n.endswith("-bootstrap")}


@pytest.fixture(scope="module")
def stack_parts(built_stacks) -> dict[str, tuple[str, str]]:
    """stack name -> (environment name, part); environment names may
    contain hyphens, so a stack name alone does not say where one ends."""
    return {s.node.id: (env, s.part) for env, built in built_stacks.items() for s in built.all()}


def test_each_environment_has_every_tier(stacks):
    for env in ENVIRONMENTS:
        for part in ("bootstrap", "security", "network", "data", "services"):
            assert f"payment-{env}-{part}" in stacks


def test_the_app_synthesizes_exactly_the_configured_stack_names(stacks, environments):
    """config.naming.stack_names is the list make diff checks STACK against
    (tools/checks/check_env.py --stack) before anything is installed."""
    configured = tuple(environments.values())
    assert sorted(stack_names(configured, configured)) == sorted(stacks)


def test_every_remote_stack_uses_encrypted_locked_s3_state(stacks, environments, stack_parts):
    assert set(stack_parts) == set(stacks)
    for name, synthesized in remote_stacks(stacks).items():
        env_name, part = stack_parts[name]
        backend = synthesized.json["terraform"]["backend"]
        assert list(backend) == ["s3"], name
        s3 = backend["s3"]
        assert s3 == {
            "bucket": environments[env_name].state_bucket,
            "key": state_key(environments[env_name], part),
            "region": environments[env_name].backend_region,
            "encrypt": True,
            "use_lockfile": True,
            "kms_key_id": state_key_alias(environments[env_name]),
        }, name


def test_state_is_encrypted_with_the_key_the_bootstrap_stack_creates(stacks, environments):
    """S3 backend docs: with ``encrypt`` and no ``kms_key_id`` Terraform
    writes state with SSE-S3, whatever the bucket default; the alias must be
    the one the bootstrap stack gives its key."""
    for env_name, env in environments.items():
        aliases = [
            a["name"]
            for a in stack(stacks, env_name, "bootstrap").json["resource"]["aws_kms_alias"].values()
        ]
        assert state_key_alias(env) in aliases
        for part in ("security", "network", "data", "services"):
            backend = stack(stacks, env_name, part).json["terraform"]["backend"]["s3"]
            assert backend["kms_key_id"] == state_key_alias(env)


def test_every_stack_requires_terraform_with_s3_native_locking(stacks):
    """``use_lockfile`` exists from Terraform 1.11 on."""
    assert REQUIRED_TERRAFORM_VERSION == ">= 1.11"
    for name, synthesized in stacks.items():
        assert synthesized.json["terraform"]["required_version"] == ">= 1.11", name


def test_state_keys_are_unique_across_all_stacks(stacks, environments):
    keys = [
        (
            s.json["terraform"]["backend"]["s3"]["bucket"],
            s.json["terraform"]["backend"]["s3"]["key"],
        )
        for s in remote_stacks(stacks).values()
    ]
    # security, network, data and services of each environment, and the baselines
    assert len(keys) == len(set(keys)) >= 4 * len(environments)


def test_bootstrap_stack_keeps_local_state(stacks):
    for env in ENVIRONMENTS:
        backend = stack(stacks, env, "bootstrap").json["terraform"]["backend"]
        assert list(backend) == ["local"]
        assert backend["local"]["path"].endswith(f"state/payment-{env}-bootstrap.tfstate")


def test_provider_has_region_and_default_tags(stacks, environments, stack_parts):
    for name, synthesized in stacks.items():
        env = environments[stack_parts[name][0]]
        assert CdktfTesting.to_have_provider_with_properties(
            synthesized.text,
            "aws",
            {
                "region": env.region,
                "default_tags": [
                    {
                        "tags": {
                            "project": "payment-platform",
                            "environment": env.name,
                            "managed-by": "cdktf",
                            "cost-center": env.cost_center,
                            "stack": name,
                        }
                    }
                ],
            },
        ), name
        provider = synthesized.json["provider"]["aws"][0]
        if env.account_id:
            assert provider["allowed_account_ids"] == [env.account_id], name
        else:
            assert "allowed_account_ids" not in provider, name


def test_allowed_account_ids_is_set_when_account_is_configured(example_environments):
    env = dataclasses.replace(example_environments["dev"], account_id="123456789012")
    app = App()
    platform_stack = PlatformStack(app, env, "probe")
    synthesized = CdktfTesting.synth(platform_stack)
    assert CdktfTesting.to_have_provider_with_properties(
        synthesized, "aws", {"allowed_account_ids": ["123456789012"]}
    )


def _by_bucket(bootstrap, resource_type: str, which: str) -> dict:
    """The ``resource_type`` resource of the state bucket or of its access-log
    bucket (the state's replica has its own tests: tests/test_state_replication.py)."""
    found = [
        r
        for name, r in bootstrap.resources(resource_type).items()
        if ("access-logs" in name) == (which == "logs") and not name.startswith("state-replica")
    ]
    assert len(found) == 1, (resource_type, which, found)
    return found[0]


class TestStateBootstrap:
    @pytest.fixture(params=ENVIRONMENTS)
    def bootstrap(self, request, stacks):
        return stack(stacks, request.param, "bootstrap")

    def test_buckets_are_named_from_config_and_never_destroyed(self, bootstrap, environments):
        env = environments[bootstrap.name.removeprefix("payment-").removesuffix("-bootstrap")]
        assert _by_bucket(bootstrap, "aws_s3_bucket", "state")["bucket"] == env.state_bucket
        assert (
            _by_bucket(bootstrap, "aws_s3_bucket", "logs")["bucket"]
            == f"{env.state_bucket}-access-logs"
        )
        for bucket in bootstrap.resources("aws_s3_bucket").values():
            assert bucket["lifecycle"]["prevent_destroy"] is True

    def test_versioned_encrypted_private(self, bootstrap):
        for which in ("state", "logs"):
            assert (
                _by_bucket(bootstrap, "aws_s3_bucket_versioning", which)[
                    "versioning_configuration"
                ]["status"]
                == "Enabled"
            )
            block = _by_bucket(bootstrap, "aws_s3_bucket_public_access_block", which)
            assert all(
                block[k] is True
                for k in (
                    "block_public_acls",
                    "block_public_policy",
                    "ignore_public_acls",
                    "restrict_public_buckets",
                )
            )
            assert (
                _by_bucket(bootstrap, "aws_s3_bucket_ownership_controls", which)["rule"][
                    "object_ownership"
                ]
                == "BucketOwnerEnforced"
            )
        state_rule = _by_bucket(
            bootstrap, "aws_s3_bucket_server_side_encryption_configuration", "state"
        )["rule"][0]
        assert state_rule["apply_server_side_encryption_by_default"]["sse_algorithm"] == "aws:kms"
        assert (
            "aws_kms_key"
            in state_rule["apply_server_side_encryption_by_default"]["kms_master_key_id"]
        )
        # S3 server access logs can only be delivered to an SSE-S3 bucket.
        log_rule = _by_bucket(
            bootstrap, "aws_s3_bucket_server_side_encryption_configuration", "logs"
        )["rule"][0]
        assert log_rule["apply_server_side_encryption_by_default"] == {"sse_algorithm": "AES256"}

    def test_tls_only_policies(self, bootstrap):
        for which in ("state", "logs"):
            policy = json.loads(_by_bucket(bootstrap, "aws_s3_bucket_policy", which)["policy"])
            deny = policy["Statement"][0]
            assert deny["Effect"] == "Deny" and deny["Action"] == "s3:*"
            assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}

    def test_state_access_is_logged_to_the_log_bucket(self, bootstrap):
        logging = bootstrap.only("aws_s3_bucket_logging")
        assert "state_bucket" in logging["bucket"]
        assert "access-logs_bucket" in logging["target_bucket"]
        policy = json.loads(_by_bucket(bootstrap, "aws_s3_bucket_policy", "logs")["policy"])
        delivery = policy["Statement"][1]
        assert delivery["Principal"] == {"Service": "logging.s3.amazonaws.com"}
        assert delivery["Action"] == "s3:PutObject"
        assert "aws:SourceAccount" in delivery["Condition"]["StringEquals"]

    def test_old_versions_and_logs_expire(self, bootstrap):
        rule = _by_bucket(bootstrap, "aws_s3_bucket_lifecycle_configuration", "state")["rule"][0]
        assert rule["status"] == "Enabled"
        assert rule["noncurrent_version_expiration"][0]["noncurrent_days"] == 90
        log_rule = _by_bucket(bootstrap, "aws_s3_bucket_lifecycle_configuration", "logs")["rule"][0]
        assert log_rule["expiration"][0]["days"] == 365

    def test_state_key_rotates_and_is_kept(self, bootstrap):
        _, key = find(bootstrap, "aws_kms_key", "state-key/key")
        assert key["enable_key_rotation"] is True
        assert key["lifecycle"]["prevent_destroy"] is True


def test_production_tier_log_groups_are_never_destroyed_by_terraform(
    stacks, built_stacks, environments
):
    """The tier decides: every log group of every stack of a production-tier
    environment is protected, none of another environment's is."""
    for env_name, env in environments.items():
        names = {s.node.id for s in built_stacks[env_name].all()}
        groups = [
            g for name in names for g in stacks[name].resources("aws_cloudwatch_log_group").values()
        ]
        assert groups, env_name
        protected = [g.get("lifecycle", {}).get("prevent_destroy") is True for g in groups]
        assert all(protected) if env.is_production else not any(protected), env_name


def test_prod_log_groups_are_never_destroyed_by_terraform(example_stacks):
    """PCI DSS 10.5.1: a year of audit trail; an Aspect protects every log
    group of every prod stack, whichever module created it."""
    stacks = example_stacks
    prod_groups = [
        (name, g)
        for name, s in stacks.items()
        if name.startswith("payment-prod-")
        for g in s.resources("aws_cloudwatch_log_group").values()
    ]
    assert len(prod_groups) >= 9
    assert all(g.get("lifecycle", {}).get("prevent_destroy") is True for _, g in prod_groups)
    other = [
        g
        for name, s in stacks.items()
        if not name.startswith("payment-prod-")
        for g in s.resources("aws_cloudwatch_log_group").values()
    ]
    assert other and not any(g.get("lifecycle", {}).get("prevent_destroy") for g in other)


def test_the_bootstrap_stack_alone_is_the_one_of_the_whole_app(stacks, environments, tmp_path):
    """What lets tests synthesize a variant's bootstrap stack on its own."""
    from tests.synth import synthesize_bootstrap

    for name, env in environments.items():
        alone = synthesize_bootstrap(env, tmp_path / name)
        assert alone.name == f"payment-{name}-bootstrap"
        assert alone.text == stack(stacks, name, "bootstrap").text


def test_bootstrap_state_moves_into_its_bucket_when_configured(tmp_path, example_environments):
    """After the first deployment (docs/cli.md): the bootstrap stack gets the
    same S3 backend as every other stack, under its own key, so
    `cdktf deploy payment-<env>-bootstrap --migrate-state` copies it there."""
    from tests.synth import synthesize_bootstrap

    env = dataclasses.replace(example_environments["dev"], bootstrap_state="s3")
    backend = synthesize_bootstrap(env, tmp_path).json["terraform"]["backend"]
    assert backend == {
        "s3": {
            "bucket": env.state_bucket,
            "key": "payment-platform/dev/bootstrap.tfstate",
            "region": env.backend_region,
            "encrypt": True,
            "use_lockfile": True,
            "kms_key_id": "alias/payment-dev-terraform-state",
        }
    }


def test_bootstrap_state_must_be_local_or_s3(example_environments):
    from config import ConfigError, load_environments

    bad = dataclasses.replace(example_environments["dev"], bootstrap_state="bucket")
    others = [e for n, e in example_environments.items() if n != "dev"]
    with pytest.raises(
        ConfigError,
        match=r"dev\.bootstrap_state: 'bucket' is not allowed; "
        r"allowed: local, s3",
    ):
        load_environments(defined=[bad, *others])
