"""The Terraform state survives a region loss (issue #28, D60): where an
environment has a backup copy region, its bootstrap stack replicates the
state bucket there, into a versioned bucket encrypted with its own key in
that region; without one, nothing is replicated.

AWS facts encoded here: replicating SSE-KMS objects needs
``source_selection_criteria.sse_kms_encrypted_objects`` and the replica's
key in the destination, and the role decrypts through S3 in the source
region and encrypts through S3 in the destination (Amazon S3 user guide,
"Replicating encrypted objects",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html);
replication needs versioning on both buckets ("Requirements and
considerations for replication",
https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-requirements.html).
"""

from __future__ import annotations

import json

import pytest

from config.naming import state_replica_bucket_name, state_replication_role_name
from tests.conftest import stack
from tests.services_helpers import find, ref, statements
from verify.iam_eval import allowed


def _bootstrap(stacks, env):
    return stack(stacks, env.name, "bootstrap")


def _provider_region(boot, resource: dict, env) -> str:
    alias = resource.get("provider")
    providers = boot.json["provider"]["aws"]
    if alias is None:
        return next(p["region"] for p in providers if "alias" not in p)
    return next(p["region"] for p in providers if f"aws.{p.get('alias')}" == alias)


def test_the_state_is_replicated_exactly_where_a_copy_region_is_configured(stacks, env):
    boot = _bootstrap(stacks, env)
    replications = boot.resources("aws_s3_bucket_replication_configuration")
    assert len(replications) == (1 if env.backup.copy_region else 0)


def _replicated(stacks, env):
    if not env.backup.copy_region:
        pytest.skip(f"{env.name} has no backup copy region (the test above covers it)")
    return _bootstrap(stacks, env)


def test_the_replica_is_a_versioned_kms_bucket_in_the_copy_region(stacks, env):
    boot = _replicated(stacks, env)
    bucket_key, bucket = find(boot, "aws_s3_bucket", "state-replica/replica/bucket")
    assert bucket["bucket"] == state_replica_bucket_name(env)
    assert _provider_region(boot, bucket, env) == env.backup.copy_region
    assert bucket["lifecycle"]["prevent_destroy"] is True
    _, versioning = find(boot, "aws_s3_bucket_versioning", "state-replica/replica/versioning")
    assert versioning["versioning_configuration"]["status"] == "Enabled"
    key_key, key = find(boot, "aws_kms_key", "state-replica-key/key")
    assert _provider_region(boot, key, env) == env.backup.copy_region
    assert key["lifecycle"]["prevent_destroy"] is True
    _, encryption = find(
        boot,
        "aws_s3_bucket_server_side_encryption_configuration",
        "state-replica/replica/encryption",
    )
    (rule,) = encryption["rule"]
    assert rule["apply_server_side_encryption_by_default"] == {
        "sse_algorithm": "aws:kms",
        "kms_master_key_id": ref("aws_kms_key", key_key, "arn"),
    }
    for part in ("public-access-block", "policy", "lifecycle", "ownership"):
        resource_type = {
            "public-access-block": "aws_s3_bucket_public_access_block",
            "policy": "aws_s3_bucket_policy",
            "lifecycle": "aws_s3_bucket_lifecycle_configuration",
            "ownership": "aws_s3_bucket_ownership_controls",
        }[part]
        _, resource = find(boot, resource_type, f"state-replica/replica/{part}")
        assert resource["bucket"] == ref("aws_s3_bucket", bucket_key, "id")
        assert _provider_region(boot, resource, env) == env.backup.copy_region


def test_every_kms_encrypted_state_version_is_replicated_with_the_replica_key(stacks, env):
    boot = _replicated(stacks, env)
    state_key, _ = find(boot, "aws_s3_bucket", "state/state/bucket")
    replica_key, _ = find(boot, "aws_s3_bucket", "state-replica/replica/bucket")
    key_key, _ = find(boot, "aws_kms_key", "state-replica-key/key")
    role_key, _ = find(boot, "aws_iam_role", "state-replica/role")
    _, replication = find(
        boot, "aws_s3_bucket_replication_configuration", "state-replica/replication"
    )
    assert replication["bucket"] == ref("aws_s3_bucket", state_key, "id")
    assert replication["role"] == ref("aws_iam_role", role_key, "arn")
    (rule,) = replication["rule"]
    assert rule["status"] == "Enabled" and rule["filter"] == {"prefix": ""}
    assert rule["source_selection_criteria"] == {"sse_kms_encrypted_objects": {"status": "Enabled"}}
    # A deleted state object stays readable in the replica.
    assert rule["delete_marker_replication"] == {"status": "Disabled"}
    assert rule["destination"]["bucket"] == ref("aws_s3_bucket", replica_key, "arn")
    assert rule["destination"]["encryption_configuration"] == {
        "replica_kms_key_id": ref("aws_kms_key", key_key, "arn")
    }
    # Versioning of both buckets first (replication requires it).
    assert sorted(replication["depends_on"]) == sorted(
        f"aws_s3_bucket_versioning.{find(boot, 'aws_s3_bucket_versioning', path)[0]}"
        for path in ("state/state/versioning", "state-replica/replica/versioning")
    )


def test_the_replication_role_reads_the_state_and_writes_the_replica_only(stacks, env):
    boot = _replicated(stacks, env)
    _, role = find(boot, "aws_iam_role", "state-replica/role")
    assert role["name"] == state_replication_role_name(env)
    trust = json.loads(role["assume_role_policy"])["Statement"]
    assert [s["Principal"] for s in trust] == [{"Service": "s3.amazonaws.com"}]
    _, policy = find(boot, "aws_iam_role_policy", "state-replica/policy")
    granted = statements(policy)
    state_key, _ = find(boot, "aws_s3_bucket", "state/state/bucket")
    replica_key, _ = find(boot, "aws_s3_bucket", "state-replica/replica/bucket")
    state = ref("aws_s3_bucket", state_key, "arn")
    replica = ref("aws_s3_bucket", replica_key, "arn")
    assert allowed(granted, "s3:GetObjectVersionForReplication", f"{state}/env/x.tfstate")
    assert allowed(granted, "s3:ReplicateObject", f"{replica}/env/x.tfstate")
    for action in ("s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:GetObject"):
        assert not allowed(granted, action, f"{state}/env/x.tfstate"), action
        assert not allowed(granted, action, f"{replica}/env/x.tfstate"), action
    assert not allowed(granted, "s3:ReplicateObject", f"{state}/env/x.tfstate")
    by_sid = {s["Sid"]: s for s in granted}
    decrypt = by_sid["DecryptStateThroughS3"]["Condition"]
    assert decrypt["StringEquals"] == {"kms:ViaService": f"s3.{env.region}.amazonaws.com"}
    encrypt = by_sid["EncryptReplicasThroughS3"]["Condition"]
    assert encrypt["StringEquals"] == {
        "kms:ViaService": f"s3.{env.backup.copy_region}.amazonaws.com"
    }
    assert encrypt["StringLike"]["kms:EncryptionContext:aws:s3:arn"] == [replica, f"{replica}/*"]


def test_the_example_production_state_is_replicated(example_stacks, example_environments):
    """The example's prod has a copy region: the tests above run there."""
    prod = example_environments["prod"]
    assert prod.backup.copy_region
    boot = stack(example_stacks, "prod", "bootstrap")
    assert len(boot.resources("aws_s3_bucket_replication_configuration")) == 1
