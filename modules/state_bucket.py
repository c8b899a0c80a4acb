"""The S3 bucket that holds the Terraform state of an environment, the
bucket that records who accessed it (S3 server access logs), and, where the
environment has a backup copy region, the state's replica there (D60)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from framework import Construct
from framework.aws import aws
from modules import iam
from modules.private_bucket import PrivateBucket

_lc = aws.s3_bucket_lifecycle_configuration


def state_versions_rule(noncurrent_version_days: int):
    """Superseded state versions (the undo history of every apply) expire
    after ``noncurrent_version_days``; unfinished uploads after a week."""
    return _lc.S3BucketLifecycleConfigurationRule(
        id="expire-old-state-versions",
        status="Enabled",
        filter=[_lc.S3BucketLifecycleConfigurationRuleFilter(prefix="")],
        noncurrent_version_expiration=[
            _lc.S3BucketLifecycleConfigurationRuleNoncurrentVersionExpiration(
                noncurrent_days=noncurrent_version_days
            )
        ],
        abort_incomplete_multipart_upload=[
            _lc.S3BucketLifecycleConfigurationRuleAbortIncompleteMultipartUpload(
                days_after_initiation=7
            )
        ],
    )


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
            lifecycle_rule=state_versions_rule(props.noncurrent_version_days),
        )
        self.bucket = state.bucket
        self.versioning = state.versioning
        aws.s3_bucket_logging.S3BucketLoggingA(
            self,
            "logging",
            bucket=self.bucket.id,
            target_bucket=self.access_logs.bucket.id,
            target_prefix="state/",
        )


@dataclass(frozen=True, kw_only=True)
class StateReplicaProps:
    """A replica of the state bucket in another region (D60).

    ``source``: the state bucket, encrypted with ``source_key_arn`` in
    ``source_region``. ``bucket_name``: the replica, in ``region`` through
    ``provider`` (``EnvironmentStack.provider_in``), encrypted with
    ``key_arn`` there. ``role_name``: the role S3 replicates as.
    ``noncurrent_version_days``: as the state bucket's.
    """

    source: StateBucket
    source_key_arn: str
    source_region: str
    bucket_name: str
    region: str
    provider: Any
    key_arn: str
    role_name: str
    account_id: str
    noncurrent_version_days: int = 90


def replication_statements(props: StateReplicaProps, replica_arn: str) -> list[dict]:
    """What S3 needs to replicate SSE-KMS objects from the state bucket to
    the replica and nothing more (Amazon S3 user guide, "Setting up
    permissions for live replication" and "Replicating encrypted objects",
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/setting-repl-config-perm-overview.html,
    https://docs.aws.amazon.com/AmazonS3/latest/userguide/replication-config-for-kms-objects.html).
    The state bucket uses S3 Bucket Keys, whose encryption context is the
    bucket's ARN rather than the object's: both are allowed."""
    source = props.source.bucket.arn

    def through_s3(region: str, bucket_arn: str) -> dict:
        return {
            "StringEquals": {"kms:ViaService": f"s3.{region}.amazonaws.com"},
            "StringLike": {"kms:EncryptionContext:aws:s3:arn": [bucket_arn, f"{bucket_arn}/*"]},
        }

    return [
        {
            "Sid": "ReadTheReplicationConfiguration",
            "Effect": "Allow",
            "Action": ["s3:GetReplicationConfiguration", "s3:ListBucket"],
            "Resource": source,
        },
        {
            "Sid": "ReadStateVersions",
            "Effect": "Allow",
            "Action": [
                "s3:GetObjectVersionForReplication",
                "s3:GetObjectVersionAcl",
                "s3:GetObjectVersionTagging",
            ],
            "Resource": f"{source}/*",
        },
        {
            "Sid": "WriteReplicas",
            "Effect": "Allow",
            "Action": ["s3:ReplicateObject", "s3:ReplicateDelete", "s3:ReplicateTags"],
            "Resource": f"{replica_arn}/*",
        },
        {
            "Sid": "DecryptStateThroughS3",
            "Effect": "Allow",
            "Action": "kms:Decrypt",
            "Resource": props.source_key_arn,
            "Condition": through_s3(props.source_region, source),
        },
        {
            "Sid": "EncryptReplicasThroughS3",
            "Effect": "Allow",
            "Action": ["kms:Encrypt", "kms:GenerateDataKey"],
            "Resource": props.key_arn,
            "Condition": through_s3(props.region, replica_arn),
        },
    ]


class StateReplica(Construct):
    """The replica bucket (versioned, KMS, private), the replication role and
    the state bucket's replication configuration. Delete markers are not
    replicated: a state object deleted in the home region stays readable in
    the replica."""

    def __init__(self, scope: Construct, construct_id: str, props: StateReplicaProps) -> None:
        super().__init__(scope, construct_id)
        if len(props.bucket_name) > 63:
            raise ValueError(
                f"bucket_name: {props.bucket_name!r} has {len(props.bucket_name)} characters; "
                "S3 allows 63 (shorten state_bucket)"
            )
        if props.region == props.source_region:
            raise ValueError(f"region: {props.region} is the state bucket's own region")
        replica = PrivateBucket(
            self,
            "replica",
            name=props.bucket_name,
            kms_key_arn=props.key_arn,
            provider=props.provider,
            lifecycle_rule=state_versions_rule(props.noncurrent_version_days),
        )
        self.bucket = replica.bucket
        self.role = iam.service_role(
            self,
            "role",
            name=props.role_name,
            service="s3.amazonaws.com",
            source_account=props.account_id,
            description="S3 replicates the Terraform state to its replica in another region (D60)",
            inline_policy=(
                "policy",
                "state-replication",
                replication_statements(props, replica.bucket.arn),
            ),
        )
        _r = aws.s3_bucket_replication_configuration
        self.replication = _r.S3BucketReplicationConfigurationA(
            self,
            "replication",
            bucket=props.source.bucket.id,
            role=self.role.arn,
            rule=[
                _r.S3BucketReplicationConfigurationRule(
                    id="state",
                    status="Enabled",
                    filter=_r.S3BucketReplicationConfigurationRuleFilter(prefix=""),
                    delete_marker_replication=(
                        _r.S3BucketReplicationConfigurationRuleDeleteMarkerReplication(
                            status="Disabled"
                        )
                    ),
                    source_selection_criteria=(
                        _r.S3BucketReplicationConfigurationRuleSourceSelectionCriteria(
                            sse_kms_encrypted_objects=(
                                _r.S3BucketReplicationConfigurationRuleSourceSelectionCriteriaSseKmsEncryptedObjects(
                                    status="Enabled"
                                )
                            )
                        )
                    ),
                    destination=_r.S3BucketReplicationConfigurationRuleDestination(
                        bucket=replica.bucket.arn,
                        storage_class="STANDARD",
                        encryption_configuration=(
                            _r.S3BucketReplicationConfigurationRuleDestinationEncryptionConfiguration(
                                replica_kms_key_id=props.key_arn
                            )
                        ),
                    ),
                )
            ],
            # Replication needs versioning on both buckets first.
            depends_on=[props.source.versioning, replica.versioning],
        )
