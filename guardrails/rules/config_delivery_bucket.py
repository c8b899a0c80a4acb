"""PAY-LOG-002: AWS Config never delivers into a bucket with Object Lock.

"AWS Config does not support the delivery channel to an Amazon S3 bucket
where object lock is enabled" (AWS::Config::DeliveryChannel,
https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-resource-config-deliverychannel.html).
Terraform applies such a channel and AWS Config then delivers nothing: the
configuration history PCI DSS 10.7.2/11.5 rely on is silently missing.
"""

from __future__ import annotations

from guardrails.rules import tf
from guardrails.rules.model import Finding, Rule, RuleContext

CHANNEL = "aws_config_delivery_channel"
BUCKET = "aws_s3_bucket"
LOCK = "aws_s3_bucket_object_lock_configuration"


def bucket_in_stack(stack: dict, value) -> str | None:
    """Resource name of the ``aws_s3_bucket`` of this stack that ``value``
    (a reference to any of its attributes, or its literal name) names."""
    ref = tf.reference(value, BUCKET)
    if ref is not None:
        return ref[1] if ref[1] in tf.resources(stack, BUCKET) else None
    return tf.resolve(stack, value, BUCKET, "bucket")


def object_lock(stack: dict, bucket: str) -> str | None:
    """How the bucket ``bucket`` (resource name) turns Object Lock on, or None."""
    body = tf.resources(stack, BUCKET)[bucket]
    if tf.is_true(body.get("object_lock_enabled")):
        return "object_lock_enabled = true"
    for inline in tf.blocks(body.get("object_lock_configuration")):
        if inline.get("object_lock_enabled", "Enabled") == "Enabled":
            return "an object_lock_configuration block"
    for _, name, lock in tf.each(stack, LOCK):
        if (
            bucket_in_stack(stack, lock.get("bucket")) == bucket
            # The provider's default is "Enabled", the only value S3 accepts.
            and lock.get("object_lock_enabled", "Enabled") == "Enabled"
        ):
            return tf.address(LOCK, name)
    return None


def check(stack: dict, ctx: RuleContext) -> list[Finding]:
    findings = []
    for _, name, channel in tf.each(stack, CHANNEL):
        bucket = bucket_in_stack(stack, channel.get("s3_bucket_name"))
        if bucket is None:
            continue  # another stack's or account's bucket: its owner checks it
        lock = object_lock(stack, bucket)
        if lock is not None:
            findings.append(
                RULE.finding(
                    tf.address(CHANNEL, name),
                    f"delivers to {tf.address(BUCKET, bucket)}, which has Object Lock ({lock}); "
                    "AWS Config does not deliver to such a bucket",
                )
            )
    return findings


RULE = Rule(
    id="PAY-LOG-002",
    summary="No AWS Config delivery channel delivers to a bucket with Object Lock.",
    why="AWS Config does not support delivery to an S3 bucket with Object Lock enabled "
    "(AWS::Config::DeliveryChannel reference): the apply succeeds and the configuration "
    "history and snapshots PCI DSS 10.7.2 and 11.5 rely on never arrive.",
    fix="Give the delivery channel a bucket of its own without Object Lock "
    "(modules.config_recorder.ConfigRecorder creates one).",
    check=check,
)
