"""``framework.references.read_once``: one jsii round trip per attribute."""

from __future__ import annotations

import json

import jsii

from framework import Construct, TerraformStack
from framework import Testing as CdktfTesting
from framework.aws import aws
from framework.references import read_once


class Facade(Construct):
    arn = read_once("bucket", "arn")

    def __init__(self, scope, construct_id):
        super().__init__(scope, construct_id)
        self.bucket = aws.s3_bucket.S3Bucket(self, "bucket", bucket="facade-bucket")


def test_attribute_is_read_once_and_resolves_to_the_reference(monkeypatch):
    stack = TerraformStack(CdktfTesting.app(), "references")
    facade = Facade(stack, "facade")
    reads = []
    real_get = jsii.get
    monkeypatch.setattr(jsii, "get", lambda obj, name: reads.append(name) or real_get(obj, name))
    first, second = facade.arn, facade.arn
    assert first is second and reads == ["arn"]
    aws.s3_bucket_versioning.S3BucketVersioningA(
        stack, "versioning", bucket=facade.arn, versioning_configuration={"status": "Enabled"}
    )
    resources = json.loads(CdktfTesting.synth(stack))["resource"]
    (bucket,) = resources["aws_s3_bucket"]
    (config,) = resources["aws_s3_bucket_versioning"].values()
    assert config["bucket"] == f"${{aws_s3_bucket.{bucket}.arn}}"


def test_facades_keep_separate_values():
    stack = TerraformStack(CdktfTesting.app(), "two-facades")
    one, two = Facade(stack, "one"), Facade(stack, "two")
    assert one.arn != two.arn
    assert Facade.arn.__doc__ == "``bucket.arn`` (read once)."
