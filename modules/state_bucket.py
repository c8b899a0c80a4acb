"""The S3 bucket that holds the Terraform state of an environment, and the
bucket that records who accessed it (S3 server access logs)."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from modules.private_bucket import PrivateBucket

_lc = aws.s3_bucket_lifecycle_configuration


@dataclass(frozen=True, kw_only=True)
class StateBucketProps:
    """``bucket_name``: globally unique name (from configuration).
    ``access_log_bucket_name``: the bucket of its access logs
    (``config.naming.state_access_log_bucket_name``).
    ``kms_key_arn``: key for server-side encryption.
    ``noncurrent_version_days``: how long superseded state versions are kept
    (they are the undo history of every apply).
    ``access_log_days``: how long the access logs of the state bucket are
    kept (an audit trail: who read or wrote state).
    """

    bucket_name: str
    access_log_bucket_name: str
    kms_key_arn: str
    noncurrent_version_days: int = 90
    access_log_days: int = 365


class StateBucket(Construct):
    """The state bucket (KMS) and its access-log bucket (SSE-S3)."""

    def __init__(
        self, scope: Construct, construct_id: str, props: StateBucketProps, account_id: str
    ) -> None:
        super().__init__(scope, construct_id)
        self.access_logs = PrivateBucket(
            self,
            "access-logs",
            name=props.access_log_bucket_name,
            kms_key_arn=None,
            lifecycle_rule=_lc.S3BucketLifecycleConfigurationRule(
                id="expire-access-logs",
                status="Enabled",
                filter=[_lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                expiration=[
                    _lc.S3BucketLifecycleConfigurationRuleExpiration(days=props.access_log_days)
                ],
                noncurrent_version_expiration=[
                    _lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                        noncurrent_days=1
                    )
                ],
                abort_incomplete_multipart_upload=[
                    _lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=7
                    )
                ],
            ),
            extra_statements=lambda arn: [
                {
                    "Sid": "S3ServerAccessLogDelivery",
                    "Effect": "Allow",
                    "Principal": {"Service": "logging.s3.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"{arn}/*",
                    "Condition": {"StringEquals": {"aws:SourceAccount": account_id}},
                }
            ],
        )
        state = PrivateBucket(
            self,
            "state",
            name=props.bucket_name,
            kms_key_arn=props.kms_key_arn,
            lifecycle_rule=_lc.S3BucketLifecycleConfigurationRule(
                id="expire-old-state-versions",
                status="Enabled",
                filter=[_lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
                noncurrent_version_expiration=[
                    _lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                        noncurrent_days=props.noncurrent_version_days
                    )
                ],
                abort_incomplete_multipart_upload=[
                    _lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                        days_after_initiation=7
                    )
                ],
            ),
        )
        self.bucket = state.bucket
        aws.s3_bucket_logging.S3BucketLoggingA(
            self,
            "logging",
            bucket=self.bucket.id,
            target_bucket=self.access_logs.bucket.id,
            target_prefix="state/",
        )
