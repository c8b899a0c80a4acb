"""`make verify`'s `plan.reads` (verify/checks/plan_reads.py): the plan
role's reads through bucket, key and secret policies, made with its own
credentials (the simulator ignores resource policies for roles, FIELD_NOTES
§11). moto answers STS AssumeRole and the reads; botocore Stubber plays S3
refusing one (HeadBucket's error code is its HTTP status: S3 API reference,
https://docs.aws.amazon.com/AmazonS3/latest/API/API_HeadBucket.html)."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from tests.verify_helpers import context, fake_credentials, stubbed
from verify import report
from verify.checks import plan_reads
from verify.context import Unreadable, assumed_clients, session_clients

#: Operations tools replayed against simulated AWS (docs/decisions.md D56).
pytestmark = [pytest.mark.aws_replay, pytest.mark.usefixtures("fake_aws")]


@pytest.fixture(scope="module")
def world(example_prod):
    """Every resource a plan reads, made once in moto, in the environment's
    account (moto puts an assumed role's calls in the role's account):
    (planned reads, the default session's clients)."""
    env, synth = example_prod
    with pytest.MonkeyPatch.context() as mp:
        fake_credentials(mp)
        mp.setenv("MOTO_ACCOUNT_ID", synth.stack("services").account)
        with mock_aws():
            clients = session_clients(boto3.Session(), env.region)
            planned = list(plan_reads.reads(context(example_prod, {})))
            for read in planned:
                if read.operation == "head_bucket":
                    clients("s3").create_bucket(
                        Bucket=read.params["Bucket"],
                        CreateBucketConfiguration={"LocationConstraint": env.region},
                    )
                elif read.operation == "describe_key":
                    kms = clients("kms", read.region)
                    key = kms.create_key()["KeyMetadata"]["KeyId"]
                    kms.create_alias(AliasName=read.params["KeyId"], TargetKeyId=key)
                elif read.operation == "describe_secret":
                    clients("secretsmanager", read.region).create_secret(Name=read.subject)
                elif read.operation == "describe_log_groups":
                    clients("logs", read.region).create_log_group(logGroupName=read.subject)
            yield planned, clients


def test_the_plan_role_reads_everything_one_line_per_read(example_prod, world):
    env, _ = example_prod
    planned, _ = world
    ctx = context(
        example_prod, {}, assume=lambda arn: assumed_clients(boto3.Session(), arn, env.region)
    )
    results = plan_reads.check_plan_reads(ctx)
    kinds = {r.operation for r in planned}
    assert {"head_bucket", "get_bucket_policy", "describe_key", "get_key_policy"} <= kinds
    assert {"describe_secret", "describe_log_groups"} <= kinds
    assert len(results) == len(planned)
    assert {r.status for r in results} == {report.PASS}
    assert all(f"as {env.plan_role}" in r.message for r in results)


def test_the_plan_role_itself_reads_without_assuming(example_prod, world):
    env, synth = example_prod
    planned, clients = world
    caller = f"arn:aws:sts::{synth.stack('services').account}:assumed-role/{env.plan_role}/gha"

    def no_assume(arn):
        raise AssertionError("the plan role assumed itself")

    ctx = context(example_prod, {}, caller=caller, assume=no_assume)
    ctx.client = clients
    results = plan_reads.check_plan_reads(ctx)
    assert len(results) == len(planned) and {r.status for r in results} == {report.PASS}


def test_a_bucket_policy_refusing_the_plan_role_fails_naming_bucket_and_policy(example_prod, world):
    env, _ = example_prod
    planned, clients = world
    s3, stub = stubbed("s3", env.region)
    buckets = [r.params["Bucket"] for r in planned if r.operation == "head_bucket"]
    for i, bucket in enumerate(buckets):
        if i == 0:
            stub.add_client_error("head_bucket", "403", "Forbidden", 403, {"Bucket": bucket})
        else:
            stub.add_response("head_bucket", {}, {"Bucket": bucket})
        stub.add_response("get_bucket_policy", {"Policy": "{}"}, {"Bucket": bucket})

    def client(name, region=None):
        return s3 if name == "s3" else clients(name, region)

    with stub:
        results = plan_reads.check_plan_reads(context(example_prod, {}, assume=lambda arn: client))
    bad = [r for r in results if r.status == report.FAIL]
    assert len(bad) == 1 and bad[0].subject == f"s3://{buckets[0]}"
    assert "found 403" in bad[0].message and f"the bucket policy of {buckets[0]}" in bad[0].message
    assert env.plan_role in bad[0].message


def test_a_caller_that_cannot_assume_the_plan_role_cannot_read_and_is_told_where_to_run(
    example_prod,
):
    env, _ = example_prod

    def refuse(arn):
        raise Unreadable(f"sts AssumeRole {arn}: AccessDenied (not authorized)", "AccessDenied")

    (result,) = plan_reads.check_plan_reads(context(example_prod, {}, assume=refuse))
    assert result.status == report.UNREADABLE and result.subject == env.plan_role
    assert "--only plan-reads" in result.message
    assert env.pipeline.github_repository in result.message


def test_the_plan_role_arn_is_the_bootstrap_stacks_output(example_prod):
    env, synth = example_prod
    account = synth.stack("services").account
    found = plan_reads.plan_role_arn(context(example_prod, {}))
    assert found == f"arn:aws:iam::{account}:role/{env.plan_role}"


def test_a_resource_not_applied_yet_is_nothing_to_read(example_prod, world):
    """A pull request's plan meets resources the next apply creates."""
    env, _ = example_prod
    _, clients = world
    ctx = context(example_prod, {})
    ctx.client = clients
    read = plan_reads.Read(
        "/not/applied/yet",
        "logs",
        "describe_log_groups",
        {"logGroupNamePrefix": "/not/applied/yet"},
        "-",
    )
    result = plan_reads._read(ctx, env.plan_role, read)
    assert result.status == report.NOT_APPLICABLE and "not in the account yet" in result.message
