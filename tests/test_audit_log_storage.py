"""PCI DSS 10.3.2-10.3.4 (issue #15, docs/pci-responsibility.md): audit logs
stored in S3 cannot be altered or deleted before their retention ends."""

from __future__ import annotations

import pytest

from modules.load_balancer import AccessLogBucket, AccessLogBucketProps
from tests.conftest import ENVIRONMENTS, stack


@pytest.mark.parametrize("env_name", ENVIRONMENTS)
def test_alb_access_log_bucket_is_object_locked_for_the_log_retention(
    stacks, environments, env_name
):
    env = environments[env_name]
    services = stack(stacks, env_name, "services")
    locks = services.resources("aws_s3_bucket_object_lock_configuration")
    assert bool(locks) is env.load_balancer.access_logs
    if not locks:
        return
    ((lock_id, lock),) = locks.items()
    ((bucket_id, bucket),) = services.resources("aws_s3_bucket").items()
    # On the existing bucket: object_lock_enabled on aws_s3_bucket would replace it.
    assert "object_lock_enabled" not in bucket
    assert "object_lock_configuration" not in bucket
    assert lock["bucket"] == f"${{aws_s3_bucket.{bucket_id}.id}}"
    assert lock["object_lock_enabled"] == "Enabled"
    mode = "COMPLIANCE" if env.is_production else "GOVERNANCE"
    assert lock["rule"]["default_retention"] == {"mode": mode, "days": env.log_retention_days}
    # S3 accepts Object Lock only once versioning is enabled.
    (versioning_id,) = services.resources("aws_s3_bucket_versioning")
    assert lock["depends_on"] == [f"aws_s3_bucket_versioning.{versioning_id}"]


def test_access_log_bucket_refuses_an_unknown_lock_mode():
    from framework import App, TerraformStack

    scope = TerraformStack(App(), "lock-mode")
    with pytest.raises(ValueError, match="object_lock_mode: 'LEGAL_HOLD' is not allowed"):
        AccessLogBucket(
            scope,
            "logs",
            AccessLogBucketProps(
                bucket_name="logs",
                expiry_days=30,
                elb_account_arn="arn:aws:iam::156460612806:root",
                account_id="123456789012",
                object_lock_mode="LEGAL_HOLD",
            ),
        )
