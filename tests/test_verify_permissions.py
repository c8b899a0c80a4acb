"""The deploy role may make every call of `make verify` (issue #29,
docs/decisions.md D67): ``VERIFY_READS`` (config/pipeline_contract.py)
equals the calls the checks make (an AST scan of verify/checks), the
synthesized deploy role allows each of them (verify/iam_eval.py, the
repository's evaluator) in every environment, and docs/verify.md
"Permissions" lists exactly them."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import botocore.session
import pytest
from botocore import xform_name

from config.naming import alb_access_log_bucket_name
from config.pipeline_contract import (
    ACCESS_LOG_BUCKET,
    ANY_RESOURCE,
    SIMULATED_ROLES,
    VERIFY_READS,
    verify_actions,
)
from tests.helpers import PARTITION, account_of, iam_arn, inline_policy
from verify.checks.data import PARAMETER_GROUPS
from verify.iam_eval import allowed, as_list

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "verify" / "checks"
#: Calls whose operation is a variable, resolved here: the parameter groups'
#: Describe calls come from a table (verify/checks/data.py).
RESOLVED = {("data.py", "rds"): [operation for operation, _ in PARAMETER_GROUPS.values()]}
#: Made with the plan role's credentials (D61); the deploy workflow runs
#: ``--skip plan-reads``.
PLAN_ROLE_MODULES = ("plan_reads.py",)


def scanned_calls(path: Path) -> tuple[set[tuple[str, str]], list[str]]:
    """(client, snake_case operation) of every ``ctx.call``/``ctx.paginate``
    in ``path``, and the calls the scan cannot name (``file:line``)."""
    found: set[tuple[str, str]] = set()
    unknown: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in ("call", "paginate")
            and len(node.args) >= 2
        ):
            continue
        service, operation = node.args[:2]
        if not (isinstance(service, ast.Constant) and isinstance(service.value, str)):
            unknown.append(f"{path.name}:{node.lineno}")
        elif isinstance(operation, ast.Constant):
            found.add((service.value, operation.value))
        elif (path.name, service.value) in RESOLVED:
            found |= {(service.value, op) for op in RESOLVED[path.name, service.value]}
        else:
            unknown.append(f"{path.name}:{node.lineno}")
    return found, unknown


def verify_calls() -> tuple[set[tuple[str, str]], list[str]]:
    found: set[tuple[str, str]] = set()
    unknown: list[str] = []
    for path in sorted(CHECKS.glob("*.py")):
        if path.name in PLAN_ROLE_MODULES:
            continue
        calls, unnamed = scanned_calls(path)
        found |= calls
        unknown += unnamed
    return found, unknown


def test_the_checks_reach_aws_only_through_the_context():
    """The scan sees every call: no check makes a client of its own."""
    direct = [
        f"{path.name}:{node.lineno}"
        for path in sorted(CHECKS.glob("*.py"))
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr in ("client", "get_paginator", "resource")
    ]
    assert not direct, f"verify/checks make their own clients at {direct}: use ctx.call"


def test_every_call_the_checks_make_is_a_verify_read():
    found, unknown = verify_calls()
    assert not unknown, f"the scan cannot name the call at {unknown}: resolve it in RESOLVED"
    session = botocore.session.get_session()
    declared = {(r.client, xform_name(r.operation)) for r in VERIFY_READS}
    for client, operation in sorted(found):
        names = {xform_name(o) for o in session.get_service_model(client).operation_names}
        assert operation in names, f"{client}.{operation} is not a botocore operation"
    missing = sorted(found - declared)
    assert not missing, (
        f"verify/checks call {missing}, not in VERIFY_READS (config/pipeline_contract.py): "
        "add each with its IAM action"
    )
    unused = sorted(declared - found)
    assert not unused, f"VERIFY_READS lists {unused}, which no check calls"


def test_every_verify_read_is_a_read_of_its_service():
    """Each row names a real operation of its client, and its action is a
    read of that service (IAM prefix = client name, Access Analyzer's with
    its hyphen), never a write."""
    session = botocore.session.get_session()
    for read in VERIFY_READS:
        model = session.get_service_model(read.client)
        assert read.operation in model.operation_names, read
        prefix, action = read.action.split(":")
        assert prefix.replace("-", "") == read.client, read
        assert re.match(r"(Describe|Get|List|BatchGet|Simulate)", action), read


def test_a_call_missing_from_verify_reads_is_found(tmp_path):
    """The scan's failing case: a check calling ListCoverage is seen."""
    source = tmp_path / "extra.py"
    source.write_text(
        'def check(ctx):\n    return ctx.paginate("guardduty", "list_coverage", "Resources")\n'
        'def other(ctx, op):\n    return ctx.call("rds", op)\n'
    )
    found, unknown = scanned_calls(source)
    assert found == {("guardduty", "list_coverage")}
    assert unknown == ["extra.py:4"]


def requests(env, statements: list[dict], stacks) -> list[tuple[str, str]]:
    """(action, resource) of every VERIFY_READS call the deploy role makes
    in ``env``. Resource ``*`` reads are asked for every resource any
    statement of the policy names, so a Deny narrowed to one resource
    (the security alerts, the people's buckets) would show."""
    named = {"*"} | {r for s in statements for r in as_list(s.get("Resource", "*"))}
    roles = {
        r["name"]
        for name, stack in stacks.items()
        if name.startswith(f"{env.prefix}-")
        for r in stack.resources("aws_iam_role").values()
    } | {env.deploy_role}
    scoped = {
        ANY_RESOURCE: sorted(named),
        SIMULATED_ROLES: sorted(iam_arn(env, "role", name) for name in roles),
        ACCESS_LOG_BUCKET: (
            [f"arn:{PARTITION}:s3:::{alb_access_log_bucket_name(env, account_of(env))}"]
            if env.load_balancer.access_logs
            else []
        ),
    }
    return [(a, r) for scope, rs in scoped.items() for a in verify_actions(scope) for r in rs]


def refused(env, statements: list[dict], stacks) -> list[tuple[str, str, str]]:
    """The requests the policy refuses, in the environment's regions and one other."""
    regions = {env.region, env.backend_region, env.backup.copy_region or env.region}
    return [
        (action, resource, region)
        for action, resource in requests(env, statements, stacks)
        for region in sorted(regions | {"eu-north-1"})
        if not allowed(statements, action, resource, **{"aws:RequestedRegion": region})
    ]


def test_the_deploy_role_allows_every_verify_read(stacks, environments, env_name):
    env = environments[env_name]
    statements = inline_policy(stacks[f"{env.prefix}-bootstrap"], "deploy")
    assert requests(env, statements, stacks)
    gaps = sorted({action for action, _, _ in refused(env, statements, stacks)})
    assert not gaps, (
        f"{env.deploy_role} may not make these reads of make verify: {gaps} "
        "(modules/pipeline_roles.py verify_statements)"
    )


def test_the_example_tiers_deploy_roles_allow_every_verify_read(
    example_stacks, example_environments
):
    tiers = {env.is_production for env in example_environments.values()}
    assert tiers == {True, False}
    for env in example_environments.values():
        statements = inline_policy(example_stacks[f"{env.prefix}-bootstrap"], "deploy")
        gaps = sorted({action for action, _, _ in refused(env, statements, example_stacks)})
        assert not gaps, f"{env.name}: {gaps}"


@pytest.mark.parametrize("action", ["guardduty:ListCoverage", "iam:SimulatePrincipalPolicy"])
def test_a_deploy_policy_missing_a_verify_read_is_found(stacks, environments, action):
    """The failing case: the policy without one read (as before D67, when
    ReadIam gave only Get*/List* and GuardDuty only its plan reads)."""
    env = next(iter(environments.values()))
    statements = inline_policy(stacks[f"{env.prefix}-bootstrap"], "deploy")
    without = [
        {**s, "Action": [a for a in as_list(s["Action"]) if a != action]}
        for s in statements
        if s["Sid"].startswith("Verify")
    ]
    others = [s for s in statements if not s["Sid"].startswith("Verify")]
    gaps = {a for a, _, _ in refused(env, [*others, *without], stacks)}
    assert gaps == {action}


def documented_actions() -> list[str]:
    text = (ROOT / "docs" / "verify.md").read_text()
    section = text.split("\n## Permissions\n", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"^- `([a-z0-9-]+:[A-Za-z0-9]+)`", section, re.MULTILINE)


def test_docs_list_exactly_the_verify_reads():
    documented = documented_actions()
    missing = sorted(set(verify_actions()) - set(documented))
    extra = sorted(set(documented) - set(verify_actions()))
    assert not missing, f"docs/verify.md 'Permissions' does not list {missing}"
    assert not extra, f"docs/verify.md 'Permissions' lists {extra}, not in VERIFY_READS"
    assert len(documented) == len(set(documented)), "docs/verify.md lists an action twice"
