"""AWS Config: the recorder, its delivery channel and the bucket it delivers
to (PCI DSS 10.7.2, 11.5)."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from modules import iam
from modules.private_bucket import PrivateBucket, log_expiry_rule

CONFIG_SERVICE = "config.amazonaws.com"


@dataclass(frozen=True, kw_only=True)
class ConfigRecorderProps:
    """``name``: recorder, channel and role name. ``bucket_name``: the
    bucket configuration history and snapshots are delivered to, created
    here (``config.naming.config_bucket_name``). ``kms_key_arn``: CMK of
    the bucket and the deliveries. ``retention_days``: how long deliveries
    are kept. ``prevent_destroy``: Terraform refuses to delete the bucket."""

    name: str
    account_id: str
    partition: str
    bucket_name: str
    kms_key_arn: str
    retention_days: int
    prevent_destroy: bool


def delivery_statements(bucket_arn: str, account_id: str) -> list[dict]:
    """Bucket policy statements AWS Config's delivery needs ("Permissions
    for the Amazon S3 Bucket for the AWS Config Delivery Channel",
    https://docs.aws.amazon.com/config/latest/developerguide/s3-bucket-policy.html),
    for this account's deliveries only (aws:SourceAccount)."""
    source = {"aws:SourceAccount": account_id}
    principal = {"Service": CONFIG_SERVICE}
    return [
        {
            "Sid": "AWSConfigBucketPermissionsCheck",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:GetBucketAcl",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": source},
        },
        {
            "Sid": "AWSConfigBucketExistenceCheck",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:ListBucket",
            "Resource": bucket_arn,
            "Condition": {"StringEquals": source},
        },
        {
            "Sid": "AWSConfigBucketDelivery",
            "Effect": "Allow",
            "Principal": principal,
            "Action": "s3:PutObject",
            "Resource": f"{bucket_arn}/AWSLogs/{account_id}/Config/*",
            "Condition": {"StringEquals": {**source, "s3:x-amz-acl": "bucket-owner-full-control"}},
        },
    ]


class ConfigRecorder(Construct):
    """Records every supported resource type, global ones included, and
    delivers to a bucket of its own through a role of its own (no
    service-linked role: its trust carries ``aws:SourceAccount``).

    The bucket is not the audit trail's: AWS Config does not support a
    delivery channel to a bucket with Object Lock enabled
    (``AWS::Config::DeliveryChannel``,
    https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-config-deliverychannel.html;
    PAY-LOG-002). It is KMS-encrypted, TLS-only, versioned, private and
    owner-enforced (``PrivateBucket``), and keeps deliveries, and the
    versions a deletion or overwrite leaves, ``retention_days``.
    """

    def __init__(self, scope: Construct, construct_id: str, props: ConfigRecorderProps) -> None:
        super().__init__(scope, construct_id)
        self.bucket = PrivateBucket(
            self,
            "bucket",
            name=props.bucket_name,
            kms_key_arn=props.kms_key_arn,
            # No Object Lock here: versioning is what keeps a delivery that
            # is deleted or overwritten, so old versions stay as long too.
            lifecycle_rule=log_expiry_rule(
                "expire-configuration-history",
                props.retention_days,
                noncurrent_days=props.retention_days,
            ),
            extra_statements=lambda arn: delivery_statements(arn, props.account_id),
            prevent_destroy=props.prevent_destroy,
        )
        bucket_arn = self.bucket.bucket.arn
        self.role = iam.service_role(
            self,
            "role",
            name=props.name,
            service=CONFIG_SERVICE,
            source_account=props.account_id,
            description="AWS Config recorder and delivery channel",
            inline_policy=(
                "delivery",
                "deliver-to-config-bucket",
                [
                    {
                        "Sid": "DeliverToConfigBucket",
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": f"{bucket_arn}/AWSLogs/{props.account_id}/*",
                    },
                    {
                        "Sid": "CheckConfigBucket",
                        "Effect": "Allow",
                        "Action": "s3:GetBucketAcl",
                        "Resource": bucket_arn,
                    },
                    {
                        "Sid": "EncryptDeliveries",
                        "Effect": "Allow",
                        "Action": ["kms:GenerateDataKey", "kms:Decrypt"],
                        "Resource": props.kms_key_arn,
                    },
                ],
            ),
            managed_policy=(
                "read-configuration",
                f"arn:{props.partition}:iam::aws:policy/service-role/AWS_ConfigRole",
            ),
        )
        cr = aws.config_configuration_recorder
        self.recorder = cr.ConfigConfigurationRecorder(
            self,
            "recorder",
            name=props.name,
            role_arn=self.role.arn,
            recording_group=cr.ConfigConfigurationRecorderRecordingGroup(
                all_supported=True, include_global_resource_types=True
            ),
        )
        self.channel = aws.config_delivery_channel.ConfigDeliveryChannel(
            self,
            "delivery-channel",
            name=props.name,
            s3_bucket_name=self.bucket.bucket.id,
            s3_kms_key_arn=props.kms_key_arn,
            # PutDeliveryChannel fails when it cannot deliver
            # (InsufficientDeliveryPolicyException).
            depends_on=[self.recorder, self.bucket.policy],
        )
        aws.config_configuration_recorder_status.ConfigConfigurationRecorderStatus(
            self,
            "status",
            name=self.recorder.name,
            is_enabled=True,
            depends_on=[self.channel],
        )
