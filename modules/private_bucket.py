"""A private S3 bucket with the controls every bucket of the platform needs."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from framework import Construct, TerraformResourceLifecycle
from framework.aws import aws
from modules import iam

_sse = aws.s3_bucket_server_side_encryption_configuration
_lc = aws.s3_bucket_lifecycle_configuration
_ol = aws.s3_bucket_object_lock_configuration

OBJECT_LOCK_MODES = ("GOVERNANCE", "COMPLIANCE")


def log_expiry_rule(rule_id: str, days: int, noncurrent_days: int = 1):
    """Lifecycle rule of a log bucket: objects expire after ``days``, old
    versions ``noncurrent_days`` later (default a day: Object Lock holds
    locked ones until their retention ends), unfinished uploads after a day."""
    return _lc.S3BucketLifecycleConfigurationRule(
        id=rule_id,
        status="Enabled",
        filter=[_lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
        expiration=[_lc.S3BucketLifecycleConfigurationRuleExpiration(days=days)],
        noncurrent_version_expiration=[
            _lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                noncurrent_days=noncurrent_days
            )
        ],
        abort_incomplete_multipart_upload=[
            _lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                days_after_initiation=1
            )
        ],
    )


class PrivateBucket(Construct):
    """Versioned, private, owner-enforced, TLS-only bucket.

    ``kms_key_arn``: SSE-KMS with that key; None: SSE-S3 (the only kind S3
    server access logging and ALB access logs deliver to).
    ``lifecycle_rule``: what expires. ``extra_statements``: given the
    bucket's ARN, the policy statements after the TLS-only deny (e.g. who may
    deliver logs); left out, the policy only denies insecure transport.
    ``prevent_destroy``: Terraform refuses to delete the bucket.
    ``provider``: an aliased provider of another region
    (``EnvironmentStack.provider_in``); left out: the stack's own.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        name: str,
        kms_key_arn: str | None,
        lifecycle_rule: Any,
        extra_statements: Callable[[str], list[dict]] | None = None,
        prevent_destroy: bool = True,
        provider: Any = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.bucket = aws.s3_bucket.S3Bucket(
            self,
            "bucket",
            bucket=name,
            provider=provider,
            lifecycle=TerraformResourceLifecycle(prevent_destroy=True) if prevent_destroy else None,
        )
        bucket_id, bucket_arn = self.bucket.id, self.bucket.arn
        self.versioning = aws.s3_bucket_versioning.S3BucketVersioningA(
            self,
            "versioning",
            bucket=bucket_id,
            provider=provider,
            versioning_configuration=aws.s3_bucket_versioning.S3BucketVersioningVersioningConfiguration(
                status="Enabled"
            ),
        )
        default = (
            _sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="aws:kms", kms_master_key_id=kms_key_arn
            )
            if kms_key_arn
            # S3 server access logging delivers only to SSE-S3 buckets.
            else _sse.S3BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultA(
                sse_algorithm="AES256"
            )
        )
        _sse.S3BucketServerSideEncryptionConfigurationA(
            self,
            "encryption",
            bucket=bucket_id,
            provider=provider,
            rule=[
                _sse.S3BucketServerSideEncryptionConfigurationRuleA(
                    apply_server_side_encryption_by_default=default,
                    bucket_key_enabled=bool(kms_key_arn),
                )
            ],
        )
        aws.s3_bucket_public_access_block.S3BucketPublicAccessBlock(
            self,
            "public-access-block",
            bucket=bucket_id,
            provider=provider,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
        )
        aws.s3_bucket_ownership_controls.S3BucketOwnershipControls(
            self,
            "ownership",
            bucket=bucket_id,
            provider=provider,
            rule=aws.s3_bucket_ownership_controls.S3BucketOwnershipControlsRule(
                object_ownership="BucketOwnerEnforced"
            ),
        )
        _lc.S3BucketLifecycleConfiguration(
            self, "lifecycle", bucket=bucket_id, rule=[lifecycle_rule], provider=provider
        )
        self.policy = aws.s3_bucket_policy.S3BucketPolicy(
            self,
            "policy",
            bucket=bucket_id,
            provider=provider,
            policy=iam.document(
                iam.deny_insecure_transport("s3:*", [bucket_arn, f"{bucket_arn}/*"]),
                *(extra_statements(bucket_arn) if extra_statements else []),
            ),
        )

    def lock_objects(self, mode: str, days: int):
        """Object Lock with a default retention of ``days`` on every new
        object version: ``COMPLIANCE`` (nobody, not even the root user,
        deletes or shortens it) or ``GOVERNANCE`` (principals with
        ``s3:BypassGovernanceRetention`` can). Turned on through
        ``aws_s3_bucket_object_lock_configuration`` on the versioned bucket;
        ``aws_s3_bucket.object_lock_enabled`` would replace the bucket. Once
        on, S3 never turns it off."""
        if mode not in OBJECT_LOCK_MODES:
            raise ValueError(
                f"object_lock_mode: {mode!r} is not allowed; allowed: {', '.join(OBJECT_LOCK_MODES)}"
            )
        return _ol.S3BucketObjectLockConfigurationA(
            self,
            "object-lock",
            bucket=self.bucket.id,
            object_lock_enabled="Enabled",
            rule=_ol.S3BucketObjectLockConfigurationRuleA(
                default_retention=_ol.S3BucketObjectLockConfigurationRuleDefaultRetentionA(
                    mode=mode, days=days
                )
            ),
            # S3 accepts Object Lock only on a bucket with versioning enabled.
            depends_on=[self.versioning],
        )
