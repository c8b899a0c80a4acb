"""The deploy role may make every call of `make verify` and `make preflight`
(issue #29, docs/decisions.md D67): ``VERIFY_READS`` and ``PREFLIGHT_READS``
(config/pipeline_contract.py) equal the calls verify/checks and
verify/preflight.py make (an AST scan), the synthesized deploy role allows
each of them the deploy workflow makes (verify/iam_eval.py, the
repository's evaluator) in every environment, and docs/verify.md
"Permissions" and docs/cli.md "Preflight" list exactly them."""

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
    CERTIFICATE,
    PREFLIGHT_READS,
    SIMULATED_ROLES,
    VERIFY_READS,
    VerifyRead,
    preflight_actions,
    verify_actions,
)
from tests.helpers import PARTITION, account_of, iam_arn, inline_policy
from verify.checks.data import PARAMETER_GROUPS
from verify.iam_eval import allowed, as_list

ROOT = Path(__file__).resolve().parent.parent
CHECKS = ROOT / "verify" / "checks"
PREFLIGHT = ROOT / "verify" / "preflight.py"
#: Calls whose operation is a variable, resolved here: the parameter groups'
#: Describe calls come from a table (verify/checks/data.py).
RESOLVED = {("data.py", "rds"): [operation for operation, _ in PARAMETER_GROUPS.values()]}
#: Made with the plan role's credentials (D61); the deploy workflow runs
#: ``--skip plan-reads``.
PLAN_ROLE_MODULES = ("plan_reads.py",)


def _client_service(node: ast.AST) -> str | None:
    """The service of ``ctx.client("<service>", ...)``, else None."""
    if (
        isinstance(node, ast.Call)
        and isinstance(node.func, ast.Attribute)
        and node.func.attr == "client"
        and node.args
        and isinstance(node.args[0], ast.Constant)
    ):
        return node.args[0].value
    return None


def scanned_calls(path: Path) -> tuple[set[tuple[str, str]], list[str]]:
    """(client, snake_case operation) of every ``ctx.call``/``ctx.paginate``
    in ``path``, and of every method called on a name bound to
    ``ctx.client("<service>")`` in the same function; and the calls the
    scan cannot name (``file:line``): a variable service or operation, or a
    client not bound to a name."""
    found: set[tuple[str, str]] = set()
    unknown: list[str] = []
    tree = ast.parse(path.read_text())
    bound: set[int] = set()
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef)):
            continue
        clients: dict[str, str] = {}
        for node in ast.walk(function):
            if isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
                targets = node.targets if isinstance(node, ast.Assign) else [node.target]
                service = _client_service(node.value)
                if service and len(targets) == 1 and isinstance(targets[0], ast.Name):
                    clients[targets[0].id] = service
                    bound.add(id(node.value))
        for node in ast.walk(function):
            if (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name)
                and node.func.value.id in clients
            ):
                found.add((clients[node.func.value.id], node.func.attr))
    for node in ast.walk(tree):
        if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
            continue
        if node.func.attr == "client" and id(node) not in bound:
            unknown.append(f"{path.name}:{node.lineno}")
            continue
        if not (node.func.attr in ("call", "paginate") and len(node.args) >= 2):
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


def assert_the_calls_are_the_list(found, reads: tuple[VerifyRead, ...], name: str) -> None:
    session = botocore.session.get_session()
    declared = {(r.client, xform_name(r.operation)) for r in reads}
    for client, operation in sorted(found):
        names = {xform_name(o) for o in session.get_service_model(client).operation_names}
        assert operation in names, f"{client}.{operation} is not a botocore operation"
    missing = sorted(found - declared)
    assert not missing, (
        f"{missing} are called, not in {name} (config/pipeline_contract.py): "
        "add each with its IAM action"
    )
    unused = sorted(declared - found)
    assert not unused, f"{name} lists {unused}, which nothing calls"


def test_every_call_the_checks_make_is_a_verify_read():
    found, unknown = verify_calls()
    assert not unknown, f"the scan cannot name the call at {unknown}: resolve it in RESOLVED"
    assert_the_calls_are_the_list(found, VERIFY_READS, "VERIFY_READS")


def test_every_call_preflight_makes_is_a_preflight_read():
    """verify/preflight.py: its ``ctx.call``/``ctx.paginate`` and the
    clients it uses directly (S3 GetObject, Security Hub DescribeHub, ACM
    DescribeCertificate: each reads an error code ``ctx.call`` would hide)."""
    found, unknown = scanned_calls(PREFLIGHT)
    assert not unknown, f"the scan cannot name the call at {unknown}"
    assert_the_calls_are_the_list(found, PREFLIGHT_READS, "PREFLIGHT_READS")


@pytest.mark.parametrize("reads", [VERIFY_READS, PREFLIGHT_READS], ids=["verify", "preflight"])
def test_every_read_is_a_read_of_its_service(reads):
    """Each row names a real operation of its client, and its action is a
    read of that service (IAM prefix = client name, Access Analyzer's with
    its hyphen), never a write."""
    session = botocore.session.get_session()
    for read in reads:
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


def test_a_direct_client_call_is_found_and_an_unbound_client_is_not_named(tmp_path):
    """The scan's failing case for preflight's direct clients: a method of a
    name bound to ``ctx.client`` is a call; a client used without a name is
    a call the scan cannot name."""
    source = tmp_path / "extra.py"
    source.write_text(
        "def check(ctx):\n"
        '    acm: Any = ctx.client("acm")\n'
        "    acm.list_certificates()\n"
        '    return ctx.client("kms").list_keys()\n'
    )
    found, unknown = scanned_calls(source)
    assert found == {("acm", "list_certificates")}
    assert unknown == ["extra.py:4"]
    assert not set(found) <= {(r.client, xform_name(r.operation)) for r in PREFLIGHT_READS}


def deploy_role_preflight_actions(scope: str) -> tuple[str, ...]:
    return preflight_actions(scope, deploy_role=True)


#: scope -> actions of the reads the deploy role makes, per command.
READS = {"verify": verify_actions, "preflight": deploy_role_preflight_actions}


def requests(env, statements: list[dict], stacks, actions=verify_actions) -> list[tuple[str, str]]:
    """(action, resource) of every call of ``actions`` (one scope -> its
    actions) the deploy role makes in ``env``. Resource ``*`` reads are
    asked for every resource any statement of the policy names, so a Deny
    narrowed to one resource (the security alerts, the people's buckets)
    would show."""
    named = {"*"} | {r for s in statements for r in as_list(s.get("Resource", "*"))}
    roles = {
        r["name"]
        for name, stack in stacks.items()
        if name.startswith(f"{env.prefix}-")
        for r in stack.resources("aws_iam_role").values()
    } | {env.deploy_role}
    certificate = env.load_balancer.certificate_arn
    scoped = {
        ANY_RESOURCE: sorted(named),
        SIMULATED_ROLES: sorted(iam_arn(env, "role", name) for name in roles),
        ACCESS_LOG_BUCKET: (
            [f"arn:{PARTITION}:s3:::{alb_access_log_bucket_name(env, account_of(env))}"]
            if env.load_balancer.access_logs
            else []
        ),
        CERTIFICATE: [certificate] if certificate else [],
    }
    return [(a, r) for scope, rs in scoped.items() for a in actions(scope) for r in rs]


def refused(
    env, statements: list[dict], stacks, actions=verify_actions
) -> list[tuple[str, str, str]]:
    """The requests the policy refuses, in the environment's regions and one other."""
    regions = {env.region, env.backend_region, env.backup.copy_region or env.region}
    return [
        (action, resource, region)
        for action, resource in requests(env, statements, stacks, actions)
        for region in sorted(regions | {"eu-north-1"})
        if not allowed(statements, action, resource, **{"aws:RequestedRegion": region})
    ]


@pytest.mark.parametrize("command", sorted(READS))
def test_the_deploy_role_allows_every_read_it_makes(stacks, environments, env_name, command):
    env = environments[env_name]
    statements = inline_policy(stacks[f"{env.prefix}-bootstrap"], "deploy")
    assert requests(env, statements, stacks, READS[command])
    gaps = sorted({action for action, _, _ in refused(env, statements, stacks, READS[command])})
    assert not gaps, (
        f"{env.deploy_role} may not make these reads of make {command}: {gaps} "
        "(modules/pipeline_roles.py verify_statements, preflight_statements)"
    )


@pytest.mark.parametrize("command", sorted(READS))
def test_the_example_tiers_deploy_roles_allow_every_read_they_make(
    example_stacks, example_environments, command
):
    tiers = {env.is_production for env in example_environments.values()}
    assert tiers == {True, False}
    if command == "preflight":  # the certificate's scope is exercised
        assert any(e.load_balancer.certificate_arn for e in example_environments.values())
    for env in example_environments.values():
        statements = inline_policy(example_stacks[f"{env.prefix}-bootstrap"], "deploy")
        gaps = refused(env, statements, example_stacks, READS[command])
        assert not sorted({action for action, _, _ in gaps}), f"{env.name}: {gaps}"


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


@pytest.mark.parametrize("sid", ["PreflightReads", "PreflightReadsTheCertificate"])
def test_a_deploy_policy_missing_a_preflight_statement_is_found(
    example_stacks, example_environments, sid
):
    """The failing case: without the statement (as before this change, when
    the engine-version and Elastic IP reads rode on the regional manage
    grant), its reads are refused (outside the environment's regions at
    least); the certificate is granted nowhere else."""
    env = next(e for e in example_environments.values() if e.load_balancer.certificate_arn)
    statements = inline_policy(example_stacks[f"{env.prefix}-bootstrap"], "deploy")
    [removed] = [s for s in statements if s["Sid"] == sid]
    without = [s for s in statements if s["Sid"] != sid]
    gaps = {a for a, _, _ in refused(env, without, example_stacks, READS["preflight"])}
    assert gaps == set(as_list(removed["Action"]))


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


#: How docs/cli.md "Preflight" marks a read the deploy role's run never makes.
PERSON_ONLY = "(a person's run only)"


def test_docs_list_exactly_the_preflight_reads_and_whose_they_are():
    text = (ROOT / "docs" / "cli.md").read_text()
    section = text.split("\n## Preflight", 1)[1].split("\n## ", 1)[0]
    bullets = re.findall(r"^- `([a-z0-9-]+:[A-Za-z0-9]+)`(.*)$", section, re.MULTILINE)
    documented = {action: PERSON_ONLY not in rest for action, rest in bullets}
    assert len(documented) == len(bullets), "docs/cli.md 'Preflight' lists an action twice"
    expected = {r.action: r.deploy_role for r in PREFLIGHT_READS}
    assert documented == expected, (
        "docs/cli.md 'Preflight' must list each PREFLIGHT_READS action once, "
        f"{PERSON_ONLY!r} after those the deploy role's run never makes"
    )
