"""The S3 bucket that holds the Terraform state of an environment, and the
bucket that records who accessed it (S3 server access logs)."""
from __future__ import annotations

import json
from dataclasses import dataclass

from framework import Construct, TerraformResourceLifecycle
from framework.aws import aws

_sse = aws.s3_bucket_server_side_encryption_configuration
_lc = aws.s3_bucket_lifecycle_configuration


@dataclass(frozen=True, kw_only=True)
class StateBucketProps:
    """``bucket_name``: globally unique name (from configuration).
    ``kms_key_arn``: key for server-side encryption.
    ``noncurrent_version_days``: how long superseded state versions are kept
    (they are the undo history of every apply).
    ``access_log_days``: how long the access logs of the state bucket are
    kept (an audit trail: who read or wrote state).
    """

    bucket_name: str
    kms_key_arn: str
    noncurrent_version_days: int = 90
    access_log_days: int = 365


class _PrivateBucket(Construct):
    """Versioned, private, owner-enforced, TLS-only, never destroyed."""

    def __init__(self, scope: Construct, construct_id: str, *, name: str, kms_key_arn: str | None,
                 lifecycle_rule: "_lc.S3BucketLifecycleConfigurationRule",
                 extra_statements: list[dict] | None = None) -> None:
        super().__init__(scope, construct_id)
        self.bucket = aws.s3_bucket.S3Bucket(
            self, "bucket", bucket=name,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        bucket_id = self.bucket.id
        aws.s3_bucket_versioning.S3BucketVersioningA(
            self, "versioning", bucket=bucket_id,
            versioning_configuration=aws.s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(
                status="Enabled"
            ),
        )
        default = (
            _sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn)
            if kms_key_arn else
            # S3 server access logging delivers only to SSE-S3 buckets.
            _sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="AES256")
        )
        _sse.S3BucketServerSideEncryptionConfigurationA(
            self, "encryption", bucket=bucket_id,
            rule=[_sse.S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=default,
                bucket_key_enabled=bool(kms_key_arn),
            )],
        )
        aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            self, "public-access-block", bucket=bucket_id,
            block_public_acls=True, block_public_policy=True,
            ignore_public_acls=True, restrict_public_buckets=True,
        )
        aws.s3_bucket_ownership_controls.S3BucketOwnershipControls(
            self, "ownership", bucket=bucket_id,
            rule=aws.s3_bucket_ownership_controls.S3BucketOwnershipControlsRule(
                object_ownership="BucketOwnerEnforced"
            ),
        )
        _lc.S3BucketLifecycleConfiguration(self, "lifecycle", bucket=bucket_id, rule=[lifecycle_rule])
        aws.s3_bucket_policy.S3BucketPolicy(
            self, "policy", bucket=bucket_id,
            policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [self.bucket.arn, f"{self.bucket.arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }, *(extra_statements or [])],
            }),
        )


class StateBucket(Construct):
    """The state bucket (KMS) and its access-log bucket (SSE-S3)."""

    def __init__(self, scope: Construct, construct_id: str, props: StateBucketProps,
                 account_id: str) -> None:
        super().__init__(scope, construct_id)
        log_name = f"{props.bucket_name}-access-logs"
        log_arn = f"arn:aws:s3:::{log_name}"
        self.access_logs = _PrivateBucket(
            self, "access-logs", name=log_name, kms_key_arn=None,
            lifecycle_rule=_lc.S3BucketLifecycleConfigurationRule(
                id="expire-access-logs", status="Enabled",
                filter=[_lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                expiration=[_lc.S3BucketLifecycleConfigurationRuleExpiration(
                    days=props.access_log_days)],
                noncurrent_version_expiration=[
                    _lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(noncurrent_days=1)],
                abort_incomplete_multipart_upload=[
                    _lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=7)],
            ),
            extra_statements=[{
                "Sid": "S3ServerAccessLogDelivery",
                "Effect": "Allow",
                "Principal": {"Service": "logging.s3.amazonaws.com"},
                "Action": "s3:PutObject",
                "Resource": f"{log_arn}/*",
                "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
            }],
        )
        state = _PrivateBucket(
            self, "state", name=props.bucket_name, kms_key_arn=props.kms_key_arn,
            lifecycle_rule=_lc.S3BucketLifecycleConfigurationRule(
                id="expire-old-state-versions", status="Enabled",
                filter=[_lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                noncurrent_version_expiration=[
                    _lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                        noncurrent_days=props.noncurrent_version_days)],
                abort_incomplete_multipart_upload=[
                    _lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=7)],
            ),
        )
        self.bucket = state.bucket
        aws.s3_bucket_logging.S3BucketLoggingA(
            self, "logging", bucket=self.bucket.id,
            target_bucket=self.access_logs.bucket.id, target_prefix="state/",
        )
