"""CloudTrail into a write-once bucket (PCI DSS 10.2.1, 10.2.2, 10.3.2-10.3.4)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from framework import Construct
from framework.aws import aws
from modules.private_bucket import PrivateBucket, log_expiry_rule

_ct = aws.cloudtrail


@dataclass(frozen=True, kw_only=True)
class AuditTrailProps:
    """``name``: trail name. ``bucket_name``: its bucket
    (``config.naming.audit_bucket_name``). ``kms_key_arn``:
    CMK of the bucket and the trail's log files. ``retention_days``: how long
    every log object is locked and kept. ``object_lock_mode``: COMPLIANCE
    (production tier) or GOVERNANCE. ``prevent_destroy``: Terraform refuses to
    delete the bucket. ``data_event_buckets``: buckets whose object reads and
    writes are recorded too (the Terraform state buckets: their access-log
    bucket cannot be locked, S3 refuses Object Lock log destinations).
    ``configuration_history_bucket``: AWS Config's bucket, whose object
    reads and writes are recorded too (it cannot be locked: AWS Config does
    not deliver to Object Lock buckets); left out: none.
    """

    name: str
    bucket_name: str
    account_id: str
    partition: str
    region: str
    kms_key_arn: str
    retention_days: int
    object_lock_mode: str
    prevent_destroy: bool
    data_event_buckets: Sequence[str] = ()
    configuration_history_bucket: str | None = None
    #: False: the organization's trail records management events (a second
    #: trail would bill them twice); this one records only the data events.
    management_events: bool = True


class AuditTrail(Construct):
    """A multi-region trail with log file validation, management events and
    the data events of ``data_event_buckets``, into a KMS-encrypted, TLS-only,
    Object-Locked bucket (only the trail writes there: AWS Config cannot
    deliver to an Object Lock bucket, PAY-LOG-002)."""

    def __init__(self, scope: Construct, construct_id: str, props: AuditTrailProps) -> None:
        super().__init__(scope, construct_id)
        trail_arn = (
            f"arn:{props.partition}:cloudtrail:{props.region}:{props.account_id}:trail/{props.name}"
        )
        source = {"StringEquals": {"aws:SourceArn": trail_arn}}
        self.bucket = PrivateBucket(
            self,
            "bucket",
            name=props.bucket_name,
            kms_key_arn=props.kms_key_arn,
            lifecycle_rule=log_expiry_rule("expire-audit-logs", props.retention_days),
            extra_statements=lambda arn: [
                {
                    "Sid": "CloudTrailReadsAcl",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:GetBucketAcl",
                    "Resource": arn,
                    "Condition": source,
                },
                {
                    "Sid": "CloudTrailWritesLogs",
                    "Effect": "Allow",
                    "Principal": {"Service": "cloudtrail.amazonaws.com"},
                    "Action": "s3:PutObject",
                    "Resource": f"{arn}/AWSLogs/{props.account_id}/*",
                    "Condition": source,
                },
            ],
            prevent_destroy=props.prevent_destroy,
        )
        self.bucket.lock_objects(props.object_lock_mode, props.retention_days)
        selectors = (
            [
                _ct.CloudtrailAdvancedEventSelector(
                    name="management-events",
                    field_selector=[
                        _ct.CloudtrailAdvancedEventSelectorFieldSelector(
                            field="eventCategory", equal_to=["Management"]
                        )
                    ],
                )
            ]
            if props.management_events
            else []
        )

        def object_events(name: str, buckets: Sequence[str]):
            return _ct.CloudtrailAdvancedEventSelector(
                name=name,
                field_selector=[
                    _ct.CloudtrailAdvancedEventSelectorFieldSelector(
                        field="eventCategory", equal_to=["Data"]
                    ),
                    _ct.CloudtrailAdvancedEventSelectorFieldSelector(
                        field="resources.type", equal_to=["AWS::S3::Object"]
                    ),
                    _ct.CloudtrailAdvancedEventSelectorFieldSelector(
                        field="resources.ARN",
                        starts_with=[f"arn:{props.partition}:s3:::{b}/" for b in buckets],
                    ),
                ],
            )

        if props.data_event_buckets:
            selectors.append(object_events("terraform-state-objects", props.data_event_buckets))
        if props.configuration_history_bucket:
            selectors.append(
                object_events("configuration-history-objects", [props.configuration_history_bucket])
            )
        self.trail = _ct.Cloudtrail(
            self,
            "trail",
            name=props.name,
            s3_bucket_name=self.bucket.bucket.id,
            kms_key_id=props.kms_key_arn,
            is_multi_region_trail=True,
            include_global_service_events=True,
            enable_log_file_validation=True,
            advanced_event_selector=selectors,
            depends_on=[self.bucket.policy],
        )
