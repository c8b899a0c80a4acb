"""AWS Config: the recorder and its delivery channel (PCI DSS 10.7.2, 11.5)."""

from __future__ import annotations

from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from modules import iam


@dataclass(frozen=True, kw_only=True)
class ConfigRecorderProps:
    """``name``: recorder, channel and role name. ``bucket_name`` /
    ``bucket_arn`` / ``key_prefix``: where configuration history and
    snapshots are delivered; ``kms_key_arn``: their CMK."""

    name: str
    account_id: str
    partition: str
    bucket_name: str
    bucket_arn: str
    key_prefix: str
    kms_key_arn: str


class ConfigRecorder(Construct):
    """Records every supported resource type, global ones included, and
    delivers to the audit bucket through a role of its own (no
    service-linked role: its trust carries ``aws:SourceAccount``)."""

    def __init__(self, scope: Construct, construct_id: str, props: ConfigRecorderProps) -> None:
        super().__init__(scope, construct_id)
        delivery = f"{props.bucket_arn}/{props.key_prefix}/AWSLogs/{props.account_id}/*"
        self.role = iam.service_role(
            self,
            "role",
            name=props.name,
            service="config.amazonaws.com",
            source_account=props.account_id,
            description="AWS Config recorder and delivery channel",
            inline_policy=(
                "delivery",
                "deliver-to-audit-bucket",
                [
                    {
                        "Sid": "DeliverToAuditBucket",
                        "Effect": "Allow",
                        "Action": "s3:PutObject",
                        "Resource": delivery,
                    },
                    {
                        "Sid": "CheckAuditBucket",
                        "Effect": "Allow",
                        "Action": "s3:GetBucketAcl",
                        "Resource": props.bucket_arn,
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
            s3_bucket_name=props.bucket_name,
            s3_key_prefix=props.key_prefix,
            s3_kms_key_arn=props.kms_key_arn,
            depends_on=[self.recorder],
        )
        aws.config_configuration_recorder_status.ConfigConfigurationRecorderStatus(
            self,
            "status",
            name=self.recorder.name,
            is_enabled=True,
            depends_on=[self.channel],
        )
