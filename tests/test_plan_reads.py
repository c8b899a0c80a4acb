"""Every type the stacks declare has a row in modules/plan_reads.py (the IAM
actions the AWS provider's Read calls, one source each), and the plan role
can make every call: its policy allows it and no resource policy blocks it
(issue #23, docs/decisions.md D57)."""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path

import pytest

from guardrails.cdktf_out import environment_of
from modules.plan_reads import OPTIONAL, PLAN_READS, Reads, declared
from tests.plan_reads_helpers import (
    buckets,
    calls_resource_policies_block,
    calls_the_policy_denies,
    plan_policy,
    state_objects,
)

ROOT = Path(__file__).resolve().parent.parent
PROVIDER_PATH = re.compile(r"internal/service/[a-z0-9]+/[a-z0-9_]+\.go")
IAM_ACTION = re.compile(r"[a-z0-9-]+:[A-Za-z0-9]+")
COMMIT = re.compile(r"[0-9a-f]{12,40}")


def read_problems(row: Reads) -> list[str]:
    """A provider file names the commit it was read at (12+ hex); a URL
    names none; ``unread`` actions are among the row's actions."""
    problems = []
    if PROVIDER_PATH.fullmatch(row.source) and not COMMIT.fullmatch(row.read_at):
        problems.append("provider source without the commit it was read at")
    if row.source.startswith("https://") and row.read_at:
        problems.append("read_at for a URL")
    if not set(row.unread) <= set(row.actions):
        problems.append("unread action not among the actions")
    return problems


def test_a_row_without_its_commit_is_found():
    path = "internal/service/ecs/service.go"
    assert read_problems(Reads(("ecs:DescribeServices",), path, read_at="1a5174b137bb")) == []
    assert read_problems(Reads(("ecs:DescribeServices",), path)) == [
        "provider source without the commit it was read at"
    ]
    assert read_problems(Reads(("ecs:DescribeServices",), path, read_at="v6.25.0")) != []
    assert read_problems(Reads((), "https://example.invalid", read_at="1a5174b137bb")) == [
        "read_at for a URL"
    ]
    assert read_problems(
        Reads(("ecs:DescribeServices",), path, read_at="1a5174b137bb", unread=("ecs:ListX",))
    ) == ["unread action not among the actions"]


def declared_by(*stack_sets) -> set[str]:
    return {a for stacks in stack_sets for stack in stacks.values() for a in declared(stack.json)}


def test_every_type_the_stacks_declare_has_a_row(stacks, example_stacks):
    """The configured environments and the example (and, with
    PAYMENT_CONFIG=tests.fixtures.realistic, the realistic fixture)."""
    missing = sorted(declared_by(stacks, example_stacks) - PLAN_READS.keys())
    assert not missing, (
        f"no row for {missing} in modules/plan_reads.py (PLAN_READS): add the IAM actions "
        "its Read calls in the provider source and one source (docs/ci.md, 'Adding a resource type')"
    )


@pytest.mark.parametrize("address", sorted(PLAN_READS))
def test_every_row_has_one_source_and_exact_actions(address):
    row = PLAN_READS[address]
    assert isinstance(row.source, str), address
    assert PROVIDER_PATH.fullmatch(row.source) or row.source.startswith("https://"), (
        f"{address}: source {row.source!r} is neither a provider file nor an https URL"
    )
    assert row.on in ("account", "bucket", "key", "state"), address
    assert not read_problems(row), (address, read_problems(row))
    assert len(set(row.actions)) == len(row.actions), address
    for action in row.actions:
        assert IAM_ACTION.fullmatch(action), f"{address}: {action!r} is not one exact IAM action"


def test_no_row_is_stale(stacks, example_stacks):
    """A row no configuration declares is listed in OPTIONAL with the setting
    that declares it."""
    stale = sorted(PLAN_READS.keys() - declared_by(stacks, example_stacks) - OPTIONAL.keys())
    assert not stale, f"rows for types no stack declares: {stale} (modules/plan_reads.py)"
    assert OPTIONAL.keys() <= PLAN_READS.keys()
    assert not OPTIONAL.keys() & declared_by(example_stacks), "declared by the example"


@pytest.mark.parametrize("address", sorted(OPTIONAL))
def test_an_optional_row_is_still_declared_by_the_code(address):
    kind, _, terraform_type = address.rpartition(".")
    # aws.cloudwatch_log_subscription_filter.*, aws.data_aws_iam_openid_connect_provider.*
    binding = f"data_{terraform_type}" if kind == "data" else terraform_type.removeprefix("aws_")
    sources = [p.read_text() for d in ("modules", "stacks") for p in (ROOT / d).glob("*.py")]
    assert any(f"aws.{binding}." in text for text in sources), f"{address} is declared nowhere"


def environment_jsons(stacks, env) -> list[dict]:
    return [s.json for s in stacks.values() if environment_of(s.json) == env.name]


def unreadable(stacks, env) -> tuple[list[str], list[str]]:
    """(calls the plan role's policy denies, calls resource policies block)."""
    jsons = environment_jsons(stacks, env)
    policy = plan_policy(stacks[f"{env.prefix}-bootstrap"].json)
    denied = calls_the_policy_denies(
        policy["Statement"], PLAN_READS, buckets(jsons), state_objects(jsons)
    )
    return denied, calls_resource_policies_block(jsons, PLAN_READS, env.plan_role)


def test_the_plan_role_can_make_every_read(stacks, environments, env_name):
    env = environments[env_name]
    assert unreadable(stacks, env) == ([], [])


def test_every_example_tier_can_make_every_read(example_stacks, example_environments):
    """Production and non-production tiers (the example has both)."""
    tiers = {env.is_production for env in example_environments.values()}
    assert tiers == {True, False}
    for env in example_environments.values():
        assert unreadable(example_stacks, env) == ([], []), env.name


def test_a_call_the_plan_role_lacks_is_found(example_stacks, example_environments):
    env = next(e for e in example_environments.values() if e.is_production)
    jsons = environment_jsons(example_stacks, env)
    policy = plan_policy(example_stacks[f"{env.prefix}-bootstrap"].json)
    statements = copy.deepcopy(policy["Statement"])
    [reads] = [s for s in statements if s["Sid"] == "ReadConfiguration"]
    reads["Action"].remove("kms:GetKeyPolicy")
    [listing] = [s for s in statements if s["Sid"] == "ListTheEnvironmentsBuckets"]
    unlisted = listing["Resource"].pop(0)
    denied = calls_the_policy_denies(statements, PLAN_READS, buckets(jsons), state_objects(jsons))
    assert denied == [
        "aws_kms_key: kms:GetKeyPolicy on *",
        f"aws_s3_bucket: s3:ListBucket on {unlisted}",
    ]
    crafted = {"x": Reads(("ecs:DescribeServices",), "https://example.invalid")}
    assert calls_the_policy_denies([], crafted, [], []) == ["x: ecs:DescribeServices on *"]


def test_a_resource_policy_blocking_a_read_is_found(example_stacks, example_environments):
    env = next(e for e in example_environments.values() if e.is_production)
    jsons = copy.deepcopy(environment_jsons(example_stacks, env))
    for stack in jsons:
        for key in stack.get("resource", {}).get("aws_kms_key", {}).values():
            document = json.loads(key["policy"])
            document["Statement"] = [
                s for s in document["Statement"] if s["Sid"] != "ConfigurationReaders"
            ]
            key["policy"] = json.dumps(document)
        for policy in stack.get("resource", {}).get("aws_s3_bucket_policy", {}).values():
            document = json.loads(policy["policy"])
            document["Statement"].append(
                {"Effect": "Deny", "Principal": "*", "Action": "s3:GetBucket*", "Resource": "*"}
            )
            policy["policy"] = json.dumps(document)
    blocked = calls_resource_policies_block(jsons, PLAN_READS, env.plan_role)
    assert any(b.startswith("aws_kms_key.") and b.endswith(": kms:DescribeKey") for b in blocked)
    assert any(
        b.startswith("aws_s3_bucket_policy.") and b.endswith(": s3:GetBucketPolicy")
        for b in blocked
    )
