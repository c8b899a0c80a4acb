"""The S3 bucket that holds the Terraform state of an environment."""
from __future__ import annotations

import json
from dataclasses import dataclass

from framework import Construct, TerraformResourceLifecycle
from framework.aws import aws


@dataclass(frozen=True, kw_only=True)
class StateBucketProps:
    """``bucket_name``: globally unique name (from configuration).
    ``kms_key_arn``: key for server-side encryption.
    ``noncurrent_version_days``: how long superseded state versions are kept
    (they are the undo history of every apply).
    """

    bucket_name: str
    kms_key_arn: str
    noncurrent_version_days: int = 90


class StateBucket(Construct):
    """Versioned, KMS-encrypted, private, TLS-only, never destroyed by Terraform."""

    def __init__(self, scope: Construct, construct_id: str, props: StateBucketProps) -> None:
        super().__init__(scope, construct_id)
        self.bucket = aws.s3_bucket.S3Bucket(
            self,
            "bucket",
            bucket=props.bucket_name,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True),
        )
        bucket_id = self.bucket.id
        aws.s3_bucket_versioning.S3BucketVersioningA(
            self, "versioning", bucket=bucket_id,
            versioning_configuration=aws.s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(
                status="Enabled"
            ),
        )
        sse = aws.s3_bucket_server_side_encryption_configuration
        sse.S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            rule=[sse.S3BucketServerSideEncryptionConfigurationRuleA(
                apply_server_side_encryption_by_default=sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                    sse_algorithm="aws:kms", kms_master_key_id=props.kms_key_arn
                ),
                bucket_key_enabled=True,
            )],
        )
        aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=bucket_id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        aws.s3_bucket_ownership_controls.S3BucketOwnershipControls(
            self, "ownership", bucket=bucket_id,
            rule=aws.s3_bucket_ownership_controls.S3BucketOwnershipControlsRule(
                object_ownership="BucketOwnerEnforced"
            ),
        )
        lc = aws.s3_bucket_lifecycle_configuration
        lc.S3BucketLifecycleConfiguration(
            self,
            "lifecycle",
            bucket=bucket_id,
            rule=[lc.S3BucketLifecycleConfigurationRule(
                id="expire-old-state-versions",
                status="Enabled",
                filter=[lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                noncurrent_version_expiration=[
                    lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                        noncurrent_days=props.noncurrent_version_days
                    )
                ],
                abort_incomplete_multipart_upload=[
                    lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=7
                    )
                ],
            )],
        )
        aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "tls-only",
            bucket=bucket_id,
            policy=json.dumps({
                "Version": "2012-10-17",
                "Statement": [{
                    "Sid": "DenyInsecureTransport",
                    "Effect": "Deny",
                    "Principal": "*",
                    "Action": "s3:*",
                    "Resource": [self.bucket.arn, f"{self.bucket.arn}/*"],
                    "Condition": {"Bool": {"aws:SecureTransport": "false"}},
                }],
            }),
        )
