"""modules/iam.py: policy documents and service roles."""

from __future__ import annotations

import json

from framework import TerraformStack
from framework import Testing as CdktfTesting
from modules import iam


def test_assume_role_limits_the_account_only_when_given():
    limited = json.loads(iam.assume_role("ecs-tasks.amazonaws.com", "123456789012"))
    (statement,) = limited["Statement"]
    assert limited["Version"] == "2012-10-17"
    assert statement["Principal"] == {"Service": "ecs-tasks.amazonaws.com"}
    assert statement["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    (open_statement,) = json.loads(iam.assume_role("monitoring.rds.amazonaws.com"))["Statement"]
    assert "Condition" not in open_statement


def test_insecure_transport_is_denied_for_every_principal():
    statement = iam.deny_insecure_transport("s3:*", ("arn:b", "arn:b/*"))
    assert statement == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": ["arn:b", "arn:b/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert iam.deny_insecure_transport("sns:Publish", "arn:t")["Resource"] == "arn:t"


def test_service_role_with_inline_and_managed_policy():
    stack = TerraformStack(CdktfTesting.app(), "iam-unit")
    statement = {"Effect": "Allow", "Action": "logs:PutLogEvents", "Resource": "*"}
    iam.service_role(
        stack,
        "role",
        name="unit-role",
        service="vpc-flow-logs.amazonaws.com",
        source_account="123456789012",
        description="unit",
        inline_policy=("role-policy", "write", [statement]),
        managed_policy=("role-attachment", "arn:aws:iam::aws:policy/Unit"),
    )
    resources = json.loads(CdktfTesting.synth(stack))["resource"]
    ((role_id, role),) = resources["aws_iam_role"].items()
    assert role["name"] == "unit-role" and role["description"] == "unit"
    assert json.loads(role["assume_role_policy"]) == json.loads(
        iam.assume_role("vpc-flow-logs.amazonaws.com", "123456789012")
    )
    (policy,) = resources["aws_iam_role_policy"].values()
    assert policy["role"] == f"${{aws_iam_role.{role_id}.id}}" and policy["name"] == "write"
    assert json.loads(policy["policy"])["Statement"] == [statement]
    (attachment,) = resources["aws_iam_role_policy_attachment"].values()
    assert attachment == {
        "policy_arn": "arn:aws:iam::aws:policy/Unit",
        "role": f"${{aws_iam_role.{role_id}.name}}",
    }


def test_service_role_without_policies_is_only_the_role():
    stack = TerraformStack(CdktfTesting.app(), "iam-bare")
    iam.service_role(stack, "role", name="bare", service="codedeploy.amazonaws.com")
    resources = json.loads(CdktfTesting.synth(stack))["resource"]
    assert list(resources) == ["aws_iam_role"]
